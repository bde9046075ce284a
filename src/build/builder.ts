/**
 * `ensureImage`: the build step of reconcile. Desired state: the registry serves
 * `<registry>/<repo>:<content tag>`. The tag is computed from the context (context.ts), so
 * "already built" is a lookup, not a guess:
 *   - engine has the image AND registry serves it → nothing to do (build and load skipped);
 *   - engine has it, registry does not            → push only;
 *   - engine lacks it                             → build, then push unless served.
 * The registry is asked as soon as the tag is known, while the engine builds (the answer
 * is waited for only when the push step needs it). After a push the registry is asked
 * again: a push the registry does not serve is a failure.
 *
 * Images carry devenv's labels (managed-by, project, service), added as one cached LABEL
 * line after the built stage's FROM where possible (dockerfile.ts explains why). After a
 * build and its push, the service's older images in the local engine are collected
 * (image-gc.ts: the newest KEEP_IMAGES stay; never the image just built) in the
 * background (`collected`); collection is best effort and never fails the build.
 *
 * Reports `build:<service>` and `load:<service>` step events (with timings) through the
 * sink; every build-output line goes out as a `progress` event of `build:<service>`.
 */
import { readFile } from 'node:fs/promises';
import type { ServiceConfig } from '../config/schema.ts';
import {
  buildImage,
  imageExists,
  listLabelledImageRefs,
  pushImage,
  removeImageRefs,
  splitRef,
} from '../docker/images.ts';
import { DevenvError } from '../errors.ts';
import { type EventSink, skipped, step } from '../events.ts';
import { projectLabels } from '../labels.ts';
import { type BuildContext, contextTar, type HashCache, scanContext } from './context.ts';
import { insertAfterBuiltFrom, labelInstruction } from './dockerfile.ts';
import { imagesToRemove, inRepository, KEEP_IMAGES } from './image-gc.ts';
import { registryHasManifest } from './registry.ts';

export const DEFAULT_REGISTRY = 'localhost:5001';
export const SERVICE_LABEL = 'dev.devenv/service';

export interface EnsureImageOptions {
  project: string;
  /** Project root (directory of devenv.yaml): service paths are relative to it. */
  root: string;
  /** host:port of the plain-HTTP registry the cluster pulls from. Default localhost:5001. */
  registry?: string;
  onEvent?: EventSink;
  /**
   * Settles when the registry can take pushes (up: once the cluster step has created or
   * started it). The build runs meanwhile; the registry is asked and pushed to only after.
   * A rejection fails the push step with that error.
   */
  registryReady?: Promise<unknown>;
  /**
   * Collect the service's old images only once it has been quiet for COLLECT_QUIET_MS (the
   * reload loop): run right after a push, the collection's image removals competed with
   * the rollout and the next edit's build (measured on k3d: build p50 0.59 s with it, 0.36 s
   * without). A later build of the service resets the wait; a process that exits first
   * leaves the images to the next collection, which removes every one beyond the newest 3.
   */
  deferCollection?: boolean;
  /** Digest cache; default: the process-wide one. */
  cache?: HashCache;
}

export interface EnsureImageResult {
  /** `<registry>/<repo>:<tag>`: what the manifests should reference. */
  ref: string;
  repo: string;
  tag: string;
  /** True when an image was built now; false when the content tag already existed. */
  built: boolean;
  /** True when the image was pushed now. */
  pushed: boolean;
  /** Wall times of the two steps (scan + build; registry check + push + verify). */
  buildMs: number;
  loadMs: number;
  /**
   * The collection of the service's old images, started after the push and left running
   * (it is off the reload's path); settles when done and never rejects.
   */
  collected: Promise<void>;
}

/** The image repository of a service: `service.image`, or `<project>/<service name>`. */
export function serviceRepository(service: Pick<ServiceConfig, 'name' | 'image'>, project: string): string {
  return service.image ?? `${project}/${service.name}`;
}

export async function ensureImage(
  service: ServiceConfig,
  opts: EnsureImageOptions,
): Promise<EnsureImageResult> {
  const sink: EventSink = opts.onEvent ?? (() => {});
  const registry = opts.registry ?? DEFAULT_REGISTRY;
  const repo = serviceRepository(service, opts.project);
  const t0 = performance.now();
  // A deferred collection of this service waits again: never during its build.
  if (opts.deferCollection) quietCollections.get(`${opts.project}/${service.name}`)?.timer.refresh();
  const { ref, tag, built, served } = await buildStep(service, opts, sink, registry, repo);
  const t1 = performance.now();
  const pushed = await pushStep(sink, service.name, { ref, tag, registry, repo, served });
  const t2 = performance.now();
  // Not waited for: the rollout that follows needs nothing from it (run during the push, it
  // slowed the push by ~50 ms).
  const collected = !built
    ? Promise.resolve()
    : opts.deferCollection
      ? collectWhenQuiet(opts.project, service.name, ref)
      : collectOldImages(opts.project, service.name, ref);
  return {
    ref,
    repo,
    tag,
    built,
    pushed,
    buildMs: Math.round(t1 - t0),
    loadMs: Math.round(t2 - t1),
    collected,
  };
}

/** "Does the registry serve the tag?": an answer or the error that prevented one. */
type Served = { ok: boolean } | { err: unknown };

/** What the build step found and did. */
interface BuildOutcome {
  ref: string;
  tag: string;
  built: boolean;
  /** Asked as soon as the tag is known (during the build). */
  served?: Promise<Served>;
}

/** Step `build:<service>`: the context's content tag, the registry asked in the background, and a build unless the engine has the tag. */
async function buildStep(
  service: ServiceConfig,
  opts: EnsureImageOptions,
  sink: EventSink,
  registry: string,
  repo: string,
): Promise<BuildOutcome> {
  const out: BuildOutcome = { ref: '', tag: '', built: false };
  await step(sink, `build:${service.name}`, `build ${service.name}`, async () => {
    const c = await scanContext(service, opts.root, opts.cache ? { cache: opts.cache } : {});
    out.tag = c.tag;
    out.ref = `${registry}/${repo}:${c.tag}`;
    out.served = Promise.resolve(opts.registryReady)
      .then(() => registryHasManifest(registry, repo, c.tag))
      .then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      );
    if (await imageExists(out.ref)) return skipped(undefined, `${out.ref} already built (same content)`);
    await buildLabelled(c, out.ref, service.name, opts.project, sink);
    out.built = true;
    return undefined;
  });
  return out;
}

/** Builds context `c` as `ref` with devenv's labels, each output line a progress event of `build:<service>`. */
async function buildLabelled(
  c: BuildContext,
  ref: string,
  service: string,
  project: string,
  sink: EventSink,
): Promise<void> {
  const labels = projectLabels(project, { [SERVICE_LABEL]: service });
  // Labels go in as one cached LABEL line after the built stage's FROM (dockerfile.ts);
  // where the Dockerfile cannot take it, through the API (one uncached step per label).
  const dfEntry = c.outsideDockerfile ?? c.entries.find((e) => e.rel === c.dockerfile);
  const text = dfEntry?.type === 'file' ? await readFile(c.dockerfileAbs, 'utf8').catch(() => '') : '';
  const inline = insertAfterBuiltFrom(text, labelInstruction(labels), c.target) !== undefined;
  await buildImage({
    // A factory: a build the engine refuses with BuildKit is sent again, to the classic builder.
    contextTar: () =>
      contextTar(
        c,
        inline
          ? { transformDockerfile: (t) => insertAfterBuiltFrom(t, labelInstruction(labels), c.target) ?? t }
          : {},
      ),
    dockerfile: c.dockerfile,
    tags: [ref],
    buildArgs: c.buildArgs,
    ...(c.target !== undefined ? { target: c.target } : {}),
    ...(inline ? {} : { labels }),
    onLine: (line) => sink({ type: 'step', id: `build:${service}`, phase: 'progress', detail: line }),
  });
}

/** Step `load:<service>`: pushes `ref` unless the registry serves it, then checks it does; true when pushed. */
async function pushStep(
  sink: EventSink,
  service: string,
  p: { ref: string; tag: string; registry: string; repo: string; served: Promise<Served> | undefined },
): Promise<boolean> {
  const { ref, tag, registry, repo } = p;
  let pushed = false;
  await step(sink, `load:${service}`, `push ${ref}`, async () => {
    const before = (await p.served) ?? { ok: await registryHasManifest(registry, repo, tag) };
    if ('err' in before) throw before.err;
    if (before.ok) return skipped(undefined, `${ref} already in the registry`);
    await pushImage(ref);
    if (!(await registryHasManifest(registry, repo, tag))) {
      throw new DevenvError(`pushed ${ref}, but registry ${registry} does not serve it`);
    }
    pushed = true;
    return undefined;
  });
  return pushed;
}

/** How long a service must go without a build before its deferred collection runs. */
export const COLLECT_QUIET_MS = 5000;
/** Deferred collections waiting for quiet, by project/service; a new one supersedes. */
const quietCollections = new Map<string, { timer: NodeJS.Timeout; done: () => void }>();

/**
 * Runs collectOldImages once the service has had no build for COLLECT_QUIET_MS. The timer
 * does not keep the process alive. Settles when it ran, or when a later build superseded it.
 */
function collectWhenQuiet(project: string, service: string, justBuilt: string): Promise<void> {
  const key = `${project}/${service}`;
  quietCollections.get(key)?.done();
  return new Promise<void>((resolve) => {
    const entry = {
      timer: setTimeout(() => {
        quietCollections.delete(key);
        void collectOldImages(project, service, justBuilt).then(resolve);
      }, COLLECT_QUIET_MS),
      done: () => {
        clearTimeout(entry.timer);
        quietCollections.delete(key);
        resolve();
      },
    };
    entry.timer.unref();
    quietCollections.set(key, entry);
  });
}

/**
 * Removes the service's images beyond the newest KEEP_IMAGES from `justBuilt`'s repository
 * (devenv-labelled for this project and service only; never `justBuilt`). Best effort: an
 * image a container uses stays, and an engine error leaves the images for the next build.
 */
async function collectOldImages(project: string, service: string, justBuilt: string): Promise<void> {
  try {
    const images = await listLabelledImageRefs(
      projectLabels(project, { [SERVICE_LABEL]: service }),
      splitRef(justBuilt).repo,
    );
    await removeImageRefs(imagesToRemove(images, KEEP_IMAGES, new Set([justBuilt])));
  } catch {
    // Nothing to report: the images stay until a later build collects them.
  }
}

/**
 * `destroy`: removes every image devenv built for the project (by labels), each by its tags
 * in the service's own repository only (a user's tag elsewhere keeps the image). Never
 * forced: an image a container uses is kept, with the engine's reason.
 */
export async function removeBuiltImages(
  project: string,
  services: ReadonlyArray<Pick<ServiceConfig, 'name' | 'image'>>,
): Promise<{ removed: string[]; kept: Array<{ ref: string; why: string }> }> {
  const images = await listLabelledImageRefs(projectLabels(project));
  const own = images.filter((i) => {
    const name = i.labels[SERVICE_LABEL];
    if (name === undefined) return false;
    const svc = services.find((s) => s.name === name) ?? { name };
    return inRepository(i.ref, serviceRepository(svc, project));
  });
  return removeImageRefs(own.map((i) => i.ref));
}

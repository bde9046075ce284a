/**
 * Images through the Docker engine API: build from a context tar, exists, tag, push,
 * list by labels, remove.
 * Part of the Docker adapter (the only module family that imports dockerode); callers
 * pass plain data and streams and get plain data back.
 *
 * Builds use the engine's BuildKit where it has one (Docker >= 18.09 on Linux; what
 * `docker build` itself uses since Docker 23), through the same /build endpoint with the
 * context tar as the request body (`version=2`; dockerode opens the session BuildKit asks
 * registry credentials through). BuildKit runs metadata-only instructions (ENV, EXPOSE,
 * USER, CMD, LABEL...) without a container, where the classic builder creates and commits
 * one container per instruction after the first changed layer: on the pyapp fixture an
 * edit took ~1.1 s classic, ~0.45 s BuildKit. The classic builder remains: engines that
 * report no BuildKit (Podman's Docker API, Windows, API < 1.39), DEVENV_BUILDER=classic,
 * and an engine that refuses the BuildKit request (then the build is retried classic, and
 * once that works, classic is kept for the process).
 *
 * Output arrives as JSON lines (BuildKit's progress as base64 protobuf inside them, decoded
 * by buildkit-progress.ts into `docker build --progress=plain`-like lines: `#3 [2/5] COPY
 * ...`, `#4 <output of RUN>`, `#4 DONE 0.3s`); each human line is forwarded to `onLine`, and a failed build
 * throws a DevenvError whose `details` are the last lines of the build output (the
 * compiler error is in there).
 */
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { DevenvError } from '../errors.ts';
import { labelPairs } from '../labels.ts';
import type { BuildkitProgress } from './buildkit-progress.ts';
import { docker } from './engine.ts';

/** How many trailing build-output lines a failure carries. */
const FAIL_LINES = 40;

/** The id of the /build messages that carry BuildKit's progress (see buildkit-progress.ts). */
const BUILDKIT_TRACE = 'moby.buildkit.trace';

interface JsonMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  /** An object (image id, push digest), or BuildKit's base64 progress (id moby.buildkit.trace). */
  aux?: { ID?: string; Tag?: string; Digest?: string } | string;
}

export type BuilderBackend = 'buildkit' | 'classic';

export interface BuildImageOptions {
  /**
   * The context as a tar stream. A factory (preferred) lets a build the engine refused
   * with BuildKit be sent again to the classic builder.
   */
  contextTar: Readable | (() => Readable);
  /** The Dockerfile's path inside the context tar. */
  dockerfile: string;
  /** Full refs (`repo:tag`) the image gets. */
  tags: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  /** Each line of build output, as it arrives. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Default: defaultBuilder() (BuildKit where the engine has it). */
  builder?: BuilderBackend;
}

export interface BuildImageResult {
  /** `sha256:…` image id. */
  imageId: string;
  lines: string[];
  /** The builder that built it. */
  builder: BuilderBackend;
}

let chosenBuilder: Promise<BuilderBackend> | undefined;

/**
 * The builder devenv uses on this engine: DEVENV_BUILDER (`buildkit` | `classic`) when set,
 * else BuildKit when the engine is Docker on Linux with API >= 1.39, else classic. Asked
 * once per process.
 */
export function defaultBuilder(): Promise<BuilderBackend> {
  chosenBuilder ??= (async (): Promise<BuilderBackend> => {
    const forced = process.env.DEVENV_BUILDER;
    if (forced === 'buildkit' || forced === 'classic') return forced;
    try {
      const v = await (await docker()).version();
      const podman = (v.Components ?? []).some((c) => /podman/i.test(String(c.Name)));
      const [major = 0, minor = 0] = String(v.ApiVersion).split('.').map(Number);
      const recent = major > 1 || (major === 1 && minor >= 39);
      return v.Os === 'linux' && recent && !podman ? 'buildkit' : 'classic';
    } catch {
      return 'classic';
    }
  })();
  return chosenBuilder;
}

export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const builder = opts.builder ?? (await defaultBuilder());
  const first = await buildWith(builder, opts);
  if (!('refused' in first)) return first;
  // The engine would not start a BuildKit build (no session support, no BuildKit): the
  // same build through the classic builder, which every engine has.
  if (typeof opts.contextTar !== 'function') throw first.refused;
  opts.onLine?.(`BuildKit not available on this engine (${first.reason}); using the classic builder`);
  const second = await buildWith('classic', opts);
  if ('refused' in second) throw second.refused;
  if (opts.builder === undefined) chosenBuilder = Promise.resolve('classic');
  return second;
}

async function buildWith(
  builder: BuilderBackend,
  opts: BuildImageOptions,
): Promise<BuildImageResult | { refused: DevenvError; reason: string }> {
  const d = await docker();
  // Only a BuildKit build sends progress as protobuf: its decoder (and protobufjs) is loaded
  // for it alone, and before the request (nothing is awaited once the streams are open).
  const progress =
    builder === 'buildkit' ? new (await import('./buildkit-progress.ts')).BuildkitProgress() : undefined;
  const contextTar = typeof opts.contextTar === 'function' ? opts.contextTar() : opts.contextTar;
  const run: BuildRun = {
    lines: [],
    imageId: '',
    failure: undefined,
    tarError: undefined,
    onLine: opts.onLine,
  };
  // A tar stream that fails (e.g. the context changed mid-send) must fail the build.
  contextTar.once('error', (err: Error) => {
    run.tarError = err;
  });
  const started = await startBuild(d, builder, opts, contextTar, run);
  if ('refused' in started) return started;
  await followBuild(d, started.out, run, progress);
  return finishBuild(run, opts.tags, builder);
}

/** One build's state as its output arrives: the last lines, the image id, the failure, the context tar's error. */
interface BuildRun {
  lines: string[];
  imageId: string;
  failure: string | undefined;
  tarError: Error | undefined;
  onLine: ((line: string) => void) | undefined;
}

/** Each non-blank line of `text`: kept (the last 2000) and handed to onLine. */
function emit(run: BuildRun, text: string): void {
  for (const l of text.split('\n')) {
    const line = l.replace(/\r$/, '');
    if (line.trim() === '') continue;
    run.lines.push(line);
    if (run.lines.length > 2000) run.lines.splice(0, run.lines.length - 2000);
    run.onLine?.(line);
  }
}

/** Sends the build request: its output stream, a BuildKit request the engine refused (to retry classic), or throws. */
async function startBuild(
  d: Dockerode,
  builder: BuilderBackend,
  opts: BuildImageOptions,
  contextTar: Readable,
  run: BuildRun,
): Promise<{ out: NodeJS.ReadableStream } | { refused: DevenvError; reason: string }> {
  try {
    const options: Dockerode.ImageBuildOptions = {
      t: opts.tags[0],
      dockerfile: opts.dockerfile,
      buildargs: opts.buildArgs ?? {},
      labels: opts.labels ?? {},
      rm: true,
      forcerm: true,
      pull: false,
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
      ...(builder === 'buildkit' ? { version: '2' as const } : {}),
    };
    return { out: await d.buildImage(contextTar, options) };
  } catch (err) {
    const error = new DevenvError(`docker build failed: ${run.tarError?.message ?? messageOf(err)}`, {
      cause: run.tarError ?? err,
      details: run.lines.slice(-FAIL_LINES),
    });
    if (builder === 'buildkit' && !run.tarError && !opts.signal?.aborted) {
      contextTar.destroy(); // the retry sends a fresh stream
      return { refused: error, reason: messageOf(err) };
    }
    throw error;
  }
}

/** Reads the build's messages to the end: lines emitted (BuildKit's decoded), the image id and the failure recorded. */
async function followBuild(
  d: Dockerode,
  out: NodeJS.ReadableStream,
  run: BuildRun,
  progress: BuildkitProgress | undefined,
): Promise<void> {
  try {
    await follow(d, out, (m) => {
      if (m.id === BUILDKIT_TRACE && typeof m.aux === 'string') {
        for (const line of progress?.push(m.aux) ?? []) emit(run, line);
        return;
      }
      if (m.stream) emit(run, m.stream);
      if (m.status) emit(run, m.progress ? `${m.status} ${m.progress}` : m.status);
      if (typeof m.aux === 'object' && m.aux.ID) run.imageId = m.aux.ID;
      if (m.error) {
        run.failure = m.errorDetail?.message ?? m.error;
        // BuildKit already printed it as the failed step's `#N ERROR: …` line: not twice.
        const last = lastLine(run.failure);
        if (!run.lines.slice(-FAIL_LINES).some((l) => l.endsWith(last))) emit(run, run.failure);
      }
    });
  } catch (err) {
    run.failure ??= messageOf(err);
  }
  for (const line of progress?.flush() ?? []) emit(run, line);
}

/** The build's result: throws its failure (with the last lines), else finds the image id and adds the further tags. */
async function finishBuild(
  run: BuildRun,
  tags: string[],
  builder: BuilderBackend,
): Promise<BuildImageResult> {
  if (run.tarError) run.failure = run.tarError.message;
  if (run.failure !== undefined) {
    throw new DevenvError(`docker build failed: ${lastLine(run.failure)}`, {
      cause: run.tarError,
      details: run.lines.slice(-FAIL_LINES),
    });
  }
  const first = tags[0];
  if (!run.imageId && first) run.imageId = (await imageId_(first)) ?? '';
  // The API takes one `t` here (typed as such); further refs are plain tags of the result.
  for (const extra of tags.slice(1)) await tagImage(run.imageId || (first as string), extra);
  return { imageId: run.imageId, lines: run.lines, builder };
}

async function imageId_(ref: string): Promise<string | undefined> {
  const d = await docker();
  try {
    const info = await d.getImage(ref).inspect();
    return String(info.Id);
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  createdAt: string;
}

/** The engine's facts about `ref`, or undefined when it has no such image. */
export async function inspectImage(ref: string): Promise<ImageInfo | undefined> {
  const d = await docker();
  try {
    const info = await d.getImage(ref).inspect();
    return {
      id: String(info.Id),
      labels: { ...(info.Config?.Labels ?? {}) },
      createdAt: String(info.Created),
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** True when the engine has an image for `ref` (name:tag or id). */
export async function imageExists(ref: string): Promise<boolean> {
  return (await imageId_(ref)) !== undefined;
}

/** The image id for `ref`, or undefined when the engine has none. */
export async function imageId(ref: string): Promise<string | undefined> {
  return imageId_(ref);
}

/** Gives the image `source` the additional ref `target` (`repo:tag`). */
export async function tagImage(source: string, target: string): Promise<void> {
  const d = await docker();
  const { repo, tag } = splitRef(target);
  await d.getImage(source).tag({ repo, tag });
}

export interface PushProgress {
  id?: string;
  status: string;
  progress?: string;
}

/**
 * Pushes `ref` (`registry/repo:tag`). Meant for devenv's local plain-HTTP registry: the
 * engine treats 127.0.0.0/8 registries as insecure by default and the registry needs no
 * credentials, so an empty auth header is sent (the API requires the header on push).
 */
export async function pushImage(ref: string, onProgress?: (p: PushProgress) => void): Promise<void> {
  const d = await docker();
  const { repo, tag } = splitRef(ref);
  const lines: string[] = [];
  let failure: string | undefined;
  let stream: NodeJS.ReadableStream;
  try {
    const registry = repo.includes('/') ? (repo.split('/')[0] as string) : '';
    stream = await d.getImage(repo).push({ tag, authconfig: { serveraddress: registry } });
  } catch (err) {
    throw new DevenvError(`docker push ${ref} failed: ${messageOf(err)}`, { cause: err });
  }
  try {
    await follow(d, stream, (m) => {
      if (m.status) {
        lines.push(m.id ? `${m.id}: ${m.status}` : m.status);
        onProgress?.({
          status: m.status,
          ...(m.id ? { id: m.id } : {}),
          ...(m.progress ? { progress: m.progress } : {}),
        });
      }
      if (m.error) failure = m.errorDetail?.message ?? m.error;
    });
  } catch (err) {
    failure ??= messageOf(err);
  }
  if (failure !== undefined) {
    throw new DevenvError(`docker push ${ref} failed: ${failure}`, { details: lines.slice(-FAIL_LINES) });
  }
}

/** Splits `host:port/a/b:tag` into repo and tag (tag defaults to "latest"; digests kept whole). */
export function splitRef(ref: string): { repo: string; tag: string } {
  if (ref.includes('@')) {
    const at = ref.indexOf('@');
    return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  }
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

function follow(d: Dockerode, stream: NodeJS.ReadableStream, onMessage: (m: JsonMessage) => void) {
  return new Promise<void>((resolve, reject) => {
    d.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (m: JsonMessage) => onMessage(m),
    );
  });
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function messageOf(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e?.json?.message ?? e?.message ?? String(err);
}

function lastLine(s: string): string {
  const ls = s.trim().split('\n');
  return ls[ls.length - 1] ?? s;
}

/** Removes the image ref `ref` (the image itself once no ref is left); false when absent. */
export async function removeImage(ref: string, opts: { force?: boolean } = {}): Promise<boolean> {
  const d = await docker();
  try {
    await d.getImage(ref).remove({ force: opts.force ?? false });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

export interface LabelledImageRef {
  /** `repository:tag`. */
  ref: string;
  /** The image's creation time, ms since the epoch. */
  created: number;
  labels: Record<string, string>;
}

/**
 * The tags of the images that carry every one of `labels` (devenv's: managed-by, project,
 * service), optionally only those in `repository`. With a repository, creation times come
 * from inspecting each image (the list API gives whole seconds, too coarse to order builds
 * seconds apart); dangling (untagged) images are not listed.
 */
export async function listLabelledImageRefs(
  labels: Record<string, string>,
  repository?: string,
): Promise<LabelledImageRef[]> {
  const d = await docker();
  const list = await d.listImages({ filters: JSON.stringify({ label: labelPairs(labels) }) });
  const out: LabelledImageRef[] = [];
  for (const img of list) {
    const tags = (img.RepoTags ?? []).filter(
      (t) => t !== '<none>:<none>' && (repository === undefined || splitRef(t).repo === repository),
    );
    if (tags.length === 0) continue;
    let created = img.Created * 1000;
    if (repository !== undefined) {
      const info = await d
        .getImage(img.Id)
        .inspect()
        .catch(() => undefined);
      created = (info && Date.parse(String(info.Created))) || created;
    }
    for (const ref of tags) out.push({ ref, created, labels: { ...(img.Labels ?? {}) } });
  }
  return out;
}

/**
 * Removes each ref (untags it; the image goes with its last tag), never forcing: a ref whose
 * image a container still uses is kept and reported with the engine's reason.
 */
export async function removeImageRefs(
  refs: readonly string[],
): Promise<{ removed: string[]; kept: Array<{ ref: string; why: string }> }> {
  const removed: string[] = [];
  const kept: Array<{ ref: string; why: string }> = [];
  for (const ref of refs) {
    try {
      if (await removeImage(ref)) removed.push(ref);
    } catch (err) {
      kept.push({ ref, why: messageOf(err) });
    }
  }
  return { removed, kept };
}

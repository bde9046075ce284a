/**
 * Pre-flight: before `up` creates anything (network, cluster, containers, volumes), every
 * image the run needs is present in the Docker engine or pullable, and every tool it runs
 * is installed in a supported version. A missing one is ONE clear error naming it, where
 * it is set (`file:line:col`) and how to override it; nothing is created.
 *
 * Two halves:
 *  - planning (pure): config + file texts in, the list of images (with their source
 *    position and override) out: data services (through the same data plan `up` runs),
 *    the k3s node image and k3d's helper images when the cluster is to be created, the
 *    base images of the services' Dockerfiles;
 *  - checking (I/O): the k3d binary and its version, then each image: present locally
 *    (no network at all, so an offline machine with everything present passes) or else a
 *    registry manifest request through the engine (no pull).
 * `doctor` runs the same check and reports it as one check.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { displayPath, type LoadedConfig } from '../config/load.ts';
import { badInput, type DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import {
  baseImages,
  clusterImages,
  dataImages,
  type ImageNeed,
  problemLine,
  uniqueImages,
} from './preflight-images.ts';

// ------------------------------------------------------------------ checking (I/O)

export interface PreflightInput {
  loaded: LoadedConfig;
  /** The k3d config file (absolute) when the target is devenv's own k3d cluster. */
  k3dConfigFile?: string;
  /** `up --switch-object-store`: another engine's object store volumes do not stop the run. */
  switchObjectStore?: boolean;
  /**
   * `up`: with no k3d installed, fetch devenv's pinned k3d now (cluster/k3d-binary.ts
   * ensureK3d: verified, cached); a failed fetch is a tool problem. Doctor never fetches.
   */
  fetchTools?: boolean;
  onEvent?: EventSink;
}

export interface PreflightResult {
  images: Array<ImageNeed & { state: 'present' | 'pullable' }>;
  k3d?: string;
  /** Missing or too old tools (doctor reports these in its own k3d check). */
  toolProblems: string[];
  /** Images neither present nor pullable. */
  imageProblems: string[];
  /** Other problems found before anything is created (an object store engine switch). */
  dataProblems: string[];
}

/** Runs every check and returns what it found (doctor); `preflight` throws on a problem. */
export async function checkPreflight(input: PreflightInput): Promise<PreflightResult> {
  const { config, file, root } = input.loaded;
  const configFile = displayPath(file);
  const configText = readText(file);
  const toolProblems: string[] = [];
  const dataProblems: string[] = [];
  const needs: ImageNeed[] = [];
  // Tools first: without k3d nothing of the cluster can be planned (its helper images' tags).
  const k3d = input.k3dConfigFile
    ? await k3dNeeds(input, input.k3dConfigFile, needs, toolProblems)
    : undefined;
  if (config.database || config.objectStore) {
    await dataNeeds(input, configFile, configText, needs, dataProblems);
  }
  for (const [index, svc] of config.services.entries()) {
    const ctx = resolve(root, svc.context);
    const df = resolve(ctx, svc.dockerfile);
    let text: string;
    try {
      text = readFileSync(df, 'utf8');
    } catch {
      continue; // the build step reports a missing Dockerfile with its own message
    }
    const target = svc.target ? { target: svc.target } : {};
    const dockerfile = { service: svc.name, index, file: displayPath(df), text, buildArgs: svc.buildArgs };
    needs.push(...baseImages({ ...dockerfile, ...target }, configFile, configText));
  }
  const { images, imageProblems } = await availability(needs);
  return { images, ...(k3d ? { k3d } : {}), toolProblems, imageProblems, dataProblems };
}

/**
 * The k3d binary (fetched first when `fetchTools`) and its version; when the cluster is still
 * to be created, the images `k3d cluster create` needs. Returns k3d's version, if any.
 */
async function k3dNeeds(
  input: PreflightInput,
  k3dConfigFile: string,
  needs: ImageNeed[],
  toolProblems: string[],
): Promise<string | undefined> {
  const k = await import('../cluster/k3d.ts');
  const kb = await import('../cluster/k3d-binary.ts');
  let k3d: string | undefined;
  try {
    if (input.fetchTools) await kb.ensureK3d(input.onEvent ? { onEvent: input.onEvent } : {});
    const choice = await kb.chooseK3d();
    // Doctor: the k3d `up` will fetch is planned with its pinned version.
    k3d = choice.source === 'fetch' ? choice.version : await k.k3dVersion();
  } catch (err) {
    toolProblems.push((err as Error).message);
  }
  if (!k3d) return undefined;
  const { clusterName } = await import('../cluster/k3dconfig.ts');
  const existing = await k.getCluster(clusterName(input.loaded.config.project)).catch(() => undefined);
  if (!existing) {
    needs.push(
      ...clusterImages({
        k3dFile: displayPath(k3dConfigFile),
        k3dText: readText(k3dConfigFile),
        k3dVersion: k3d,
        env: process.env,
      }),
    );
  }
  return k3d;
}

/** The data services' images (from the data plan `up` runs), and an object store engine switch. */
async function dataNeeds(
  input: PreflightInput,
  configFile: string,
  configText: string,
  needs: ImageNeed[],
  dataProblems: string[],
): Promise<void> {
  const { config, root } = input.loaded;
  const { planData } = await import('../data/plan.ts');
  const { generateCredentials } = await import('../data/credentials.ts');
  const { dataComposeSources } = await import('../data/resolve.ts');
  const { engineSwitchRefusal, otherEngineVolumes } = await import('../data/lifecycle.ts');
  const sources = dataComposeSources(config, root);
  // Images do not depend on credentials: throwaway ones, so nothing is written here.
  const plan = planData({ config, root, credentials: generateCredentials(), ...sources, env: process.env });
  const composeTexts: Record<string, string> = {};
  for (const s of [sources.database, sources.objectStore]) if (s) composeTexts[s.file] = s.text;
  needs.push(...dataImages({ config, configFile, configText, plan, composeTexts }));
  if (plan.objectStore && !input.switchObjectStore) {
    const left = await otherEngineVolumes(plan.objectStore);
    if (left.length > 0) dataProblems.push(engineSwitchRefusal(plan.objectStore, left).message);
  }
}

/** Each image once: present locally, else pullable (a manifest request), else a problem line. */
async function availability(
  needs: ImageNeed[],
): Promise<{ images: PreflightResult['images']; imageProblems: string[] }> {
  const { imageAvailability } = await import('../docker/pull.ts');
  const images: PreflightResult['images'] = [];
  const imageProblems: string[] = [];
  const unique = uniqueImages(needs);
  const results = await Promise.all(unique.map((n) => imageAvailability(n.ref)));
  unique.forEach((n, i) => {
    const r = results[i]!;
    if (r.state === 'missing') imageProblems.push(problemLine(n, r.reason));
    else images.push({ ...n, state: r.state });
  });
  return { images, imageProblems };
}

/** `up`'s pre-flight: throws ONE error listing every problem; emits a "preflight" step. */
export async function preflight(input: PreflightInput): Promise<PreflightResult> {
  const emit = input.onEvent ?? (() => {});
  const t0 = performance.now();
  emit({ type: 'step', id: 'preflight', phase: 'start', detail: 'images and tools' });
  let r: PreflightResult;
  try {
    r = await checkPreflight({ ...input, fetchTools: true });
    const problems = [...r.toolProblems, ...r.imageProblems, ...r.dataProblems];
    if (problems.length > 0) {
      throw problems.length === 1
        ? badInput(`pre-flight: ${problems[0]} Nothing was created.`)
        : badInput(`pre-flight: ${problems.length} problems; nothing was created.`, problems);
    }
  } catch (err) {
    const e = err as DevenvError;
    emit({
      type: 'step',
      id: 'preflight',
      phase: 'fail',
      detail: 'images and tools',
      ms: Math.round(performance.now() - t0),
      error: e.message,
      lines: [...(e.details ?? [])],
    });
    throw err;
  }
  const pulls = r.images.filter((i) => i.state === 'pullable').length;
  emit({
    type: 'step',
    id: 'preflight',
    phase: 'done',
    detail: `${r.images.length} image${r.images.length === 1 ? '' : 's'} (${r.images.length - pulls} present, ${pulls} to pull)${r.k3d ? `, k3d ${r.k3d}` : ''}`,
    ms: Math.round(performance.now() - t0),
  });
  return r;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

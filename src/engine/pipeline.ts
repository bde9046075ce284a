/**
 * The ONE pipeline of dev and prerelease: plan → build → render → deploy. `up`
 * (engine/up.ts) and `prerelease up` (prerelease/up.ts) are this pipeline with their own
 * plan around it (dev: a k3d cluster, data containers, the ingress controller;
 * prerelease: a labelled namespace on a shared cluster, a shared database and buckets);
 * `reload` runs its build → render → deploy for one service, `prerelease test` its plan
 * and render. Each step is one function here, so the environments cannot drift apart:
 *
 *   loadServices    every service's manifests (charts through helm), rendered once dry
 *                   for the environment: bad manifests are refused before anything exists
 *   buildServices   each service's image, content-tagged, pushed to the registry
 *   renderEnvironment / renderOwn (render.ts)   the services and devenv's own objects
 *   reportRender (deploy.ts)  what the render left out or rewrote, named
 *   deployServices  reconcile (apply, prune) and rollout wait, in dependsOn order
 */
import type { Config } from '../config/schema.ts';
import type { EventSink } from '../events.ts';
import type { RenderResult } from '../manifests/render.ts';
import type { RenderedObject, SourceDoc } from '../manifests/types.ts';
import type { DeployOptions, DeployResult } from './deploy.ts';
import { type Environment, renderEnvironment } from './render.ts';

/**
 * Loads every service's manifests and renders them once, dry, for `where`: a chart needs
 * helm (installed, or devenv's pinned one fetched and verified: no cluster yet); a chart's
 * hooks that devenv does not run are named, never dropped silently; bad manifests throw
 * (exit 2) before anything is created.
 */
export async function loadServices(
  config: Config,
  root: string,
  where: Environment,
  emit: EventSink,
): Promise<Map<string, SourceDoc[]>> {
  const { loadManifests } = await import('../manifests/load.ts');
  if (config.services.some((s) => s.manifests.some((m) => typeof m !== 'string')))
    await (await import('../tools/helm-binary.ts')).ensureHelm({ onEvent: emit });
  const onNotice = (line: string, id: string) => emit({ type: 'step', id, phase: 'skip', detail: line });
  const docs = new Map<string, SourceDoc[]>();
  for (const svc of config.services)
    docs.set(svc.name, await loadManifests(svc.manifests, { root, onNotice }));
  await renderEnvironment(config, where, docs, {}, { dry: true });
  return docs;
}

/**
 * Builds every service's image and pushes it to `registry`: repository → the reference
 * built. One build at a time: builds share the engine's CPUs, so this is as fast overall
 * and keeps the output readable. Pushes wait for `registryReady` when given (k3d's
 * registry is created by the cluster step, which runs in parallel).
 */
export async function buildServices(
  config: Config,
  root: string,
  registry: string,
  emit: EventSink,
  registryReady?: Promise<unknown>,
): Promise<Record<string, string>> {
  const { ensureImage } = await import('../build/builder.ts');
  const images: Record<string, string> = {};
  for (const svc of config.services) {
    const r = await ensureImage(svc, {
      project: config.project,
      root,
      registry,
      onEvent: emit,
      ...(registryReady ? { registryReady } : {}),
    });
    images[r.repo] = r.ref;
  }
  return images;
}

export interface DeployServicesOptions
  extends Omit<DeployOptions, 'objects' | 'services' | 'project' | 'env'> {
  config: Config;
  where: Environment;
  docs: ReadonlyMap<string, readonly SourceDoc[]>;
  /** The services, rendered (renderEnvironment). */
  app: RenderResult;
  /** devenv's own objects, rendered (renderOwn); none for a reload. */
  own: readonly RenderedObject[];
}

/**
 * Reconciles the services of `docs` (all of them for up, one for reload) and devenv's own
 * objects, and waits for their rollouts in the order `dependsOn` and pre-deploy Jobs give
 * (order.ts). A service not in `docs` is not part of this deploy: one reloaded alone does
 * not wait for its dependencies (they are up already).
 */
export async function deployServices(opts: DeployServicesOptions): Promise<DeployResult> {
  const { config, where, docs, app, own, ...rest } = opts;
  const { deploy } = await import('./deploy.ts');
  const { serviceUnits } = await import('./order.ts');
  return deploy({
    ...rest,
    objects: [...app.objects, ...own],
    project: config.project,
    env: where.env,
    services: serviceUnits(
      config.services.filter((s) => docs.has(s.name)),
      docs,
    ),
  });
}

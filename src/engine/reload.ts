/**
 * The reload path: a service's change set → new content-tagged image → the SAME render +
 * server-side apply as `up` (not a separate code path) → rollout wait. An unchanged
 * context yields the same tag, so nothing is rebuilt or re-applied. A failed build or
 * rollout throws; the previous pods keep serving (a Deployment only replaces pods that
 * became Ready), and the next save tries again.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { KubeClient } from '../kube/client.ts';
import type { SourceDoc } from '../manifests/types.ts';
import type { EventSink } from './events.ts';
import { DATA_SECRET } from './up.ts';

export interface ReloadContext {
  loaded: LoadedConfig;
  client: KubeClient;
  docs: Map<string, SourceDoc[]>;
  /** Current image per repository; updated in place by each reload. */
  images: Record<string, string>;
  onEvent: EventSink;
}

export interface ReloadTimings {
  buildMs: number;
  loadMs: number;
  rolloutMs: number;
  tag: string;
  result: 'ok' | 'unchanged';
}

export async function reloadService(ctx: ReloadContext, service: ServiceConfig): Promise<ReloadTimings> {
  const { config, root } = ctx.loaded;
  const { ensureImage } = await import('../build/builder.ts');
  const { registryHost } = await import('../cluster/k3dconfig.ts');
  const img = await ensureImage(service, {
    project: config.project,
    root,
    registry: registryHost(config),
    onEvent: ctx.onEvent,
  });
  if (ctx.images[img.repo] === img.ref) {
    return { buildMs: img.buildMs, loadMs: img.loadMs, rolloutMs: 0, tag: img.tag, result: 'unchanged' };
  }
  const { renderManifests } = await import('../manifests/render.ts');
  const { reconcile } = await import('../kube/apply.ts');
  const { waitForRollouts } = await import('../kube/rollout.ts');
  const images = { ...ctx.images, [img.repo]: img.ref };
  const ownDocs = ctx.docs.get(service.name) ?? [];
  const rendered = renderManifests({
    docs: ownDocs,
    project: config.project,
    env: 'dev',
    defaultNamespace: config.project,
    images,
    ...(config.database || config.objectStore ? { dataSecret: DATA_SECRET } : {}),
  });
  const t0 = performance.now();
  // Only this service's objects are applied; pruning stays with `up`, which sees all of them.
  await reconcile({
    client: ctx.client,
    objects: rendered.objects,
    project: config.project,
    env: 'dev',
    prune: false,
    onEvent: ctx.onEvent,
  });
  await waitForRollouts({
    client: ctx.client,
    objects: rendered.objects.map((o) => o.object),
    onEvent: ctx.onEvent,
  });
  ctx.images[img.repo] = img.ref;
  return {
    buildMs: img.buildMs,
    loadMs: img.loadMs,
    rolloutMs: Math.round(performance.now() - t0),
    tag: img.tag,
    result: 'ok',
  };
}

/**
 * The reload path: a service's change set → new content-tagged image → the SAME render
 * (render.ts renderServices) + server-side apply as `up` (not a separate code path) →
 * rollout wait. An unchanged context yields the same tag, so nothing is rebuilt or
 * re-applied. A failed build or rollout throws; the previous pods keep serving (a
 * Deployment only replaces pods that became Ready), and the next save tries again. `images`
 * follows what is APPLIED, so undoing a broken edit rolls the previous image back out.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { KubeClient } from '../kube/client.ts';
import type { SourceDoc } from '../manifests/types.ts';
import type { EventSink } from './events.ts';

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
  // In one process the reload loop's per-service queue already runs one rebuild at a
  // time (src/watch/loop.ts); this lock does the same across processes: `devenv reload`
  // beside a watching `up` waits for its build and apply, then builds the newer files.
  const { waitForLock } = await import('./lock.ts');
  const lock = await waitForLock(ctx.loaded.config.project, `reload-${service.name}`, {
    onWait: (owner) =>
      ctx.onEvent({
        type: 'step',
        id: `build:${service.name}`,
        phase: 'progress',
        detail: `waiting for another rebuild of ${service.name} (pid ${owner.pid ?? '?'}) to finish`,
      }),
  });
  try {
    return await rebuildAndApply(ctx, service);
  } finally {
    lock.release();
  }
}

async function rebuildAndApply(ctx: ReloadContext, service: ServiceConfig): Promise<ReloadTimings> {
  const { config, root } = ctx.loaded;
  // The deploy half loads while the image builds (a no-op once the modules are loaded).
  const later = Promise.all([import('./render.ts'), import('./deploy.ts')]);
  later.catch(() => undefined); // a failed build must not leave this rejection unhandled
  const { ensureImage } = await import('../build/builder.ts');
  const { registryHost } = await import('../cluster/k3dconfig.ts');
  const img = await ensureImage(service, {
    project: config.project,
    root,
    registry: registryHost(config),
    onEvent: ctx.onEvent,
    // Old images go once the service is quiet, not during its rollout and next build.
    deferCollection: true,
  });
  if (ctx.images[img.repo] === img.ref) {
    return { buildMs: img.buildMs, loadMs: img.loadMs, rolloutMs: 0, tag: img.tag, result: 'unchanged' };
  }
  const [{ renderServices }, { deploy }] = await later;
  const images = { ...ctx.images, [img.repo]: img.ref };
  // The same render as `up` (render.ts): what the next `up` would apply, so it writes nothing.
  const rendered = await renderServices(
    config,
    new Map([[service.name, ctx.docs.get(service.name) ?? []]]),
    images,
  );
  const t0 = performance.now();
  // Only this service's objects are applied; pruning stays with `up`, which sees all of them.
  await deploy({
    client: ctx.client,
    objects: rendered.objects,
    project: config.project,
    env: 'dev',
    prune: false,
    // A reload is done when the new pod serves; the old one finishes terminating meanwhile.
    newPodsReady: true,
    target: ctx.client.contextName(),
    onEvent: ctx.onEvent,
    // The image the cluster now runs, even if its rollout fails: undoing a broken edit
    // then builds the previous image again, which differs from this one and is applied
    // (recorded only on success, the undo would look "unchanged" and the broken pods stay).
    onApplied: () => {
      ctx.images[img.repo] = img.ref;
    },
  });
  return {
    buildMs: img.buildMs,
    loadMs: img.loadMs,
    rolloutMs: Math.round(performance.now() - t0),
    tag: img.tag,
    result: 'ok',
  };
}

/**
 * Sync mode (like Tilt's live_update): copy the changed files into the service's running
 * containers and run the rules' commands, with no image build. The targets are the
 * running pods of the service's workloads, containers whose image is the service's.
 */
export async function syncService(
  ctx: ReloadContext,
  service: ServiceConfig,
  files: import('../watch/changeset.ts').SyncFile[],
): Promise<{ syncMs: number }> {
  const { config } = ctx.loaded;
  const { planSync, syncToPods } = await import('../build/sync.ts');
  const { serviceRepository } = await import('../build/builder.ts');
  const { execInPod } = await import('../kube/exec.ts');
  const { imageRepository } = await import('../manifests/images.ts');
  const { renderManifests } = await import('../manifests/render.ts');
  const repo = serviceRepository(service, config.project);
  const rendered = renderManifests({
    docs: ctx.docs.get(service.name) ?? [],
    project: config.project,
    env: 'dev',
    defaultNamespace: config.project,
    images: ctx.images,
  });
  const targets: Array<{ namespace: string; pod: string; container: string }> = [];
  for (const o of rendered.objects) {
    const spec = o.object.spec as
      | {
          selector?: { matchLabels?: Record<string, string> };
          template?: { spec?: { containers?: Array<{ name: string; image: string }> } };
        }
      | undefined;
    const labels = spec?.selector?.matchLabels;
    const containers = (spec?.template?.spec?.containers ?? []).filter(
      (c) => imageRepository(c.image) === imageRepository(repo) || c.image.includes(`/${repo}:`),
    );
    if (!labels || containers.length === 0) continue;
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const ns = o.id.namespace;
    const pods = await ctx.client.request<{
      items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }>;
    }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: selector } });
    for (const p of pods.items) {
      if (p.status?.phase !== 'Running' || p.metadata.deletionTimestamp) continue;
      for (const c of containers) targets.push({ namespace: ns, pod: p.metadata.name, container: c.name });
    }
  }
  return syncToPods({
    service: service.name,
    plan: planSync(files, service.sync),
    targets,
    execInPod: (ns, pod, container, cmd, stdin) => execInPod(ctx.client, ns, pod, container, cmd, stdin),
    onEvent: ctx.onEvent,
  });
}

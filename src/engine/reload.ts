/**
 * The reload path: a service's change set → new content-tagged image → the SAME render
 * (pipeline.ts: render.ts renderEnvironment, deployServices) + server-side apply as `up` (not a separate code path) →
 * rollout wait. An unchanged context yields the same tag, so nothing is rebuilt or
 * re-applied. A failed build or rollout throws; the previous pods keep serving (a
 * Deployment only replaces pods that became Ready), and the next save tries again. `images`
 * follows what is APPLIED, so undoing a broken edit rolls the previous image back out.
 */

import type { SyncFile } from '../build/sync.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { EventSink } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { listPods as listPodsIn } from '../kube/reads.ts';
import type { PodJson } from '../kube/types.ts';
import type { SourceDoc } from '../manifests/types.ts';
import type { ResyncKeeper, SyncWorkload } from './resync.ts';

export interface ReloadContext {
  loaded: LoadedConfig;
  client: KubeClient;
  docs: Map<string, SourceDoc[]>;
  /** Current image per repository; updated in place by each reload. */
  images: Record<string, string>;
  onEvent: EventSink;
  /**
   * Sync mode: the files synced since each service's image was built, re-applied to every
   * new container (resync.ts). Created by the first sync; cleared by a rebuild.
   */
  resync?: ResyncKeeper;
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
  const later = Promise.all([import('./render.ts'), import('./pipeline.ts')]);
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
    // The running image was built from these very files: nothing synced is pending.
    ctx.resync?.clear(service.name);
    return { buildMs: img.buildMs, loadMs: img.loadMs, rolloutMs: 0, tag: img.tag, result: 'unchanged' };
  }
  const [{ DEV, renderEnvironment }, { deployServices }] = await later;
  const images = { ...ctx.images, [img.repo]: img.ref };
  // The same render and deploy as `up` (pipeline.ts): what the next `up` would apply, so
  // it writes nothing.
  const docs = new Map([[service.name, ctx.docs.get(service.name) ?? []]]);
  const app = await renderEnvironment(config, DEV, docs, images);
  const t0 = performance.now();
  // Only this service's objects are applied; pruning stays with `up`, which sees all of
  // them. Its pre-deploy Jobs run again when changed, and complete before its workloads
  // roll out; its dependencies are already up (they are not part of this deploy).
  await deployServices({
    client: ctx.client,
    config,
    where: DEV,
    docs,
    app,
    own: [],
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
      // The new image holds every file synced so far; its pods need no re-sync.
      ctx.resync?.clear(service.name);
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
 * The files join the service's ledger (resync.ts): a container that starts later (a new
 * pod, a restart) gets them too before the service is reported current.
 */
export async function syncService(
  ctx: ReloadContext,
  service: ServiceConfig,
  files: SyncFile[],
): Promise<{ syncMs: number }> {
  const { planSync, syncToPods } = await import('../build/sync.ts');
  const { execInPod } = await import('../kube/exec.ts');
  const keeper = await resyncKeeper(ctx);
  const targets: Array<{ namespace: string; pod: string; container: string }> = [];
  const containerIDs: string[] = [];
  for (const w of await syncWorkloads(ctx, service)) {
    for (const p of await listPods(ctx, w.namespace, w.selector)) {
      if (p.status?.phase !== 'Running' || p.metadata.deletionTimestamp) continue;
      for (const c of w.containers) {
        targets.push({ namespace: w.namespace, pod: p.metadata.name, container: c });
        const id = p.status.containerStatuses?.find((s) => s.name === c)?.containerID;
        if (id) containerIDs.push(id);
      }
    }
  }
  try {
    const r = await syncToPods({
      service: service.name,
      plan: planSync(files, service.sync),
      targets,
      execInPod: (ns, pod, container, cmd, stdin) => execInPod(ctx.client, ns, pod, container, cmd, stdin),
      onEvent: ctx.onEvent,
    });
    keeper.recordSync(service, files, containerIDs);
    return r;
  } catch (err) {
    // Which containers got the files is unknown: none counts as current, so the keeper
    // re-applies the ledger to each (and rebuilds if that fails too).
    keeper.recordSync(service, files, []);
    throw err;
  }
}

/** The keeper of synced files (resync.ts) of this reload context, created on first use. */
async function resyncKeeper(ctx: ReloadContext): Promise<ResyncKeeper> {
  if (ctx.resync) return ctx.resync;
  const { ResyncKeeper } = await import('./resync.ts');
  const { planSync, syncToPods } = await import('../build/sync.ts');
  const { execInPod } = await import('../kube/exec.ts');
  ctx.resync ??= new ResyncKeeper({
    onEvent: (e) => ctx.onEvent(e),
    workloads: (service) => syncWorkloads(ctx, service),
    listPods: (ns, selector) => listPods(ctx, ns, selector),
    sync: (service, files, targets) =>
      syncToPods({
        service: service.name,
        plan: planSync(files, service.sync),
        targets,
        execInPod: (ns, pod, container, cmd, stdin) => execInPod(ctx.client, ns, pod, container, cmd, stdin),
        onEvent: ctx.onEvent,
      }),
    rebuild: (service) => reloadService(ctx, service),
  });
  return ctx.resync;
}

async function listPods(ctx: ReloadContext, namespace: string, selector: string): Promise<PodJson[]> {
  return listPodsIn(ctx.client, namespace, selector);
}

/** The service's workloads (as rendered for dev) and their containers that run its image. */
async function syncWorkloads(ctx: ReloadContext, service: ServiceConfig): Promise<SyncWorkload[]> {
  const { config } = ctx.loaded;
  const { serviceRepository } = await import('../build/builder.ts');
  const { imageRepository } = await import('../manifests/images.ts');
  const { DEV, renderEnvironment } = await import('./render.ts');
  const repo = serviceRepository(service, config.project);
  const docs = new Map([[service.name, ctx.docs.get(service.name) ?? []]]);
  const rendered = await renderEnvironment(config, DEV, docs, ctx.images, { dry: true });
  const out: SyncWorkload[] = [];
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
    out.push({
      namespace: o.id.namespace ?? config.project,
      selector,
      containers: containers.map((c) => c.name),
    });
  }
  return out;
}

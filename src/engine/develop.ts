/**
 * The inner loop after `up`: a saved file reloads its service (rebuild → deploy, or sync
 * into the running container) through that service's one queue (watch/loop.ts), with
 * the same render and deploy as `up` (reload.ts). The dashboard's `r` goes through the
 * same queue (`trigger`). Resolves once the watcher's initial scan is done.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { EventSink } from '../events.ts';
import type { WatchLoop } from '../watch/loop.ts';
import type { UpResult } from './up.ts';

export async function watchAndReload(
  loaded: LoadedConfig,
  result: UpResult,
  onEvent: EventSink,
): Promise<WatchLoop> {
  const { reloadService, syncService } = await import('./reload.ts');
  const { startWatchLoop } = await import('../watch/loop.ts');
  const ctx = { loaded, client: result.client, docs: result.docs, images: { ...result.images }, onEvent };
  return startWatchLoop({
    root: loaded.root,
    services: loaded.config.services,
    onEvent,
    onChangeSet: async (service, change) => {
      if (change.plan.kind === 'sync') {
        const { syncMs } = await syncService(ctx, service, change.plan.files);
        return { result: 'ok', timings: { syncMs } };
      }
      const t = await reloadService(ctx, service);
      return {
        result: t.result,
        tag: t.tag,
        timings: { buildMs: t.buildMs, loadMs: t.loadMs, rolloutMs: t.rolloutMs },
      };
    },
  });
}

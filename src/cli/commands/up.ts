import { loadConfig } from '../../config/load.ts';
import type { EventSink, ProgressEvent } from '../../engine/events.ts';
import type { GlobalOptions } from '../main.ts';

export interface UpFlags {
  tui?: boolean;
  watch?: boolean;
  context?: string;
  kubeconfig?: string;
  switchObjectStore?: boolean;
}

export async function run(opts: UpFlags, _args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const { createPlainPrinter } = await import('../../tui/plain.ts');
  const print = createPlainPrinter(process.stdout);
  const listeners: EventSink[] = [print];
  const onEvent: EventSink = (e: ProgressEvent) => {
    for (const l of listeners) l(e);
  };
  const watching = opts.watch !== false && loaded.config.services.length > 0;
  const { up } = await import('../../engine/up.ts');
  const result = await up({
    loaded,
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.switchObjectStore ? { switchObjectStore: true } : {}),
    // Forwards live as long as this process: only a watching up opens them.
    ...(watching ? { forwards: true } : {}),
    onEvent,
  });
  const r = result.reconcile;
  process.stdout.write(
    `devenv is up in ${(result.ms / 1000).toFixed(1)} s — project ${loaded.config.project}, context ${result.target.context}: ` +
      `${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.pruned} pruned, ${r.conflicts.length} left alone\n`,
  );
  if (result.data?.host.objectStore?.consoleUrl)
    process.stdout.write(`MinIO console: ${result.data.host.objectStore.consoleUrl}\n`);
  const { forwardLine, openForwards } = await import('../../engine/forwards.ts');
  if (!watching) {
    const n = loaded.config.services.reduce((k, s) => k + (s.forwards?.length ?? 0), 0);
    if (n > 0)
      process.stdout.write(
        `${n} port-forward(s) not opened: they are open while up watches; "devenv forward SERVICE" opens one alone\n`,
      );
    return 0;
  }
  // Port-forwards (services[].forwards), each connection to a ready pod of that moment.
  const forwards = await openForwards(result.client, result.forwards, onEvent);
  for (const f of forwards.forwards)
    process.stdout.write(`forward ${forwardLine(f.plan)}  (${f.plan.service})\n`);

  // Watch and reload until Ctrl-C; the environment keeps running afterwards.
  const { reloadService, syncService } = await import('../../engine/reload.ts');
  const { startWatchLoop } = await import('../../watch/loop.ts');
  const ctx = { loaded, client: result.client, docs: result.docs, images: { ...result.images }, onEvent };
  const loop = await startWatchLoop({
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
  if (process.stdout.isTTY && opts.tui !== false) {
    // The dashboard owns the terminal while it is open; q / Ctrl-C closes it.
    const { runDashboardSession } = await import('./dashboard-session.ts');
    await runDashboardSession({
      loaded,
      result,
      onEvent: (sink) => listeners.splice(0, listeners.length, sink ?? print),
      // `r` goes through the service's one reload queue, never beside a save's build.
      reload: (name) =>
        loop.trigger(name).then((ev) => {
          if (ev.result === 'failed') throw new Error(ev.error ?? 'the rebuild failed');
        }),
    });
  } else {
    process.stdout.write(
      `watching ${loop.roots.length} path(s) for changes; Ctrl-C to stop watching (the environment keeps running)\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await loop.close();
  await forwards.close();
  process.stdout.write('stopped watching; the environment is still running ("devenv down" stops it)\n');
  return 0;
}

import { type LoadedConfig, loadConfig } from '../../config/load.ts';
import type { UpResult } from '../../engine/up.ts';
import type { EventSink, ProgressEvent } from '../../events.ts';
import type { DashboardSession } from '../../tui/session.ts';
import type { GlobalOptions } from '../options.ts';

export interface UpFlags {
  tui?: boolean;
  watch?: boolean;
  context?: string;
  kubeconfig?: string;
  switchObjectStore?: boolean;
}

export async function run(opts: UpFlags, _args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const watching = opts.watch !== false && loaded.config.services.length > 0;
  const tui = watching && process.stdout.isTTY === true && opts.tui !== false;
  // On a terminal the dashboard opens at once, before anything is created, and shows up's
  // steps as they happen (cluster, data services, builds with their BuildKit steps, pushes,
  // apply, rollouts), then pods and logs once the cluster answers.
  const session = tui
    ? await (await import('../../tui/session.ts')).openDashboardSession({
        loaded,
        ...(await clusterOf(loaded, opts)),
      })
    : undefined;
  const print = session ? undefined : (await import('../../tui/plain.ts')).createPlainPrinter(process.stdout);
  const listeners: EventSink[] = [session ? session.sink : print!];
  const onEvent: EventSink = (e: ProgressEvent) => {
    for (const l of listeners) l(e);
  };
  // What the dashboard hides while it is open is printed once it closed.
  const summary: string[] = [];
  const say = (line: string) => (session ? summary.push(line) : process.stdout.write(`${line}\n`));

  // The watches start as soon as the cluster answers: pods appear while they roll out.
  if (session) {
    listeners.push((e) => {
      if (e.type === 'step' && e.id === 'cluster' && (e.phase === 'done' || e.phase === 'skip'))
        void watchCluster(loaded, opts, session).catch(() => undefined);
    });
  }
  const result = await runUp(loaded, opts, watching, session, onEvent);
  const endpoints = await summarize(loaded, result, watching, say);
  session?.store.dispatch({ type: 'endpoints/set', endpoints });
  if (!watching) {
    const n = loaded.config.services.reduce((k, s) => k + (s.forwards?.length ?? 0), 0);
    if (n > 0)
      say(
        `${n} port-forward(s) not opened: they are open while up watches; "devenv forward SERVICE" opens one alone`,
      );
    return 0;
  }
  return develop(loaded, result, session, onEvent, say, () => {
    listeners.length = 0;
    for (const l of summary) process.stdout.write(`${l}\n`);
  });
}

/**
 * `up` itself, with the dashboard's q / Ctrl-C while it runs stopping this process (as
 * Ctrl-C does in plain mode); a failure stays on the dashboard until the user quits.
 */
async function runUp(
  loaded: LoadedConfig,
  opts: UpFlags,
  watching: boolean,
  session: DashboardSession | undefined,
  onEvent: EventSink,
): Promise<UpResult> {
  const { up } = await import('../../engine/up.ts');
  const t0 = performance.now();
  let settled = false;
  void session?.closed.then(() => {
    if (!settled) interrupted();
  });
  try {
    return await up({
      loaded,
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.switchObjectStore ? { switchObjectStore: true } : {}),
      // Forwards live as long as this process: only a watching up opens them.
      ...(watching ? { forwards: true } : {}),
      onEvent,
    });
  } catch (err) {
    settled = true; // quitting the dashboard now is reading the failure, not an interrupt
    if (!session) throw err;
    // The reason stays on screen until the user quits; then the CLI prints it and exits non-zero.
    session.failed(err, Math.round(performance.now() - t0));
    await session.closed;
    throw err;
  } finally {
    settled = true;
  }
}

/**
 * After up, while watching: reloads on save, the forwards open, until the dashboard is
 * closed or Ctrl-C (plain mode). The environment keeps running afterwards.
 */
async function develop(
  loaded: LoadedConfig,
  result: UpResult,
  session: DashboardSession | undefined,
  onEvent: EventSink,
  say: (line: string) => void,
  afterDashboard: () => void,
): Promise<number> {
  const { forwardLine, openForwards } = await import('../../engine/forwards.ts');
  const { watchAndReload } = await import('../../engine/develop.ts');
  const watch = watchAndReload(loaded, result, onEvent);
  watch.catch(() => undefined); // awaited below; a failed start is reported there
  // The dashboard says "up" the moment up returned; `r` goes through the service's one
  // reload queue (never beside a save's build) once the watcher's first scan is done.
  await session?.ready(result, (name) =>
    watch.then((loop) =>
      loop.trigger(name).then((ev) => {
        if (ev.result === 'failed') throw new Error(ev.error ?? 'the rebuild failed');
      }),
    ),
  );
  // Port-forwards (services[].forwards), each connection to a ready pod of that moment.
  const forwards = await openForwards(result.client, result.forwards, onEvent).catch(async (err: unknown) => {
    await (await watch.catch(() => undefined))?.close(); // the watcher must not keep this process alive
    throw err;
  });
  if (!session) for (const f of forwards.forwards) say(`forward ${forwardLine(f.plan)}  (${f.plan.service})`);
  const loop = await watch;
  if (session) {
    // The dashboard owns the terminal while it is open; q / Ctrl-C closes it.
    await session.closed;
    afterDashboard();
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

/** up's closing lines (counts, the MinIO console, where each service answers); the endpoints for the dashboard. */
async function summarize(
  loaded: LoadedConfig,
  result: UpResult,
  watching: boolean,
  say: (line: string) => void,
): Promise<import('../../store/state.ts').Endpoint[]> {
  const r = result.reconcile;
  say(
    `devenv is up in ${(result.ms / 1000).toFixed(1)} s — project ${loaded.config.project}, context ${result.target.context}: ` +
      `${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.pruned} pruned, ${r.conflicts.length} left alone`,
  );
  if (result.data?.host.objectStore?.consoleUrl)
    say(`MinIO console: ${result.data.host.objectStore.consoleUrl}`);
  // Where each service answers: its ingress/route URLs, the TLS URL, its forwards.
  const { endpointLines, serviceEndpoints, upEndpointsInput } = await import('../../engine/endpoints.ts');
  const endpoints = serviceEndpoints(upEndpointsInput(loaded, result, watching ? result.forwards : []));
  if (endpoints.length > 0) for (const l of ['where services answer:', ...endpointLines(endpoints)]) say(l);
  return endpoints;
}

/** q / Ctrl-C in the dashboard while up still ran: like Ctrl-C in plain mode, up stops here. */
function interrupted(): number {
  process.stderr.write(
    'devenv up interrupted: what was created so far keeps running; "devenv up" continues\n',
  );
  process.exit(130);
}

/** The header's cluster before up starts: none when the target is refused (up reports why). */
async function clusterOf(
  loaded: LoadedConfig,
  opts: UpFlags,
): Promise<{ cluster?: { name: string; context: string } }> {
  const { resolveTarget } = await import('../../engine/target.ts');
  const { clusterName } = await import('../../cluster/k3dconfig.ts');
  try {
    const t = resolveTarget(loaded.config, opts.context, opts.kubeconfig);
    const name = t.kind === 'k3d' ? `k3d-${clusterName(loaded.config.project)}` : t.context;
    return { cluster: { name, context: t.context } };
  } catch {
    return {};
  }
}

/** Once the cluster step finished: the same client up connects with, for the dashboard's watches. */
async function watchCluster(
  loaded: LoadedConfig,
  opts: UpFlags,
  session: import('../../tui/session.ts').DashboardSession,
): Promise<void> {
  const { resolveTarget } = await import('../../engine/target.ts');
  const { connect } = await import('../../kube/client.ts');
  const target = resolveTarget(loaded.config, opts.context, opts.kubeconfig);
  session.watch(
    connect({
      ...(target.kind === 'existing' && target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
      context: target.context,
    }),
  );
}

/**
 * The dashboard session of `devenv up` on a terminal, from the first second: opened before
 * `up()` creates anything, over a store that the engine's progress events, then the kube
 * watches and the log streams feed, until the user quits. The environment keeps running
 * afterwards.
 *
 * Contract of `openDashboardSession` (used by `up`):
 * - Opens the blessed dashboard at once, in the 'starting' phase, with the services of
 *   devenv.yaml; `session.sink` is the engine's EventSink (step events are stamped with
 *   their arrival time, so a running step shows how long it runs).
 * - `watch(client)` once the cluster answers: pods, workloads, events, nodes and the logs
 *   of every container (`watchProject`); `ready(result, reload)` once up returned (data
 *   services, local CA, image tags; `r` and `R` work from then on); `failed(err)` shows
 *   the reason and keeps the dashboard open.
 * - Keys: `r` → `reload(service)`; `R` → a rollout restart of the service's
 *   Deployments/StatefulSets/DaemonSets (engine/restart.ts; only devenv-labelled ones);
 *   before `ready` both answer with a notice. `q` / Ctrl-C (or SIGTERM/SIGINT) → `closed`
 *   resolves once the terminal is restored and watches and log streams are stopped.
 *   A failing reload/restart becomes a red footer notice, never an exception.
 * - Watch trouble (a dropped connection being retried) shows as a footer notice; the
 *   watches reconnect by themselves (src/kube/watch.ts).
 *
 * `runDashboardSession` is the same dashboard over an environment that is already up.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { UpResult } from '../engine/up.ts';
import { DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { act } from '../store/actions.ts';
import type { Store } from '../store/store.ts';

export interface DashboardSessionOptions {
  loaded: LoadedConfig;
  result: UpResult;
  /** Installs (sink) / removes (undefined) the receiver of the engine's progress events. */
  onEvent(sink: EventSink | undefined): void;
  /**
   * Rebuild and roll out one service: the reload loop's `trigger`, so `r` goes through the
   * service's one queue with its file saves; rejects when that rebuild failed.
   */
  reload(service: string): unknown;
  /** Test seams: the store, the terminal streams, the redraw rate. */
  store?: Store;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  fps?: number;
}

/** The dashboard of one `devenv up`, opened before up does anything (openDashboardSession). */
export interface DashboardSession {
  readonly store: Store;
  /**
   * The engine's EventSink into the store: stamps each step event with the time it arrived
   * (so the dashboard shows how long a running step takes).
   */
  readonly sink: EventSink;
  /** The cluster answers: watch its pods, workloads, events, nodes and logs (once). */
  watch(client: KubeClient): void;
  /** `up` returned: what it knows goes into the store; `r` and `R` work from now on. */
  ready(result: UpResult, reload: (service: string) => unknown): Promise<void>;
  /** `up` failed: the reason is shown, the dashboard stays until the user quits. */
  failed(err: unknown, ms?: number): void;
  /** Resolves once the user quit (q, Ctrl-C, SIGINT/SIGTERM): terminal restored, watches stopped. */
  readonly closed: Promise<void>;
  /** Whether the user has quit. */
  readonly quit: boolean;
  /** ms from the process's start (performance.timeOrigin) to the dashboard's first frame. */
  readonly firstFrameMs: number;
}

export interface OpenSessionOptions {
  loaded: LoadedConfig;
  /** The cluster up will use, when known before it starts (shown in the header). */
  cluster?: { name: string; context: string };
  /** Test seams: the store, the terminal streams, the redraw rate, the clock. */
  store?: Store;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  fps?: number;
  now?: () => number;
}

/**
 * Opens the dashboard at once, before `up` creates anything: the store starts in the
 * 'starting' phase with the project's services (from devenv.yaml) and fills from the
 * engine's progress events (steps of cluster, data services, builds with their BuildKit
 * lines, pushes, apply, rollouts), then from the kube watches once the cluster answers.
 */
export async function openDashboardSession(opts: OpenSessionOptions): Promise<DashboardSession> {
  const { config } = opts.loaded;
  const project = config.project;
  const { createStore } = await import('../store/store.ts');
  const store = opts.store ?? createStore({ project });
  const dispatch = store.dispatch;
  const now = opts.now ?? Date.now;
  const { clusterName } = await import('../cluster/k3dconfig.ts');
  dispatch(act.up('starting', now()));
  dispatch(opts.cluster ? act.project(project, opts.cluster) : act.project(project));
  for (const svc of config.services) dispatch(act.service({ name: svc.name }));

  let result: UpResult | undefined;
  let reload: ((service: string) => unknown) | undefined;
  let watch: { stop(): Promise<void> } | undefined;
  let quit = false;

  const { startDashboard } = await import('./dashboard.ts');
  const quitted = Promise.withResolvers<void>();
  const onQuit = () => {
    quit = true;
    quitted.resolve();
  };
  const dashboard = await startDashboard(store, {
    onReload: (service) => {
      if (!reload) throw new DevenvError('not up yet: r works once devenv up has deployed');
      return reload(service);
    },
    onRestart: (service) => restart(config, result, service, dispatch, now),
    onQuit,
    now,
    ...terminal(opts),
  });
  const onSignal = () => onQuit();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const closed = quitted.promise.then(async () => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    dashboard.stop();
    await watch?.stop();
  });

  const sink: EventSink = (e) =>
    store.sink(e.type === 'step' && e.time === undefined ? { ...e, time: now() } : e);

  const startWatching = (client: KubeClient): void => {
    if (watch || quit) return;
    watch = startWatch(client, config, dispatch, store.sink, now);
  };
  return {
    store,
    sink,
    closed,
    get quit() {
      return quit;
    },
    firstFrameMs: dashboard.firstFrameMs,
    watch: startWatching,
    async ready(r, rl) {
      result = r;
      reload = rl;
      await showUpResult(dispatch, config, r, clusterName, now);
      startWatching(r.client);
      dispatch(act.up('ready', now(), { ms: r.ms }));
      dispatch({ type: 'ui/notice', text: `devenv is up in ${(r.ms / 1000).toFixed(1)} s`, at: now() });
    },
    failed(err, ms) {
      const e = err as Error & { details?: readonly string[] };
      dispatch(
        act.up('failed', now(), {
          ...(ms !== undefined ? { ms } : {}),
          error: e?.message ?? String(err),
          lines: [...(e?.details ?? [])],
        }),
      );
    },
  };
}

/**
 * What `up` returned, into the store: the cluster it used, the data services' endpoints, the
 * local CA's state (with TLS), each service's image tag.
 */
async function showUpResult(
  dispatch: Store['dispatch'],
  config: LoadedConfig['config'],
  r: UpResult,
  clusterName: (project: string) => string,
  now: () => number,
): Promise<void> {
  const project = config.project;
  dispatch(
    act.project(project, {
      name: r.target.kind === 'k3d' ? `k3d-${clusterName(project)}` : r.target.context,
      context: r.target.context,
    }),
  );
  const db = r.data?.host.database;
  if (db) dispatch(act.data({ name: db.engine, health: 'healthy', endpoint: `${db.host}:${db.port}` }));
  const s3 = r.data?.host.objectStore;
  if (s3)
    dispatch(act.data({ name: 'minio', health: 'healthy', endpoint: s3.endpoint.replace(/^\w+:\/\//, '') }));
  if (config.tls) dispatch(await caAction(now()));
  const { serviceRepository } = await import('../build/builder.ts');
  const { imageTag } = await import('../store/podinfo.ts');
  for (const svc of config.services) {
    const ref = r.images[serviceRepository(svc, project)];
    const tag = ref ? imageTag(ref) : undefined;
    dispatch(act.service(tag ? { name: svc.name, imageTag: tag } : { name: svc.name }));
  }
}

/** `R`: a rollout restart of the service's workloads (only devenv-labelled ones), once up has deployed. */
async function restart(
  config: LoadedConfig['config'],
  result: UpResult | undefined,
  service: string,
  dispatch: Store['dispatch'],
  now: () => number,
): Promise<void> {
  if (!result) throw new DevenvError('not up yet: wait until devenv up has deployed');
  const { restartService } = await import('../engine/restart.ts');
  const restarted = await restartService(config, result.client, result.docs, service);
  dispatch({ type: 'ui/notice', text: `restarted ${restarted.join(', ')}`, at: now() });
}

/** The test seams for the terminal (streams, redraw rate) that were given, and no others. */
function terminal(o: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; fps?: number }): {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  fps?: number;
} {
  return {
    ...(o.input ? { input: o.input } : {}),
    ...(o.output ? { output: o.output } : {}),
    ...(o.fps ? { fps: o.fps } : {}),
  };
}

function startWatch(
  client: KubeClient,
  config: LoadedConfig['config'],
  dispatch: Store['dispatch'],
  onLog: EventSink,
  now: () => number,
): { stop(): Promise<void> } {
  const load = import('../engine/project-watch.ts').then(({ watchProject }) =>
    watchProject({
      client,
      project: config.project,
      env: 'dev',
      services: config.services.map((s) => ({ name: s.name, manifests: s.manifests })),
      dispatch,
      onLog,
      onError: (what, err, retryMs) =>
        dispatch({
          type: 'ui/notice',
          text: `${what}: ${(err as Error)?.message ?? String(err)}${retryMs ? ` (retrying in ${Math.max(1, Math.round(retryMs / 1000))} s)` : ''}`,
          at: now(),
          error: true,
        }),
    }),
  );
  return { stop: () => load.then((w) => w.stop()) };
}

/**
 * The dashboard over an environment `up()` already brought up (the kube tier's session
 * test; `up` itself opens the dashboard first, openDashboardSession). Resolves once the
 * user quit.
 */
export async function runDashboardSession(opts: DashboardSessionOptions): Promise<void> {
  const session = await openDashboardSession({
    loaded: opts.loaded,
    ...(opts.store ? { store: opts.store } : {}),
    ...terminal(opts),
  });
  await session.ready(opts.result, opts.reload);
  opts.onEvent(session.sink);
  try {
    await session.closed;
  } finally {
    opts.onEvent(undefined);
  }
}

/** The local CA's state for the header: missing, expiring (< 30 days) or created (with its expiry). */
async function caAction(now: number) {
  const { existsSync, readFileSync } = await import('node:fs');
  const { caPaths } = await import('../tls/store.ts');
  const { caMeta } = await import('../tls/ca.ts');
  const { certPath } = caPaths();
  if (!existsSync(certPath)) return act.ca('missing', 'run "devenv trust"');
  try {
    const meta = caMeta(readFileSync(certPath, 'utf8'));
    const until = meta.notAfter.getTime();
    const day = meta.notAfter.toISOString().slice(0, 10);
    if (until - now < 30 * 24 * 3600 * 1000) return act.ca('expiring', `expires ${day}`);
    return act.ca('created', `valid until ${day}`);
  } catch (err) {
    return act.ca('unknown', (err as Error).message);
  }
}

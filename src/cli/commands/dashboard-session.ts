/**
 * The dashboard session of `devenv up` on a terminal: after `up()` returned, the live
 * dashboard over a store that the engine's events, the kube watches and the log streams
 * feed, until the user quits. The environment keeps running afterwards.
 *
 * Contract of `runDashboardSession`:
 * - Creates the store (or uses `opts.store`), dispatches what `up` knows (project, cluster,
 *   data services, local CA, image tags), starts `watchProject` (pods, workloads, events,
 *   nodes, and the logs of every container) into it, then opens the blessed dashboard.
 * - Engine events: calls `opts.onEvent(store.sink)` once the dashboard owns the terminal
 *   (the caller must stop printing plain lines then, and send reload/build/rollout events
 *   there), and `opts.onEvent(undefined)` after the terminal was restored.
 * - Keys: `r` → `opts.reload(service)`; `R` → a rollout restart of the service's
 *   Deployments/StatefulSets/DaemonSets (src/kube/restart.ts; only devenv-labelled ones);
 *   `q` / Ctrl-C (or SIGTERM/SIGINT) → resolves once watches and log streams are stopped.
 *   A failing reload/restart becomes a red footer notice, never an exception.
 * - Watch trouble (a dropped connection being retried) shows as a footer notice; the
 *   watches reconnect by themselves (src/kube/watch.ts).
 */
import type { LoadedConfig } from '../../config/load.ts';
import type { EventSink } from '../../engine/events.ts';
import type { UpResult } from '../../engine/up.ts';
import { DevenvError } from '../../errors.ts';
import { act } from '../../store/actions.ts';
import type { Store } from '../../store/store.ts';

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

export async function runDashboardSession(opts: DashboardSessionOptions): Promise<void> {
  const { config } = opts.loaded;
  const { result } = opts;
  const project = config.project;
  const { createStore } = await import('../../store/store.ts');
  const store = opts.store ?? createStore({ project });
  const dispatch = store.dispatch;
  const now = Date.now;

  // ---- what `up` knows
  const { clusterName } = await import('../../cluster/k3dconfig.ts');
  dispatch(
    act.project(project, {
      name: result.target.kind === 'k3d' ? `k3d-${clusterName(project)}` : result.target.context,
      context: result.target.context,
    }),
  );
  const db = result.data?.host.database;
  if (db) dispatch(act.data({ name: db.engine, health: 'healthy', endpoint: `${db.host}:${db.port}` }));
  const s3 = result.data?.host.objectStore;
  if (s3)
    dispatch(act.data({ name: 'minio', health: 'healthy', endpoint: s3.endpoint.replace(/^\w+:\/\//, '') }));
  if (config.tls) dispatch(await caAction(now()));
  const { serviceRepository } = await import('../../build/builder.ts');
  const { imageTag } = await import('../../kube/podinfo.ts');
  for (const svc of config.services) {
    const ref = result.images[serviceRepository(svc, project)];
    const tag = ref ? imageTag(ref) : undefined;
    dispatch(act.service(tag ? { name: svc.name, imageTag: tag } : { name: svc.name }));
  }

  // ---- live data
  const { watchProject } = await import('../../kube/watch.ts');
  const watch = watchProject({
    client: result.client,
    project,
    env: 'dev',
    services: config.services.map((s) => ({ name: s.name, manifests: s.manifests })),
    dispatch,
    onLog: store.sink,
    onError: (what, err, retryMs) =>
      dispatch({
        type: 'ui/notice',
        text: `${what}: ${(err as Error)?.message ?? String(err)}${retryMs ? ` (retrying in ${Math.max(1, Math.round(retryMs / 1000))} s)` : ''}`,
        at: now(),
        error: true,
      }),
  });

  const restart = async (service: string): Promise<void> => {
    const docs = result.docs.get(service) ?? [];
    const { renderManifests } = await import('../../manifests/render.ts');
    const { restartWorkloads } = await import('../../kube/restart.ts');
    const rendered = renderManifests({ docs, project, env: 'dev', defaultNamespace: project, images: {} });
    const r = await restartWorkloads(result.client, rendered.objects);
    if (r.restarted.length === 0) {
      throw new DevenvError(
        r.missing.length > 0
          ? `not deployed: ${r.missing.join(', ')}`
          : `service ${service} has no Deployment, StatefulSet or DaemonSet to restart`,
      );
    }
    dispatch({ type: 'ui/notice', text: `restarted ${r.restarted.join(', ')}`, at: now() });
  };

  // ---- the dashboard
  const { startDashboard } = await import('../../tui/dashboard.ts');
  let quit!: () => void;
  const quitted = new Promise<void>((resolve) => {
    quit = resolve;
  });
  const dashboard = await startDashboard(store, {
    onReload: (service) => opts.reload(service),
    onRestart: (service) => restart(service),
    onQuit: () => quit(),
    ...(opts.input ? { input: opts.input } : {}),
    ...(opts.output ? { output: opts.output } : {}),
    ...(opts.fps ? { fps: opts.fps } : {}),
  });
  opts.onEvent(store.sink);
  const onSignal = () => quit();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await quitted;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    dashboard.stop();
    opts.onEvent(undefined);
    await watch.stop();
  }
}

/** The local CA's state for the header: missing, expiring (< 30 days) or created (with its expiry). */
async function caAction(now: number) {
  const { existsSync, readFileSync } = await import('node:fs');
  const { caPaths } = await import('../../tls/store.ts');
  const { caMeta } = await import('../../tls/ca.ts');
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

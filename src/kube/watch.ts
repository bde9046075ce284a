/**
 * Live data for the dashboard: list+watch (client-node informers) of the project's pods,
 * workloads, events and the cluster's nodes, mapped to store actions (src/store/actions.ts).
 *
 * Contract of `watchProject`:
 * - Pods: those carrying the project's owner labels (ownerSelector), cluster-wide → act.pod /
 *   act.podDelete, each mapped to its service (podinfo.ts serviceOfPod). When the workloads
 *   change, pods whose service changed are dispatched again.
 * - Workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs with the owner labels)
 *   → one act.service summary per service (podinfo.ts serviceSummary), dispatched when it
 *   changes; configured services without workloads show "Not deployed".
 * - Events: every event of the project's namespaces (labelled for the project, given by the
 *   caller, or holding project workloads/pods) → act.event. Ordering (Warnings first) is the
 *   view's job.
 * - Nodes: all nodes → act.node / act.nodeDelete (role from node-role labels).
 * - Logs: with `onLog`, every container of the project's pods is followed (logstream.ts).
 * - Data comes from WATCHES, never polling. A watch that drops is reconnected with backoff
 *   (500 ms doubling to 30 s, reset after a watch that ran for 30 s) and resumes from the
 *   last resourceVersion; a 410 Gone relists (client-node's ListWatch does the resume and
 *   the relist; objects gone meanwhile are reported as deleted). The informer's own 30 s
 *   inactivity timeout reconnects at once.
 * - `stop()` (or the abort signal) stops every watch and log stream; nothing is left open.
 *
 * Only src/kube imports @kubernetes/client-node.
 */
import * as k8s from '@kubernetes/client-node';
import type { LogEvent } from '../events.ts';
import { type DeployEnv, ownerSelector } from '../manifests/types.ts';
import { type Action, act } from '../store/actions.ts';
import type { ServiceState } from '../store/state.ts';
import type { KubeClient } from './client.ts';
import { createLogFollower, type LogFollower } from './logstream.ts';
import {
  eventToKubeEvent,
  nodeToInfo,
  podToInfo,
  type ServiceSource,
  serviceOfPod,
  serviceSummary,
  type WorkloadRef,
  workloadRefs,
} from './podinfo.ts';
import type { EventJson, NodeJson, ObjectMeta, PodJson, WorkloadJson } from './types.ts';

// ---------------------------------------------------------------- one collection

export interface CollectionStats {
  /** Successful lists (the first one, and relists after 410 Gone). */
  lists: number;
  /** Watch connections opened (the first, and every reconnect). */
  connects: number;
  /** Watches that failed (dropped connection, error answer) and were restarted. */
  errors: number;
  lastError?: string;
}

export interface CollectionWatch {
  /** Settles after the first list was delivered (every object reported once). */
  readonly synced: Promise<void>;
  readonly stats: CollectionStats;
  stop(): Promise<void>;
}

export interface WatchCollectionOptions<T> {
  client: KubeClient;
  /** Collection path, e.g. "/api/v1/pods" or "/api/v1/namespaces/b2b/events". */
  path: string;
  labelSelector?: string;
  onUpsert(obj: T): void;
  onDelete(obj: T): void;
  /** A failure; the watch is retried after `retryMs`. */
  onError?(err: unknown, retryMs: number): void;
  backoff?: { initialMs?: number; maxMs?: number };
}

/**
 * A list+watch of one collection (client-node `makeInformer`) that never gives up: the
 * informer resumes from its resourceVersion after a server-side close or a client timeout
 * and relists on 410 Gone by itself; after any other failure it stops, and is restarted
 * here with exponential backoff (plus jitter) from the same resourceVersion.
 */
export function watchCollection<T extends { metadata: ObjectMeta }>(
  opts: WatchCollectionOptions<T>,
): CollectionWatch {
  const initialMs = opts.backoff?.initialMs ?? 500;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const stats: CollectionStats = { lists: 0, connects: 0, errors: 0 };
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const list = async (): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> => {
    const r = await opts.client.request<k8s.KubernetesListObject<k8s.KubernetesObject>>('GET', opts.path, {
      query: { labelSelector: opts.labelSelector },
    });
    stats.lists++;
    // The informer reports the items right after this promise settles; synced follows.
    setImmediate(markSynced);
    return r;
  };
  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    opts.client.kubeConfig,
    opts.path,
    list,
    opts.labelSelector,
  );
  let stopped = false;
  let delay = initialMs;
  let startedAt = 0;
  let timer: NodeJS.Timeout | undefined;

  informer.on('add', (o) => opts.onUpsert(o as unknown as T));
  informer.on('update', (o) => opts.onUpsert(o as unknown as T));
  informer.on('delete', (o) => opts.onDelete(o as unknown as T));
  informer.on('connect', () => {
    stats.connects++;
  });
  const failed = (err: unknown) => {
    if (stopped || timer) return;
    stats.errors++;
    stats.lastError = errorText(err);
    if (Date.now() - startedAt > 30_000) delay = initialMs; // it ran fine for a while
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    delay = Math.min(delay * 2, maxMs);
    opts.onError?.(err, wait);
    timer = setTimeout(() => {
      timer = undefined;
      void start();
    }, wait);
  };
  informer.on('error', failed);
  const start = async () => {
    if (stopped) return;
    startedAt = Date.now();
    try {
      await informer.start();
    } catch (err) {
      failed(err);
    }
  };
  void start();
  return {
    synced,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await informer.stop();
    },
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = (err as { statusCode?: number }).statusCode;
    return `${err.message}${code ? ` (HTTP ${code})` : ''}${cause instanceof Error ? `: ${cause.message}` : ''}`;
  }
  return String(err);
}

// ---------------------------------------------------------------- the project

export interface WatchProjectOptions {
  client: KubeClient;
  project: string;
  env: DeployEnv;
  /** Where the actions go: `store.dispatch`. */
  dispatch(action: Action): void;
  /** devenv.yaml's services (name + manifests): maps workloads to services by dev.devenv/source. */
  services?: readonly ServiceSource[];
  /** Namespaces whose events to watch besides the labelled ones and those holding project objects. */
  namespaces?: readonly string[];
  /** Follow the logs of every container of the project's pods into this sink (`store.sink`). */
  onLog?(e: LogEvent): void;
  /**
   * History when a container's log is first followed: the last `tailLines` lines (default
   * 100; -1 = all) or the lines of the last `sinceSeconds`.
   */
  logs?: { tailLines?: number; sinceSeconds?: number };
  /** Follow the logs of these services only (default: every service). */
  logsOf?(service: string): boolean;
  /** Watch nodes / events (default true; `devenv logs -f` needs neither). */
  nodes?: boolean;
  events?: boolean;
  /** A watch or log stream failed (it is retried); for a notice, never thrown. */
  onError?(what: string, err: unknown, retryMs?: number): void;
  signal?: AbortSignal;
  /** Reconnect backoff of the watches (tests shorten it). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface ProjectWatch {
  /** Settles once every watch delivered its first list (the store then shows the cluster as it is). */
  readonly synced: Promise<void>;
  /** Per collection ("pods", "nodes", "events/<ns>", "deployments", ...). */
  stats(): Record<string, CollectionStats>;
  /** The log follower, when `onLog` was given. */
  readonly logs: LogFollower | undefined;
  /** Live workloads of a service, as last reported by the watches. */
  workloadsOf(service: string): WorkloadRef[];
  /** Stops every watch and log stream (idempotent). */
  stop(): Promise<void>;
}

/** Workload collections watched (apps/v1 and batch/v1), with their kinds. */
const WORKLOADS: ReadonlyArray<{ kind: string; path: string }> = [
  { kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' },
  { kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets' },
  { kind: 'Job', path: '/apis/batch/v1/jobs' },
  { kind: 'CronJob', path: '/apis/batch/v1/cronjobs' },
];

/** Pods that map to no service are shown under this name. */
export const OTHER_SERVICE = '(other)';

export function watchProject(opts: WatchProjectOptions): ProjectWatch {
  const { client, dispatch } = opts;
  const selector = ownerSelector(opts.project, opts.env);
  const configured = opts.services ?? [];
  const watches = new Map<string, CollectionWatch>();
  let stopped = false;

  const follower = opts.onLog
    ? createLogFollower({
        client,
        onLog: opts.onLog,
        ...(opts.logs?.sinceSeconds ? {} : { tailLines: opts.logs?.tailLines ?? 100 }),
        ...(opts.logs?.sinceSeconds ? { sinceSeconds: opts.logs.sinceSeconds } : {}),
        onError: (where, err) => opts.onError?.(`logs ${where}`, err),
      })
    : undefined;

  const add = <T extends { metadata: ObjectMeta }>(
    name: string,
    path: string,
    labelSelector: string | undefined,
    onUpsert: (o: T) => void,
    onDelete: (o: T) => void,
  ) => {
    const w = watchCollection<T>({
      client,
      path,
      ...(labelSelector ? { labelSelector } : {}),
      onUpsert: (o) => {
        if (!stopped) onUpsert(o);
      },
      onDelete: (o) => {
        if (!stopped) onDelete(o);
      },
      onError: (err, retryMs) => opts.onError?.(`watch ${name}`, err, retryMs),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
    watches.set(name, w);
    return w;
  };

  // ---- workloads → services
  const workloads = new Map<string, WorkloadJson>();
  let refs: WorkloadRef[] = [];
  const summaries = new Map<string, string>();
  let workloadsSynced = false;
  const wkey = (kind: string, m: ObjectMeta) => `${kind}/${m.namespace ?? ''}/${m.name}`;

  const publishServices = () => {
    if (!workloadsSynced) return;
    const byService = new Map<string, WorkloadJson[]>();
    for (const s of configured) byService.set(s.name, []);
    const list = [...workloads.values()];
    list.forEach((w, i) => {
      const svc = refs[i]?.service ?? OTHER_SERVICE;
      if (!byService.has(svc)) byService.set(svc, []);
      byService.get(svc)!.push(w);
    });
    for (const [name, ws] of byService) {
      const summary: Pick<ServiceState, 'name'> & Partial<ServiceState> = serviceSummary(name, ws);
      const text = JSON.stringify(summary);
      if (summaries.get(name) === text) continue;
      summaries.set(name, text);
      dispatch(act.service(summary));
    }
    for (const name of [...summaries.keys()]) {
      if (byService.has(name)) continue;
      summaries.delete(name);
      dispatch(act.serviceDelete(name));
    }
  };

  // ---- pods
  const pods = new Map<string, PodJson>();
  const podService = new Map<string, string>();
  const pkey = (m: ObjectMeta) => `${m.namespace ?? ''}/${m.name}`;
  const followLogs = (pod: PodJson, service: string) => {
    if (!follower) return;
    if (!opts.logsOf || opts.logsOf(service)) follower.update(pod, service);
    else follower.remove(pod.metadata.namespace ?? '', pod.metadata.name); // (its service changed)
  };
  const upsertPod = (pod: PodJson) => {
    const key = pkey(pod.metadata);
    pods.set(key, pod);
    const service = serviceOfPod(pod, refs) ?? OTHER_SERVICE;
    podService.set(key, service);
    dispatch(act.pod(podToInfo(pod, service)));
    followLogs(pod, service);
    noteNamespace(pod.metadata.namespace);
  };
  const deletePod = (pod: PodJson) => {
    const key = pkey(pod.metadata);
    pods.delete(key);
    podService.delete(key);
    dispatch(act.podDelete(pod.metadata.namespace ?? '', pod.metadata.name));
    follower?.remove(pod.metadata.namespace ?? '', pod.metadata.name);
  };

  const workloadsChanged = () => {
    const list = [...workloads.values()];
    refs = workloadRefs(list, configured, { fallback: true });
    // Pods first seen before their workload get their service now.
    for (const [key, pod] of pods) {
      const service = serviceOfPod(pod, refs) ?? OTHER_SERVICE;
      if (podService.get(key) === service) continue;
      podService.set(key, service);
      dispatch(act.pod(podToInfo(pod, service)));
      followLogs(pod, service);
    }
    publishServices();
  };

  // ---- events, per namespace
  const nsSources = { labelled: new Set<string>(), objects: new Set<string>() };
  const eventWatches = new Map<string, CollectionWatch>();
  const onEvent = (e: EventJson) => {
    const ev = eventToKubeEvent(e, Date.now());
    if (ev) dispatch(act.event(ev));
  };
  const syncEventWatches = () => {
    if (stopped || opts.events === false) return;
    const wanted = new Set<string>([...(opts.namespaces ?? []), ...nsSources.labelled, ...nsSources.objects]);
    for (const ns of wanted) {
      if (eventWatches.has(ns) || !ns) continue;
      eventWatches.set(
        ns,
        add<EventJson>(
          `events/${ns}`,
          `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
          undefined,
          onEvent,
          () => undefined, // an event that expired stays in the store until evicted
        ),
      );
    }
    for (const [ns, w] of eventWatches) {
      if (wanted.has(ns)) continue;
      eventWatches.delete(ns);
      watches.delete(`events/${ns}`);
      void w.stop();
    }
  };
  function noteNamespace(ns: string | undefined) {
    if (!ns || nsSources.objects.has(ns)) return;
    nsSources.objects.add(ns);
    syncEventWatches();
  }

  // ---- start
  const workloadWatches = WORKLOADS.map(({ kind, path }) =>
    add<WorkloadJson>(
      kind.toLowerCase(),
      path,
      selector,
      (w) => {
        workloads.set(wkey(kind, w.metadata), { ...w, kind });
        noteNamespace(w.metadata.namespace);
        workloadsChanged();
      },
      (w) => {
        workloads.delete(wkey(kind, w.metadata));
        workloadsChanged();
      },
    ),
  );
  const podWatch = add<PodJson>('pods', '/api/v1/pods', selector, upsertPod, deletePod);
  const nodeWatch =
    opts.nodes === false
      ? undefined
      : add<NodeJson>(
          'nodes',
          '/api/v1/nodes',
          undefined,
          (n) => dispatch(act.node(nodeToInfo(n))),
          (n) => dispatch(act.nodeDelete(n.metadata.name)),
        );
  const nsWatch =
    opts.events === false
      ? undefined
      : add<{ metadata: ObjectMeta }>(
          'namespaces',
          '/api/v1/namespaces',
          selector,
          (n) => {
            if (n.metadata.deletionTimestamp) nsSources.labelled.delete(n.metadata.name);
            else nsSources.labelled.add(n.metadata.name);
            syncEventWatches();
          },
          (n) => {
            nsSources.labelled.delete(n.metadata.name);
            nsSources.objects.delete(n.metadata.name);
            syncEventWatches();
          },
        );
  syncEventWatches();

  void Promise.all(workloadWatches.map((w) => w.synced)).then(() => {
    workloadsSynced = true;
    if (!stopped) publishServices();
  });
  const synced = Promise.all([
    ...workloadWatches.map((w) => w.synced),
    podWatch.synced,
    nodeWatch?.synced,
    nsWatch?.synced,
  ]).then(async () => {
    // Event watches of the namespaces found by the lists above.
    await Promise.all([...eventWatches.values()].map((w) => w.synced));
  });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    opts.signal?.removeEventListener('abort', onAbort);
    follower?.stop();
    await Promise.all([...watches.values()].map((w) => w.stop()));
    watches.clear();
  };
  const onAbort = () => void stop();
  if (opts.signal?.aborted) void stop();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    synced,
    stats: () => Object.fromEntries([...watches].map(([k, w]) => [k, { ...w.stats }])),
    logs: follower,
    workloadsOf: (service) => refs.filter((r) => r.service === service),
    stop,
  };
}

/**
 * The pods of one service, listed once (no watch): the project's workloads and pods by the
 * owner labels, each pod mapped as `watchProject` maps it. Sorted by namespace and name.
 */
export async function listServicePods(
  client: KubeClient,
  opts: { project: string; env: DeployEnv; services: readonly ServiceSource[]; service: string },
): Promise<PodJson[]> {
  const query = { labelSelector: ownerSelector(opts.project, opts.env) };
  const lists = await Promise.all(
    WORKLOADS.map(async ({ kind, path }) => {
      const r = await client.request<{ items: WorkloadJson[] }>('GET', path, { query });
      return r.items.map((w) => ({ ...w, kind }));
    }),
  );
  const refs = workloadRefs(lists.flat(), opts.services, { fallback: true });
  const pods = await client.request<{ items: PodJson[] }>('GET', '/api/v1/pods', { query });
  return pods.items
    .filter((p) => (serviceOfPod(p, refs) ?? OTHER_SERVICE) === opts.service)
    .sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
}

/**
 * The project's live objects: list+watch (informer.ts) of its pods, its workloads, the
 * events of its namespaces and the cluster's nodes, reported as typed events
 * (types.ts WatchEvent) to `onObject`. It knows nothing of who consumes them: the
 * dashboard's store maps them to its actions (store/kube-feed.ts), `devenv logs -f` only
 * follows logs.
 *
 * Contract of `watchProject`:
 * - Pods: those carrying the project's owner labels (ownerSelector), cluster-wide, each
 *   with its service (attribution.ts serviceOfPod). When the workloads change, pods whose
 *   service changed are reported again (MODIFIED).
 * - Workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs with the owner labels):
 *   a `Services` event groups them by service (configured services without workloads
 *   included), once every kind was listed and after each change.
 * - Events: every event of the project's namespaces (labelled for the project, given by the
 *   caller, or holding project workloads/pods).
 * - Nodes: all nodes.
 * - Logs: with `onLog`, every container of the project's pods is followed (logstream.ts),
 *   under the pod's service (`logsOf` limits it to some services).
 * - Each collection is watched by informer.ts watchCollection (never polling; reconnects
 *   with backoff, resumes from the last resourceVersion, relists on 410 Gone).
 * - `stop()` (or the abort signal) stops every watch and log stream; nothing is left open,
 *   and nothing is reported after it.
 *
 * Only src/kube imports @kubernetes/client-node.
 */
import type { LogEvent } from '../events.ts';
import { type DeployEnv, ownerSelector } from '../manifests/types.ts';
import { type ServiceSource, serviceOfPod, type WorkloadRef, workloadRefs } from './attribution.ts';
import type { KubeClient } from './client.ts';
import { type CollectionStats, type CollectionWatch, watchCollection } from './informer.ts';
import { createLogFollower, type LogFollower } from './logstream.ts';
import type {
  EventJson,
  NodeJson,
  ObjectEventType,
  ObjectMeta,
  PodJson,
  WatchEvent,
  WorkloadJson,
} from './types.ts';

export interface WatchProjectOptions {
  client: KubeClient;
  project: string;
  env: DeployEnv;
  /** Where the objects go (the dashboard: store/kube-feed.ts). */
  onObject?(e: WatchEvent): void;
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
  /** Settles once every watch delivered its first list (every object reported once). */
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

/** Starts one collection watch; `name` keys its stats. */
type AddWatch = <T extends { metadata: ObjectMeta }>(
  name: string,
  path: string,
  labelSelector: string | undefined,
  onObject: (type: ObjectEventType, o: T) => void,
) => CollectionWatch;

export function watchProject(opts: WatchProjectOptions): ProjectWatch {
  const selector = ownerSelector(opts.project, opts.env);
  const watches = new Map<string, CollectionWatch>();
  let stopped = false;
  const emit = (e: WatchEvent) => {
    if (!stopped) opts.onObject?.(e);
  };
  const add = collectionAdder(opts, watches, () => stopped);
  const follower = opts.onLog ? logFollower(opts, opts.onLog) : undefined;
  const events = opts.events === false ? undefined : eventWatches(opts, add, watches, emit, () => stopped);
  const services = serviceTracker(opts.services ?? [], emit, (type, pod, service) => {
    if (type === 'DELETED') follower?.remove(pod.metadata.namespace ?? '', pod.metadata.name);
    else if (!follower) return;
    else if (!opts.logsOf || opts.logsOf(service)) follower.update(pod, service);
    else follower.remove(pod.metadata.namespace ?? '', pod.metadata.name); // (its service changed)
  });

  const workloadWatches = WORKLOADS.map(({ kind, path }) =>
    add<WorkloadJson>(kind.toLowerCase(), path, selector, (type, w) => {
      if (type !== 'DELETED') events?.noteNamespace(w.metadata.namespace);
      services.workload(type, kind, w);
    }),
  );
  const podWatch = add<PodJson>('pods', '/api/v1/pods', selector, (type, p) => {
    services.pod(type, p);
    if (type !== 'DELETED') events?.noteNamespace(p.metadata.namespace);
  });
  const nodeWatch =
    opts.nodes === false
      ? undefined
      : add<NodeJson>('nodes', '/api/v1/nodes', undefined, (type, object) =>
          emit({ kind: 'Node', type, object }),
        );
  events?.start(selector);

  void Promise.all(workloadWatches.map((w) => w.synced)).then(() => {
    if (!stopped) services.workloadsListed();
  });
  const synced = Promise.all([
    ...workloadWatches.map((w) => w.synced),
    podWatch.synced,
    nodeWatch?.synced,
    events?.namespacesSynced(),
  ]).then(async () => {
    // Event watches of the namespaces found by the lists above.
    await events?.eventsSynced();
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
    workloadsOf: (service) => services.refs().filter((r) => r.service === service),
    stop,
  };
}

/** Starts watches that report nothing once `isStopped()`, kept in `watches` by name. */
function collectionAdder(
  opts: WatchProjectOptions,
  watches: Map<string, CollectionWatch>,
  isStopped: () => boolean,
): AddWatch {
  return <T extends { metadata: ObjectMeta }>(
    name: string,
    path: string,
    labelSelector: string | undefined,
    onObject: (type: ObjectEventType, o: T) => void,
  ) => {
    const w = watchCollection<T>({
      client: opts.client,
      path,
      ...(labelSelector ? { labelSelector } : {}),
      onObject: (type, o) => {
        if (!isStopped()) onObject(type, o);
      },
      onError: (err, retryMs) => opts.onError?.(`watch ${name}`, err, retryMs),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
    watches.set(name, w);
    return w;
  };
}

function logFollower(opts: WatchProjectOptions, onLog: (e: LogEvent) => void): LogFollower {
  return createLogFollower({
    client: opts.client,
    onLog,
    ...(opts.logs?.sinceSeconds ? {} : { tailLines: opts.logs?.tailLines ?? 100 }),
    ...(opts.logs?.sinceSeconds ? { sinceSeconds: opts.logs.sinceSeconds } : {}),
    onError: (where, err) => opts.onError?.(`logs ${where}`, err),
  });
}

/**
 * The project's workloads and pods as last reported, and the service of each: reports each
 * pod with its service (again when a workload change moved it), and the workloads grouped
 * by service once every workload kind was listed. `podChanged` sees every pod report (the
 * log follower).
 */
function serviceTracker(
  configured: readonly ServiceSource[],
  emit: (e: WatchEvent) => void,
  podChanged: (type: ObjectEventType, pod: PodJson, service: string) => void,
) {
  const workloads = new Map<string, WorkloadJson>();
  let refs: WorkloadRef[] = [];
  let listed = false;
  const pods = new Map<string, PodJson>();
  const podService = new Map<string, string>();
  const pkey = (m: ObjectMeta) => `${m.namespace ?? ''}/${m.name}`;

  const reportPod = (type: ObjectEventType, pod: PodJson, service: string) => {
    emit({ kind: 'Pod', type, object: pod, service });
    podChanged(type, pod, service);
  };
  const publishServices = () => {
    if (!listed) return;
    const byService = new Map<string, WorkloadJson[]>();
    for (const s of configured) byService.set(s.name, []);
    [...workloads.values()].forEach((w, i) => {
      const svc = refs[i]?.service ?? OTHER_SERVICE;
      if (!byService.has(svc)) byService.set(svc, []);
      byService.get(svc)!.push(w);
    });
    emit({ kind: 'Services', workloads: byService });
  };
  const workloadsChanged = () => {
    refs = workloadRefs([...workloads.values()], configured, { fallback: true });
    // Pods first seen before their workload get their service now.
    for (const [key, pod] of pods) {
      const service = serviceOfPod(pod, refs) ?? OTHER_SERVICE;
      if (podService.get(key) === service) continue;
      podService.set(key, service);
      reportPod('MODIFIED', pod, service);
    }
    publishServices();
  };

  return {
    refs: () => refs,
    workload(type: ObjectEventType, kind: string, w: WorkloadJson) {
      const key = `${kind}/${w.metadata.namespace ?? ''}/${w.metadata.name}`;
      if (type === 'DELETED') workloads.delete(key);
      else workloads.set(key, { ...w, kind });
      workloadsChanged();
    },
    pod(type: ObjectEventType, pod: PodJson) {
      const key = pkey(pod.metadata);
      if (type === 'DELETED') {
        pods.delete(key);
        const service = podService.get(key) ?? OTHER_SERVICE;
        podService.delete(key);
        reportPod(type, pod, service);
        return;
      }
      pods.set(key, pod);
      const service = serviceOfPod(pod, refs) ?? OTHER_SERVICE;
      podService.set(key, service);
      reportPod(type, pod, service);
    },
    /** Every workload kind delivered its first list: the groups can be told. */
    workloadsListed() {
      listed = true;
      publishServices();
    },
  };
}

/**
 * The event watches, one per namespace of the project: those labelled for it (a watch of
 * the namespaces), those the caller names, and those holding its workloads or pods.
 */
function eventWatches(
  opts: WatchProjectOptions,
  add: AddWatch,
  watches: Map<string, CollectionWatch>,
  emit: (e: WatchEvent) => void,
  isStopped: () => boolean,
) {
  const labelled = new Set<string>();
  const holding = new Set<string>();
  const perNamespace = new Map<string, CollectionWatch>();
  let nsWatch: CollectionWatch | undefined;

  const sync = () => {
    if (isStopped()) return;
    const wanted = new Set<string>([...(opts.namespaces ?? []), ...labelled, ...holding]);
    for (const ns of wanted) {
      if (perNamespace.has(ns) || !ns) continue;
      const w = add<EventJson>(
        `events/${ns}`,
        `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
        undefined,
        (type, object) => emit({ kind: 'Event', type, object }),
      );
      perNamespace.set(ns, w);
    }
    for (const [ns, w] of perNamespace) {
      if (wanted.has(ns)) continue;
      perNamespace.delete(ns);
      watches.delete(`events/${ns}`);
      void w.stop();
    }
  };

  return {
    noteNamespace(ns: string | undefined) {
      if (!ns || holding.has(ns)) return;
      holding.add(ns);
      sync();
    },
    start(selector: string) {
      nsWatch = add<{ metadata: ObjectMeta }>('namespaces', '/api/v1/namespaces', selector, (type, n) => {
        if (type === 'DELETED') {
          labelled.delete(n.metadata.name);
          holding.delete(n.metadata.name);
        } else if (n.metadata.deletionTimestamp) labelled.delete(n.metadata.name);
        else labelled.add(n.metadata.name);
        sync();
      });
      sync();
    },
    namespacesSynced: () => nsWatch?.synced,
    eventsSynced: () => Promise.all([...perNamespace.values()].map((w) => w.synced)),
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

/**
 * The dashboard's model of live Kubernetes objects: pure mappings from the objects a watch
 * or a list delivers (kube/types.ts) to the store's vocabulary (state.ts): Pod → PodInfo
 * (a pod row), Event → KubeEvent, Node → NodeInfo, a service's workloads → its row.
 *
 * Contract:
 * - No I/O, no clock (times come from the objects, or from the `now` argument), no
 *   client: every function is unit-tested on JSON fixtures (test/fixtures/kube/*.json),
 *   in the spirit of k9s / `kubectl get pods`. Which service an object belongs to is
 *   decided before (kube/attribution.ts) and given.
 * - The pod "reason" follows `kubectl get pods` (printPod): the first container's waiting
 *   reason, else its terminated reason (or Signal:N / ExitCode:N), init containers as
 *   "Init:<reason>" / "Init:i/n", "Terminating" once deleted. One deliberate difference:
 *   a CrashLoopBackOff whose last run was OOMKilled reports "OOMKilled", because that says
 *   WHY it loops (the restart count already says that it does).
 */
import type { EventJson, NodeJson, PodJson, WorkloadJson } from '../kube/types.ts';
import type { KubeEvent, NodeInfo, PodInfo, PodPhase, ServiceState } from './state.ts';

// ---------------------------------------------------------------- pods

const PHASES: ReadonlySet<string> = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

/** The live pod as the dashboard shows it; `service` is decided by the caller (kube/attribution.ts serviceOfPod). */
export function podToInfo(pod: PodJson, service: string): PodInfo {
  const phase =
    pod.status?.phase && PHASES.has(pod.status.phase) ? (pod.status.phase as PodPhase) : 'Unknown';
  const info: PodInfo = {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? '',
    service,
    phase,
    ready: conditionTrue(pod.status?.conditions, 'Ready'),
    restarts: podRestarts(pod),
  };
  const reason = podReason(pod);
  if (reason) info.reason = reason;
  if (pod.spec?.nodeName) info.node = pod.spec.nodeName;
  const started = time(pod.status?.startTime);
  if (started !== undefined) info.startedAt = started;
  return info;
}

/** Restarts of every container, init containers included (as `kubectl get pods` counts them). */
export function podRestarts(pod: PodJson): number {
  let n = 0;
  for (const c of pod.status?.initContainerStatuses ?? []) n += c.restartCount ?? 0;
  for (const c of pod.status?.containerStatuses ?? []) n += c.restartCount ?? 0;
  return n;
}

/**
 * Why the pod is not simply Running/Succeeded, kubectl-style; undefined when there is
 * nothing to say beyond the phase (a running pod, ready or still starting its probes).
 */
export function podReason(pod: PodJson): string | undefined {
  const st = pod.status ?? {};
  if (pod.metadata.deletionTimestamp) return st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  let reason: string | undefined = st.reason; // Evicted, NodeLost, Shutdown, ...

  // Init containers run one after the other; the first one not done explains the wait.
  const inits = st.initContainerStatuses ?? [];
  const sidecars = new Set(
    (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
  );
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]!;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) continue;
    // A native sidecar (restartPolicy Always) that runs and started is done initialising.
    if (sidecars.has(c.name) && c.started) continue;
    initializing = true;
    const w = c.state?.waiting;
    if (t) reason = `Init:${t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? '?'}`)}`;
    else if (w?.reason && w.reason !== 'PodInitializing') reason = `Init:${w.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? inits).length}`;
    break;
  }

  if (!initializing) {
    let hasRunning = false;
    let containerReason: string | undefined;
    for (const c of st.containerStatuses ?? []) {
      const w = c.state?.waiting;
      const t = c.state?.terminated;
      let r: string | undefined;
      if (w?.reason) {
        r =
          w.reason === 'CrashLoopBackOff' && c.lastState?.terminated?.reason === 'OOMKilled'
            ? 'OOMKilled'
            : w.reason;
      } else if (t) {
        r = t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? '?'}`);
      } else if (c.state?.running && c.ready) {
        hasRunning = true;
      }
      // The first container with something to say wins (kubectl's reverse loop, same result).
      if (r && containerReason === undefined) containerReason = r;
    }
    if (containerReason !== undefined) reason = containerReason;
    // A pod whose main container completed while a sidecar still runs is running.
    if (reason === 'Completed' && hasRunning) reason = undefined;
  }

  if (!reason && st.phase === 'Pending') {
    const sched = st.conditions?.find((c) => c.type === 'PodScheduled');
    if (sched?.status === 'False' && sched.reason) reason = sched.reason; // Unschedulable
  }
  if (!reason && st.phase === 'Succeeded') reason = 'Completed';
  if (!reason && st.phase === 'Failed') reason = 'Error';
  return reason || undefined;
}

// ---------------------------------------------------------------- events and nodes

/**
 * A core/v1 Event (or an events.k8s.io/v1 one) as a KubeEvent; undefined when it names no
 * object. `now` stands in for events that carry no time at all.
 */
export function eventToKubeEvent(ev: EventJson, now = 0): KubeEvent | undefined {
  const obj = ev.involvedObject ?? ev.regarding;
  if (!obj?.name) return undefined;
  const lastSeen =
    time(ev.series?.lastObservedTime) ??
    time(ev.lastTimestamp) ??
    time(ev.deprecatedLastTimestamp) ??
    time(ev.eventTime) ??
    time(ev.firstTimestamp) ??
    time(ev.metadata.creationTimestamp) ??
    now;
  const out: KubeEvent = {
    type: ev.type === 'Warning' ? 'Warning' : 'Normal',
    reason: ev.reason ?? '',
    object: `${(obj.kind ?? 'object').toLowerCase()}/${obj.name}`,
    message: (ev.message ?? ev.note ?? '').trim(),
    count: Math.max(1, ev.count ?? ev.series?.count ?? ev.deprecatedCount ?? 1),
    lastSeen,
  };
  if (ev.metadata.uid) out.uid = ev.metadata.uid;
  const ns = obj.namespace ?? ev.metadata.namespace;
  if (ns) out.namespace = ns;
  return out;
}

export const ROLE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** Server when labelled control-plane (or the legacy master); every other node is an agent. */
export function nodeToInfo(node: NodeJson): NodeInfo {
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name,
    role: ROLE_LABELS.some((l) => l in labels) ? 'server' : 'agent',
    ready: conditionTrue(node.status?.conditions, 'Ready'),
  };
}

// ---------------------------------------------------------------- services

/** Display order of a service's workloads: the long-running ones first. */
const KIND_RANK: Readonly<Record<string, number>> = {
  Deployment: 0,
  StatefulSet: 1,
  DaemonSet: 2,
  Job: 3,
  CronJob: 4,
};

/** Kinds whose pods run for good (replicas that are counted as desired/ready). */
const LONG_RUNNING: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * The dashboard's row of a service from its live workloads: replicas desired/ready, a
 * workload-level status, the creation time and the image tag of its first container.
 * Restarts and nodes are left to the pods (the view derives them from the pod list).
 *   status: "Running" (all rolled out and ready), "Progressing", "Degraded" (a Deployment
 *   that is not Available or exceeded its progress deadline), "Scaled to 0", "Completed" /
 *   "Failed" / "Active" (Jobs only), "Scheduled" (CronJobs only), "Not deployed" (none).
 */
export function serviceSummary(
  name: string,
  workloads: readonly WorkloadJson[],
): Pick<ServiceState, 'name' | 'namespace' | 'desired' | 'ready' | 'status'> &
  Partial<Pick<ServiceState, 'createdAt' | 'imageTag'>> {
  const rank = (w: WorkloadJson) => KIND_RANK[w.kind ?? ''] ?? 9;
  const sorted = [...workloads].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const out: ReturnType<typeof serviceSummary> = {
    name,
    namespace: sorted[0]?.metadata.namespace ?? '',
    desired: 0,
    ready: 0,
    status: 'Not deployed',
  };
  if (sorted.length === 0) return out;
  let progressing = false;
  let degraded = false;
  let longRunning = 0;
  for (const w of sorted) {
    const kind = w.kind ?? '';
    if (!LONG_RUNNING.has(kind)) continue;
    longRunning++;
    const s = w.status ?? {};
    const desired = kind === 'DaemonSet' ? (s.desiredNumberScheduled ?? 0) : (w.spec?.replicas ?? 1);
    const ready = kind === 'DaemonSet' ? (s.numberReady ?? 0) : (s.readyReplicas ?? 0);
    const updated = kind === 'DaemonSet' ? (s.updatedNumberScheduled ?? 0) : (s.updatedReplicas ?? 0);
    out.desired += desired;
    out.ready += ready;
    const stale = w.metadata.generation !== undefined && (s.observedGeneration ?? 0) < w.metadata.generation;
    if (stale || updated < desired || ready < desired || (s.replicas ?? desired) > desired)
      progressing = true;
    const cond = (t: string) => s.conditions?.find((c) => c.type === t);
    if (cond('Progressing')?.reason === 'ProgressDeadlineExceeded') degraded = true;
    if (kind === 'Deployment' && cond('Available')?.status === 'False' && desired > 0) degraded = true;
  }
  if (longRunning > 0) {
    out.status = degraded
      ? 'Degraded'
      : progressing
        ? 'Progressing'
        : out.desired === 0
          ? 'Scaled to 0'
          : 'Running';
  } else {
    const first = sorted[0]!;
    const s = first.status ?? {};
    if (first.kind === 'CronJob') out.status = first.spec?.suspend ? 'Suspended' : 'Scheduled';
    else if (s.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) out.status = 'Failed';
    else if (s.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))
      out.status = 'Completed';
    else out.status = 'Active';
  }
  const created = sorted.map((w) => time(w.metadata.creationTimestamp)).filter((t) => t !== undefined);
  if (created.length > 0) out.createdAt = Math.min(...created);
  const spec = sorted[0]!.spec;
  const image = (spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec)?.containers?.[0]?.image;
  const tag = image ? imageTag(image) : undefined;
  if (tag) out.imageTag = tag;
  return out;
}

/** The tag of an image reference ("reg:5000/a/b:tag@sha256:..." → "tag"); undefined without one. */
export function imageTag(ref: string): string | undefined {
  const noDigest = ref.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : undefined;
}

// ---------------------------------------------------------------- helpers

function conditionTrue(
  conditions: ReadonlyArray<{ type: string; status: string }> | undefined,
  type: string,
) {
  return conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/** Epoch ms of an RFC 3339 time; undefined when absent or unparsable. */
export function time(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

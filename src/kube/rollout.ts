/**
 * Rollout wait: Deployments, StatefulSets and DaemonSets until their new pods are ready,
 * Jobs until they succeed, with progress events. The readiness rules are kubectl's
 * (`kubectl rollout status`): the controller has seen the new generation, every replica
 * runs the new template, old replicas are gone, new ones are available.
 *
 * When a rollout cannot succeed, the error says why, from the pods of the NEW revision:
 *   - ImagePullBackOff / ErrImagePull / InvalidImageName: the image, and the kubelet's message;
 *   - CrashLoopBackOff: the exit code and the last log lines of the crashing container
 *     (its previous instance, read through the API);
 *   - CreateContainerConfigError: the missing Secret / ConfigMap key, as the kubelet says;
 *   - at the timeout: a failing readiness probe (from the pod's events), Unschedulable
 *     (the scheduler's message), or what the pods are still waiting for.
 * Those failures are reported as soon as they are certain, not at the timeout.
 */

import type { EventSink } from '../engine/events.ts';
import { DevenvError } from '../errors.ts';
import { describeObject, type KubeObject } from '../manifests/types.ts';
import type { KubeClient } from './client.ts';
import { readLogs } from './logs.ts';
import { type LiveObject, mapLimit, readObject, sleep } from './objects.ts';

export const ROLLOUT_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

export interface RolloutOptions {
  client: KubeClient;
  /** Objects (rendered or plain); those of ROLLOUT_KINDS are waited for, the rest ignored. */
  objects: ReadonlyArray<KubeObject | { object: KubeObject }>;
  /** Overall limit (default 300 s). */
  timeoutMs?: number;
  pollMs?: number;
  /** Log lines shown for a crashing container (default 20). */
  logLines?: number;
  /**
   * A problem that is not certain by itself (ErrImagePull, CreateContainerConfigError,
   * Unschedulable) fails the rollout once it has lasted this long (default 60 s).
   */
  stuckMs?: number;
  /**
   * Deployments: done as soon as every pod of the new revision is ready, without waiting
   * for the old pods to finish terminating (what a reload means by "the new pod serves";
   * `kubectl rollout status` also waits for the old ones). Default false.
   */
  newPodsReady?: boolean;
  /**
   * How long a container WITHOUT a readiness probe must have run, unrestarted, to count
   * as up (default 2 s; with a probe, 0.5 s). Catches apps that crash right after start.
   */
  settleMs?: number;
  /** Step id of a workload's events (default "rollout:<namespace>/<name>"). */
  stepId?: (o: { kind: string; namespace: string; name: string }) => string;
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export interface RolloutResult {
  /** describeObject() of each workload that became ready. */
  ready: string[];
  ms: number;
}

// ---------------------------------------------------------------- status (pure)

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface WorkloadStatus {
  done: boolean;
  /** Set when the workload itself reports failure (Job failed, progress deadline exceeded). */
  failed?: string;
  message: string;
}

type Live = LiveObject & {
  spec?: Record<string, unknown> & {
    replicas?: number;
    completions?: number;
    selector?: LabelSelector;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: Record<string, unknown> & { observedGeneration?: number; conditions?: Condition[] };
};

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** kubectl's rollout status rules, over a live object. */
export function workloadStatus(o: Live, opts: { newPodsReady?: boolean } = {}): WorkloadStatus {
  const s = o.status ?? {};
  const spec = o.spec ?? {};
  const generation = o.metadata.generation ?? 0;
  const conditions = s.conditions ?? [];
  if (o.kind === 'Job') {
    const failed = conditions.find(
      (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
    );
    if (failed)
      return {
        done: false,
        failed: `Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
        message: 'failed',
      };
    if (
      conditions.some(
        (c) => (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') && c.status === 'True',
      )
    ) {
      return { done: true, message: 'complete' };
    }
    const completions = spec.completions ?? 1;
    if (num(s.succeeded) >= completions) return { done: true, message: 'complete' };
    return {
      done: false,
      message: `${num(s.succeeded)} of ${completions} completed, ${num(s.active)} running, ${num(s.failed)} failed`,
    };
  }
  if (generation > num(s.observedGeneration)) {
    return { done: false, message: 'waiting for the controller to see the new spec' };
  }
  if (o.kind === 'Deployment') {
    const progressing = conditions.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return {
        done: false,
        failed: `progress deadline exceeded: ${progressing.message ?? ''}`.trim(),
        message: 'failed',
      };
    }
    const want = spec.replicas ?? 1;
    const updated = num(s.updatedReplicas);
    if (updated < want) return { done: false, message: `${updated} of ${want} replicas updated` };
    // With newPodsReady the pods of the new revision are checked one by one by the caller
    // (availableReplicas also counts old pods, so it cannot say the new ones are ready).
    if (opts.newPodsReady) return { done: true, message: `${updated} of ${want} replicas updated` };
    if (num(s.replicas) > updated) {
      return { done: false, message: `${num(s.replicas) - updated} old replicas pending termination` };
    }
    if (num(s.availableReplicas) < updated) {
      return { done: false, message: `${num(s.availableReplicas)} of ${updated} updated replicas available` };
    }
    return { done: true, message: `${updated} of ${want} replicas ready` };
  }
  if (o.kind === 'StatefulSet') {
    if (spec.updateStrategy?.type === 'OnDelete') return { done: true, message: 'OnDelete update strategy' };
    const want = spec.replicas ?? 1;
    const ready = num(s.readyReplicas);
    if (ready < want) return { done: false, message: `${ready} of ${want} replicas ready` };
    const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (partition > 0) {
      return num(s.updatedReplicas) < want - partition
        ? { done: false, message: `${num(s.updatedReplicas)} of ${want - partition} replicas updated` }
        : { done: true, message: `partitioned rollout: ${num(s.updatedReplicas)} updated` };
    }
    if (s.updateRevision !== s.currentRevision) {
      return { done: false, message: `${num(s.updatedReplicas)} of ${want} replicas updated` };
    }
    return { done: true, message: `${ready} of ${want} replicas ready` };
  }
  if (o.kind === 'DaemonSet') {
    const want = num(s.desiredNumberScheduled);
    if (num(s.updatedNumberScheduled) < want) {
      return { done: false, message: `${num(s.updatedNumberScheduled)} of ${want} updated pods scheduled` };
    }
    if (num(s.numberAvailable) < want)
      return { done: false, message: `${num(s.numberAvailable)} of ${want} pods available` };
    return { done: true, message: `${want} of ${want} pods available` };
  }
  return { done: true, message: 'nothing to wait for' };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function selectorString(sel: LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

// ---------------------------------------------------------------- pods (pure)

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; message?: string; exitCode?: number };
}

interface ContainerStatus {
  name: string;
  image: string;
  ready: boolean;
  restartCount: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface LivePod {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ uid: string }>;
  };
  spec?: {
    containers?: Array<{ name: string; image?: string; readinessProbe?: unknown }>;
    initContainers?: Array<{ name: string; image?: string }>;
  };
  status?: {
    phase?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface PodProblem {
  pod: string;
  container?: string;
  reason: string;
  /** One line, for the error message. */
  summary: string;
  /** The kubelet's or scheduler's words. */
  message?: string;
  image?: string;
  restarts?: number;
  exitCode?: number;
  /** Certain failure: report now rather than at the timeout. */
  fatal: boolean;
  /** Read the log of the crashed instance. */
  logs?: { container: string; previous: boolean };
}

const PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** What is wrong with a pod, container by container (init containers first). */
export function podProblems(pod: LivePod): PodProblem[] {
  const out: PodProblem[] = [];
  const name = pod.metadata.name;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const w = c.state?.waiting;
    const reason = w?.reason ?? '';
    if (PULL.has(reason)) {
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" cannot pull image "${c.image}" (${reason})`,
        ...(w?.message ? { message: w.message } : {}),
        image: c.image,
        fatal: reason !== 'ErrImagePull',
      });
    } else if (reason === 'CrashLoopBackOff') {
      // Crashed at least twice, kubelet backing off: the previous instance has the story.
      const last = c.lastState?.terminated;
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" keeps crashing (CrashLoopBackOff${last?.exitCode !== undefined ? `, exit code ${last.exitCode}` : ''}, ${c.restartCount} restart${c.restartCount === 1 ? '' : 's'})`,
        ...(last?.message ? { message: last.message.trim() } : {}),
        restarts: c.restartCount,
        ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
        fatal: true,
        logs: { container: c.name, previous: c.restartCount > 0 },
      });
    } else if (CONFIG.has(reason)) {
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" cannot start (${reason})`,
        ...(w?.message ? { message: w.message } : {}),
        fatal: false,
      });
    } else if (c.state?.terminated && c.state.terminated.exitCode !== 0 && pod.status?.phase === 'Failed') {
      out.push({
        pod: name,
        container: c.name,
        reason: c.state.terminated.reason ?? 'Error',
        summary: `container "${c.name}" failed (exit code ${c.state.terminated.exitCode})`,
        ...(c.state.terminated.message ? { message: c.state.terminated.message.trim() } : {}),
        exitCode: c.state.terminated.exitCode ?? 1,
        fatal: false,
        logs: { container: c.name, previous: false },
      });
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    out.push({
      pod: name,
      reason: 'Unschedulable',
      summary: 'pod cannot be scheduled (Unschedulable)',
      ...(scheduled.message ? { message: scheduled.message } : {}),
      fatal: false,
    });
  }
  return out;
}

// ---------------------------------------------------------------- I/O

interface Workload {
  ref: { apiVersion: string; kind: string; namespace: string; name: string };
  what: string;
  id: string;
}

type Outcome = { ok: true } | { ok: false; error: string; lines: string[] };

export async function waitForRollouts(opts: RolloutOptions): Promise<RolloutResult> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  const emit = opts.onEvent ?? (() => undefined);
  const workloads: Workload[] = opts.objects
    .map((x): KubeObject => ('object' in x ? (x.object as KubeObject) : (x as KubeObject)))
    .filter((o) => ROLLOUT_KINDS.has(o.kind))
    .map((o) => {
      const ref = {
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.metadata.namespace ?? 'default',
        name: o.metadata.name,
      };
      return {
        ref,
        what: describeObject(ref),
        id: opts.stepId ? opts.stepId(ref) : `rollout:${ref.namespace}/${ref.name}`,
      };
    });

  const outcomes = await mapLimit(workloads, 16, async (w): Promise<Outcome> => {
    const started = performance.now();
    emit({ type: 'step', id: w.id, phase: 'start', detail: `waiting for ${w.what}` });
    const outcome = await waitOne(opts, w, deadline, timeoutMs, emit);
    const ms = Math.round(performance.now() - started);
    if (outcome.ok) emit({ type: 'step', id: w.id, phase: 'done', detail: `${w.what} ready`, ms });
    else
      emit({
        type: 'step',
        id: w.id,
        phase: 'fail',
        detail: w.what,
        error: outcome.error,
        lines: outcome.lines,
        ms,
      });
    return outcome;
  });

  const failed = outcomes.flatMap((o) => (o.ok ? [] : [o]));
  if (failed.length > 0) {
    const details = failed.flatMap((f, i) =>
      i === 0 ? f.lines : [f.error, ...f.lines.map((l) => `  ${l}`)],
    );
    throw new DevenvError(
      failed.length === 1
        ? failed[0]!.error
        : `${failed[0]!.error} (and ${failed.length - 1} more rollout${failed.length === 2 ? '' : 's'} failed)`,
      { details },
    );
  }
  return { ready: workloads.map((w) => w.what), ms: Math.round(performance.now() - t0) };
}

async function waitOne(
  opts: RolloutOptions,
  w: Workload,
  deadline: number,
  timeoutMs: number,
  emit: EventSink,
): Promise<Outcome> {
  const { client } = opts;
  // Most dev rollouts finish within seconds: poll fast at first (a save should show as soon
  // as the new pod is ready), then back off so a long wait stays light on a shared cluster.
  const started = Date.now();
  const slowPollMs = opts.pollMs ?? 1000;
  const pollEvery = (): number => (Date.now() - started < 15_000 ? Math.min(200, slowPollMs) : slowPollMs);
  const stuckMs = opts.stuckMs ?? 60_000;
  const firstSeen = new Map<string, number>();
  let lastMessage = '';
  const settleMs = opts.settleMs ?? 2000;
  /** "<pod>/<container>/<restartCount>" → when this wait first saw that instance running and ready. */
  const runningSince = new Map<string, number>();
  for (;;) {
    if (opts.signal?.aborted) return { ok: false, error: `${w.what}: rollout wait cancelled`, lines: [] };
    const live = (await readObject(client, w.ref)) as Live | undefined;
    if (!live) return { ok: false, error: `${w.what} does not exist (deleted while waiting?)`, lines: [] };
    const st = workloadStatus(live, { newPodsReady: opts.newPodsReady === true });
    if (st.done && live.kind === 'Job') return { ok: true };
    const pods = await currentPods(client, live);
    if (st.done) {
      // The controller's counters lag behind the pods, and a container without a readiness
      // probe is "ready" the moment it starts, so one that crashes right after starting
      // looks available for a while. Done means: every container of the new pods runs and
      // is ready, and has kept running (same instance) for 0.5 s when a readiness probe
      // vouches for it, `settleMs` (2 s) when nothing does.
      const now = Date.now();
      let wait = 0;
      // (No pods to look at, e.g. zero replicas: the controller's word is all there is.)
      let allRunning = true;
      for (const pod of pods) {
        const probed = new Set(
          (pod.spec?.containers ?? []).filter((c) => c.readinessProbe).map((c) => c.name),
        );
        const statuses = pod.status?.containerStatuses ?? [];
        if (statuses.length === 0) allRunning = false;
        for (const c of statuses) {
          if (!c.ready || c.state?.running === undefined) {
            allRunning = false;
            continue;
          }
          const k = `${pod.metadata.name}/${c.name}/${c.restartCount}`;
          const since = runningSince.get(k) ?? now;
          runningSince.set(k, since);
          wait = Math.max(wait, since + (probed.has(c.name) ? 500 : settleMs) - now);
        }
      }
      if (allRunning && wait <= 0) return { ok: true };
      if (allRunning) {
        await sleep(Math.min(wait, pollEvery()), opts.signal);
        continue;
      }
      st.message = 'containers of the new pods are restarting';
    }
    if (st.message !== lastMessage) {
      lastMessage = st.message;
      emit({ type: 'step', id: w.id, phase: 'progress', detail: `${w.what}: ${st.message}` });
    }
    const timedOut = Date.now() >= deadline;
    const problems = pods.flatMap(podProblems);
    const now = Date.now();
    const current = new Set<string>();
    for (const p of problems) {
      const k = `${p.pod}/${p.container ?? ''}/${p.reason}`;
      current.add(k);
      const since = firstSeen.get(k) ?? now;
      firstSeen.set(k, since);
      if (!p.fatal && now - since >= stuckMs) {
        p.fatal = true;
        p.summary = `${p.summary} for ${Math.round((now - since) / 1000)} s`;
      }
    }
    for (const k of firstSeen.keys()) if (!current.has(k)) firstSeen.delete(k);
    const fatal = problems.filter((p) => p.fatal);
    if (st.failed || fatal.length > 0 || timedOut) {
      const lines: string[] = [];
      let error: string;
      if (fatal.length > 0) error = `${w.what}: ${fatal[0]!.summary}`;
      else if (st.failed) error = `${w.what}: ${st.failed}`;
      else error = `${w.what} not ready after ${Math.round(timeoutMs / 1000)} s: ${st.message}`;
      const shown = fatal.length > 0 ? fatal : problems;
      for (const p of dedupe(shown).slice(0, 3)) {
        if (!(fatal.length > 0 && p === fatal[0])) lines.push(`${p.pod}: ${p.summary}`);
        if (p.message) lines.push(`${p.pod}: ${p.message}`);
        if (p.logs) {
          const text = await readLogs(client, w.ref.namespace, p.pod, p.logs.container, {
            tailLines: opts.logLines ?? 20,
            previous: p.logs.previous,
          }).catch((err: Error) => `(log unavailable: ${err.message})`);
          const logLines = text.replace(/\n$/, '').split('\n');
          lines.push(
            `last ${logLines.length} log line${logLines.length === 1 ? '' : 's'} of ${p.pod}/${p.logs.container}${p.logs.previous ? ' (previous run)' : ''}:`,
          );
          lines.push(...logLines.map((l) => `  | ${l}`));
        }
      }
      if (fatal.length === 0 && !st.failed) {
        // Timeout: what the pods' events say (failing probes, scheduling, pulls in progress).
        for (const pod of pods.slice(0, 3))
          lines.push(...(await podEventLines(client, w.ref.namespace, pod.metadata.name)));
        if (problems.length === 0 && pods.length === 0) lines.push('no pods of the new revision exist yet');
      }
      return { ok: false, error, lines };
    }
    await sleep(Math.min(pollEvery(), Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/** Every container runs and is ready. */
function dedupe(problems: PodProblem[]): PodProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.container}/${p.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The pods of the workload's NEW revision (old ones are being replaced; their state is history). */
async function currentPods(client: KubeClient, w: Live): Promise<LivePod[]> {
  const ns = w.metadata.namespace ?? 'default';
  const selector = selectorString(w.spec?.selector);
  if (!selector) return [];
  const list = await client.request<{ items: LivePod[] }>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`,
    {
      query: { labelSelector: selector },
    },
  );
  let pods = list.items.filter((p) => !p.metadata.deletionTimestamp);
  if (w.kind === 'Deployment') {
    const revision = w.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const rsList = await client.request<{ items: LiveObject[] }>(
      'GET',
      `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets`,
      {
        query: { labelSelector: selector },
      },
    );
    const rs = rsList.items.find(
      (r) =>
        r.metadata.ownerReferences?.some((o) => o.uid === w.metadata.uid) &&
        revision !== undefined &&
        r.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision,
    );
    if (!rs) return [];
    pods = pods.filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === rs.metadata.uid));
  } else if (w.kind === 'StatefulSet') {
    const rev = w.status?.updateRevision;
    if (typeof rev === 'string')
      pods = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === rev);
  } else {
    pods = pods.filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === w.metadata.uid));
  }
  return pods;
}

interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
}

/** Warning events of a pod, newest last, deduplicated: "Unhealthy: Readiness probe failed: ...". */
async function podEventLines(client: KubeClient, namespace: string, pod: string): Promise<string[]> {
  try {
    const list = await client.request<{ items: KubeEvent[] }>(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      {
        query: { fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod}` },
      },
    );
    const seen = new Set<string>();
    const out: string[] = [];
    for (const e of list.items) {
      if (e.type !== 'Warning') continue;
      const line = `${pod}: ${e.reason ?? 'Warning'}: ${(e.message ?? '').trim()}`;
      if (seen.has(line)) continue;
      seen.add(line);
      out.push(`${line}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`);
    }
    return out.slice(-5);
  } catch {
    return [];
  }
}

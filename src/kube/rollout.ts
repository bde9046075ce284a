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
 *
 * Noticing: each workload's object and its pods are WATCHED (two watch streams); any change
 * wakes the wait, which then reads the workload, its pods and ReplicaSets afresh and judges
 * them as before. A poll (1 s) remains as the safety net, and where a watch cannot be opened
 * (RBAC without `watch`, a proxy that drops long requests) or ends, the wait polls as it
 * did without watches (every 200 ms for the first 15 s, then every second).
 *
 * When is a container "up"? (the contract of `done`)
 *   - WITH a readiness probe: as soon as the kubelet reports it ready. The probe passed
 *     against THIS instance (same restart count) after it started, which is what the probe
 *     is for; waiting longer would only delay every reload. A crash after that is a later
 *     failure of a pod that did serve (`kubectl rollout status` does not wait for it either).
 *   - WITHOUT one: the kubelet calls it ready the moment the process starts, so it must
 *     keep running, same instance, for `settleMs` (2 s): an app that dies at once (missing
 *     setting, bad import) is then reported as failing, not as rolled out.
 */

import { DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { describeObject, type KubeObject } from '../manifests/types.ts';
import type { KubeClient } from './client.ts';
import { readLogs } from './logs.ts';
import { type LiveObject, mapLimit, readObject } from './objects.ts';
import type { WorkloadJson } from './types.ts';

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
   * as up (default 2 s). Catches apps that crash right after start. A container WITH a
   * readiness probe counts as up once the kubelet reports it ready (see the contract above).
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

export interface WorkloadStatus {
  done: boolean;
  /**
   * The controller has not yet seen the newest spec (generation > observedGeneration): the
   * status, and for a Deployment its revision annotation, still describe the PREVIOUS
   * revision, so its pods must not be judged (a crashing pod of a revision just replaced
   * is not a failure of the new one).
   */
  stale?: boolean;
  /** Set when the workload itself reports failure (Job failed, progress deadline exceeded). */
  failed?: string;
  message: string;
}

/** A workload as read: a Deployment, StatefulSet, DaemonSet or Job. */
type Live = WorkloadJson;

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
    return { done: false, stale: true, message: 'waiting for the controller to see the new spec' };
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
  const wake = new ChangeWake(opts.client);
  try {
    return await judge(opts, w, deadline, timeoutMs, emit, wake);
  } finally {
    wake.stop();
  }
}

async function judge(
  opts: RolloutOptions,
  w: Workload,
  deadline: number,
  timeoutMs: number,
  emit: EventSink,
  wake: ChangeWake,
): Promise<Outcome> {
  const { client } = opts;
  // Changes arrive through the watches. Without them (not opened, or ended), poll fast at
  // first (a save should show as soon as the new pod is ready), then back off so a long
  // wait stays light on a shared cluster. With them, the poll is only a safety net.
  const started = Date.now();
  const slowPollMs = opts.pollMs ?? 1000;
  const pollEvery = (): number =>
    wake.watching || Date.now() - started >= 15_000 ? slowPollMs : Math.min(200, slowPollMs);
  const stuckMs = opts.stuckMs ?? 60_000;
  const firstSeen = new Map<string, number>();
  let lastMessage = '';
  const settleMs = opts.settleMs ?? 2000;
  /** "<pod>/<container>/<restartCount>" → when this wait first saw that instance running and ready. */
  const runningSince = new Map<string, number>();
  const { apiVersion, kind, namespace } = w.ref;
  void wake.watch(await client.pathOf({ apiVersion, kind, namespace }), {
    fieldSelector: `metadata.name=${w.ref.name}`,
  });
  let podsWatched = false;
  for (;;) {
    if (opts.signal?.aborted) return { ok: false, error: `${w.what}: rollout wait cancelled`, lines: [] };
    // Changes from here on wake the next wait at once, even those that land during the reads.
    wake.arm();
    const live = (await readObject(client, w.ref)) as Live | undefined;
    if (!live) return { ok: false, error: `${w.what} does not exist (deleted while waiting?)`, lines: [] };
    const st = workloadStatus(live, { newPodsReady: opts.newPodsReady === true });
    if (st.done && live.kind === 'Job') return { ok: true };
    const selector = selectorString(live.spec?.selector);
    if (!podsWatched && selector) {
      podsWatched = true;
      void wake.watch(`/api/v1/namespaces/${encodeURIComponent(w.ref.namespace)}/pods`, {
        labelSelector: selector,
      });
    }
    // Until the controller has seen the new spec, "the new revision's pods" would be the
    // previous revision's: nothing to judge yet (the watch on the workload wakes us).
    const pods = st.stale ? [] : await currentPods(client, live);
    if (st.done) {
      // The controller's counters lag behind the pods, so done means: every container of
      // the new pods runs and is ready, and (the contract above) one without a readiness
      // probe has kept running, same instance, for `settleMs`.
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
          if (probed.has(c.name)) continue; // the kubelet's probe vouches for this instance
          const k = `${pod.metadata.name}/${c.name}/${c.restartCount}`;
          const since = runningSince.get(k) ?? now;
          runningSince.set(k, since);
          wait = Math.max(wait, since + settleMs - now);
        }
      }
      if (allRunning && wait <= 0) return { ok: true };
      if (allRunning) {
        await wake.next(Math.min(wait, pollEvery()), opts.signal);
        continue;
      }
      st.message = newPodsMessage(pods);
    }
    if (st.message !== lastMessage) {
      lastMessage = st.message;
      emit({ type: 'step', id: w.id, phase: 'progress', detail: `${w.what}: ${st.message}` });
    }
    const timedOut = Date.now() >= deadline;
    const problems = pods.flatMap(podProblems);
    const now = Date.now();
    const current = new Set<string>();
    let nextStuck = Number.POSITIVE_INFINITY;
    for (const p of problems) {
      const k = `${p.pod}/${p.container ?? ''}/${p.reason}`;
      current.add(k);
      const since = firstSeen.get(k) ?? now;
      firstSeen.set(k, since);
      if (!p.fatal && now - since >= stuckMs) {
        p.fatal = true;
        p.summary = `${p.summary} for ${Math.round((now - since) / 1000)} s`;
      } else if (!p.fatal) nextStuck = Math.min(nextStuck, since + stuckMs - now);
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
    // Wake at the next change, or when a problem turns "stuck", the deadline passes, or the poll is due.
    await wake.next(Math.max(0, Math.min(pollEvery(), nextStuck, deadline - Date.now())), opts.signal);
  }
}

/**
 * Wakes a rollout wait when something it watches changes. `arm()` before reading; a change
 * seen since then makes `next()` return at once, otherwise `next()` waits for the next
 * change or the given time, whichever comes first. Watch streams are only triggers: what
 * changed is read afresh by the caller, so no event needs parsing and none can be misread.
 */
class ChangeWake {
  readonly #client: KubeClient;
  readonly #handles: Array<{ stop(): void }> = [];
  #open = 0;
  #failed = false;
  #stopped = false;
  #changed = false;
  #wakeUp: (() => void) | undefined;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** True while every watch asked for is open (then polling is only a safety net). */
  get watching(): boolean {
    return this.#open > 0 && !this.#failed;
  }

  /** Opens a watch on a collection; any event wakes the wait. A watch that fails or ends
   * turns `watching` off for good (the wait polls again), and wakes the wait once. */
  async watch(path: string, query: Record<string, string>): Promise<void> {
    if (this.#stopped || this.#failed) return;
    try {
      const h = await this.#client.stream(path, { query: { ...query, watch: 'true' } }, () => this.#change());
      if (this.#stopped) {
        h.stop();
        return;
      }
      this.#handles.push(h);
      this.#open++;
      void h.done.then(() => {
        if (this.#stopped) return;
        this.#failed = true;
        this.#change();
      });
    } catch {
      this.#failed = true; // e.g. 403: no `watch` verb; polling does the job
    }
  }

  arm(): void {
    this.#changed = false;
  }

  next(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#changed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#wakeUp = done;
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const h of this.#handles) h.stop();
    this.#wakeUp?.();
  }

  #change(): void {
    this.#changed = true;
    this.#wakeUp?.();
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
/**
 * What the new pods are doing while not all their containers run and are ready, from
 * their containers' states: "restarting" only when a container has really restarted
 * (restartCount > 0); a pod that is still being created or started says so.
 */
export function newPodsMessage(pods: readonly LivePod[]): string {
  let restarts = 0;
  const reasons = new Set<string>();
  let starting = false;
  let notReady = false;
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length === 0) starting = true;
    for (const c of statuses) {
      if (c.ready && c.state?.running !== undefined) continue;
      restarts += c.restartCount;
      const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
      if (reason) reasons.add(reason);
      else if (c.state?.running) notReady = true;
      else starting = true;
    }
  }
  if (restarts > 0)
    return `containers of the new pods are restarting (${restarts} restart${restarts === 1 ? '' : 's'})`;
  if (reasons.size > 0) return `new pods starting (${[...reasons].sort().join(', ')})`;
  if (starting) return 'new pods starting';
  return notReady ? 'new pods running, not ready yet' : 'new pods starting';
}

async function currentPods(client: KubeClient, w: Live): Promise<LivePod[]> {
  const ns = w.metadata.namespace ?? 'default';
  const selector = selectorString(w.spec?.selector);
  if (!selector) return [];
  // Both lists are read AFTER the workload, so they are at least as new as its status.
  const [list, rsList] = await Promise.all([
    client.request<{ items: LivePod[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, {
      query: { labelSelector: selector },
    }),
    w.kind === 'Deployment'
      ? client.request<{ items: LiveObject[] }>(
          'GET',
          `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets`,
          { query: { labelSelector: selector } },
        )
      : undefined,
  ]);
  let pods = list.items.filter((p) => !p.metadata.deletionTimestamp);
  if (w.kind === 'Deployment') {
    const revision = w.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const rs = rsList?.items.find(
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

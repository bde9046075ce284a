/**
 * Rollout wait: Deployments, StatefulSets and DaemonSets until their new pods are ready,
 * Jobs until they succeed, with progress events. The readiness rules are kubectl's
 * (`kubectl rollout status`): the controller has seen the new generation, every replica
 * runs the new template, old replicas are gone, new ones are available.
 * The rules are rollout-status.ts's (pure).
 *
 * When a rollout cannot succeed, the error says why, from the pods of the NEW revision
 * (rollout-diagnosis.ts: pull failures, crash loops with their last log lines, missing
 * config, at the timeout failing probes or scheduling). Those failures are reported as
 * soon as they are certain, not at the timeout; an uncertain one once it lasted `stuckMs`.
 *
 * Noticing (rollout-wake.ts): each workload's object and its pods are WATCHED (two watch streams); any change
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
import { mapLimit, readObject } from './objects.ts';
import { listPods, listReplicaSets } from './reads.ts';
import { failureReport, type PodProblem, podProblems } from './rollout-diagnosis.ts';
import { newPodsMessage, selectorString, workloadStatus } from './rollout-status.ts';
import { ChangeWake } from './rollout-wake.ts';
import type { PodJson, WorkloadJson } from './types.ts';

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
  const firstSeen = new Map<string, number>();
  let lastMessage = '';
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
    const live = (await readObject(client, w.ref)) as WorkloadJson | undefined;
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
      const settle = settleWait(pods, runningSince, opts.settleMs ?? 2000, Date.now());
      if (settle !== undefined && settle <= 0) return { ok: true };
      if (settle !== undefined) {
        await wake.next(Math.min(settle, pollEvery()), opts.signal);
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
    const nextStuck = markStuck(problems, firstSeen, opts.stuckMs ?? 60_000, Date.now());
    if (st.failed || problems.some((p) => p.fatal) || timedOut) {
      const report = await failureReport(client, {
        what: w.what,
        namespace: w.ref.namespace,
        status: st,
        problems,
        pods,
        timeoutMs,
        logLines: opts.logLines ?? 20,
      });
      return { ok: false, ...report };
    }
    // Wake at the next change, or when a problem turns "stuck", the deadline passes, or the poll is due.
    await wake.next(Math.max(0, Math.min(pollEvery(), nextStuck, deadline - Date.now())), opts.signal);
  }
}

/**
 * Whether the new pods are up, once the controller says done: its counters lag behind the
 * pods, so every container of the new pods must run and be ready, and (the contract above)
 * one without a readiness probe must have kept running, same instance, for `settleMs`.
 * undefined: some container does not run or is not ready; else the ms still to wait
 * (<= 0: up). No pods at all (zero replicas): the controller's word is all there is.
 */
function settleWait(
  pods: readonly PodJson[],
  runningSince: Map<string, number>,
  settleMs: number,
  now: number,
): number | undefined {
  let wait = 0;
  let allRunning = true;
  for (const pod of pods) {
    const probed = new Set((pod.spec?.containers ?? []).filter((c) => c.readinessProbe).map((c) => c.name));
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length === 0) allRunning = false;
    for (const c of statuses) {
      if (!c.ready || c.state?.running === undefined) {
        allRunning = false;
        continue;
      }
      if (probed.has(c.name)) continue; // the kubelet's probe vouches for this instance
      const k = `${pod.metadata.name}/${c.name}/${c.restartCount ?? 0}`;
      const since = runningSince.get(k) ?? now;
      runningSince.set(k, since);
      wait = Math.max(wait, since + settleMs - now);
    }
  }
  return allRunning ? wait : undefined;
}

/**
 * A problem that is not certain by itself becomes fatal once it has lasted `stuckMs`
 * (`firstSeen` remembers since when each is seen; gone ones are forgotten). Returns the ms
 * until the next one would turn fatal (Infinity: none).
 */
function markStuck(
  problems: PodProblem[],
  firstSeen: Map<string, number>,
  stuckMs: number,
  now: number,
): number {
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
  return nextStuck;
}

/** The pods of the workload's NEW revision (old ones are being replaced; their state is history). */
async function currentPods(client: KubeClient, w: WorkloadJson): Promise<PodJson[]> {
  const ns = w.metadata.namespace ?? 'default';
  const selector = selectorString(w.spec?.selector);
  if (!selector) return [];
  // Both lists are read AFTER the workload, so they are at least as new as its status.
  const [list, rsList] = await Promise.all([
    listPods(client, ns, selector),
    w.kind === 'Deployment' ? listReplicaSets(client, ns, selector) : undefined,
  ]);
  let pods = list.filter((p) => !p.metadata.deletionTimestamp);
  if (w.kind === 'Deployment') {
    const revision = w.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const rs = rsList?.find(
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

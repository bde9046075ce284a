/**
 * The rollout wait's judgement of a workload, pure: kubectl's `rollout status` rules over
 * a live Deployment, StatefulSet, DaemonSet or Job (the controller has seen the new
 * generation, every replica runs the new template, old replicas are gone, new ones are
 * available; a Job succeeded), and what the new pods are doing while they are not all
 * ready. Also used by `devenv status`.
 */
import type { LabelSelector, PodJson, WorkloadJson } from './types.ts';

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

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** kubectl's rollout status rules, over a live workload. */
export function workloadStatus(o: WorkloadJson, opts: { newPodsReady?: boolean } = {}): WorkloadStatus {
  if (o.kind === 'Job') return jobStatus(o);
  if ((o.metadata.generation ?? 0) > num(o.status?.observedGeneration)) {
    return { done: false, stale: true, message: 'waiting for the controller to see the new spec' };
  }
  if (o.kind === 'Deployment') return deploymentStatus(o, opts.newPodsReady === true);
  if (o.kind === 'StatefulSet') return statefulSetStatus(o);
  if (o.kind === 'DaemonSet') return daemonSetStatus(o);
  return { done: true, message: 'nothing to wait for' };
}

function jobStatus(o: WorkloadJson): WorkloadStatus {
  const s = o.status ?? {};
  const conditions = s.conditions ?? [];
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
    conditions.some((c) => (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') && c.status === 'True')
  ) {
    return { done: true, message: 'complete' };
  }
  const completions = o.spec?.completions ?? 1;
  if (num(s.succeeded) >= completions) return { done: true, message: 'complete' };
  return {
    done: false,
    message: `${num(s.succeeded)} of ${completions} completed, ${num(s.active)} running, ${num(s.failed)} failed`,
  };
}

function deploymentStatus(o: WorkloadJson, newPodsReady: boolean): WorkloadStatus {
  const s = o.status ?? {};
  const progressing = (s.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      failed: `progress deadline exceeded: ${progressing.message ?? ''}`.trim(),
      message: 'failed',
    };
  }
  const want = o.spec?.replicas ?? 1;
  const updated = num(s.updatedReplicas);
  if (updated < want) return { done: false, message: `${updated} of ${want} replicas updated` };
  // With newPodsReady the pods of the new revision are checked one by one by the caller
  // (availableReplicas also counts old pods, so it cannot say the new ones are ready).
  if (newPodsReady) return { done: true, message: `${updated} of ${want} replicas updated` };
  if (num(s.replicas) > updated) {
    return { done: false, message: `${num(s.replicas) - updated} old replicas pending termination` };
  }
  if (num(s.availableReplicas) < updated) {
    return { done: false, message: `${num(s.availableReplicas)} of ${updated} updated replicas available` };
  }
  return { done: true, message: `${updated} of ${want} replicas ready` };
}

function statefulSetStatus(o: WorkloadJson): WorkloadStatus {
  const s = o.status ?? {};
  const strategy = o.spec?.updateStrategy;
  if (strategy?.type === 'OnDelete') return { done: true, message: 'OnDelete update strategy' };
  const want = o.spec?.replicas ?? 1;
  const ready = num(s.readyReplicas);
  if (ready < want) return { done: false, message: `${ready} of ${want} replicas ready` };
  const partition = strategy?.rollingUpdate?.partition ?? 0;
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

function daemonSetStatus(o: WorkloadJson): WorkloadStatus {
  const s = o.status ?? {};
  const want = num(s.desiredNumberScheduled);
  if (num(s.updatedNumberScheduled) < want) {
    return { done: false, message: `${num(s.updatedNumberScheduled)} of ${want} updated pods scheduled` };
  }
  if (num(s.numberAvailable) < want)
    return { done: false, message: `${num(s.numberAvailable)} of ${want} pods available` };
  return { done: true, message: `${want} of ${want} pods available` };
}

/** A label selector as a query parameter (`a=b,c in (d,e),!f`). */
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

/**
 * What the new pods are doing while not all their containers run and are ready, from
 * their containers' states: "restarting" only when a container has really restarted
 * (restartCount > 0); a pod that is still being created or started says so.
 */
export function newPodsMessage(pods: readonly PodJson[]): string {
  let restarts = 0;
  const reasons = new Set<string>();
  let starting = false;
  let notReady = false;
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length === 0) starting = true;
    for (const c of statuses) {
      if (c.ready && c.state?.running !== undefined) continue;
      restarts += c.restartCount ?? 0;
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

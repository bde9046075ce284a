/**
 * One integration-test Job of the manifests in a prerelease namespace: a previous run's Job
 * deleted first, this one applied through the same reconcile as everything else and waited
 * for; its conditions (Complete / Failed) are the outcome.
 */
import { deploy } from '../engine/deploy.ts';
import { badInput } from '../errors.ts';
import { type EventSink, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { deleteObject, readObject, refOf, waitGone } from '../kube/objects.ts';
import { isOwned, type RenderedObject } from '../manifests/types.ts';
import type { JobResult, TestOutcome } from './test-status.ts';

interface JobLive {
  status?: {
    succeeded?: number;
    failed?: number;
    /** Finished pods the controller has not yet added to the counts above. */
    uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export async function runJob(
  client: KubeClient,
  job: RenderedObject,
  ctx: { project: string; namespace: string; timeoutMs: number; target: string; emit: EventSink },
): Promise<JobResult> {
  const ref = refOf(job.object);
  const what = `Job ${ctx.namespace}/${job.id.name}`;
  // A previous run's Job (and its pods) goes first: a Job's template is immutable, and
  // its old pods must not be mistaken for this run's.
  const old = await readObject(client, ref);
  if (old) {
    if (!isOwned(old.metadata.labels, ctx.project, 'prerelease'))
      throw badInput(`${what} exists and was not created by devenv; devenv leaves it alone.`);
    await step(ctx.emit, `test:${job.id.name}:reset`, `delete the previous run of ${what}`, async () => {
      await deleteObject(client, ref, 'Foreground');
      await waitGone(client, ref, 180_000, old.metadata.uid);
    });
  }
  await deploy({
    client,
    objects: [job],
    project: ctx.project,
    env: 'prerelease',
    namespaces: [ctx.namespace],
    prune: false,
    noWait: () => true,
    target: `${ctx.target}, namespace ${ctx.namespace}`,
    onEvent: ctx.emit,
  });
  const { waitForRollouts } = await import('../kube/rollout.ts');
  let message: string | undefined;
  try {
    await waitForRollouts({
      client,
      objects: [job.object],
      timeoutMs: ctx.timeoutMs,
      // Only the Job's own verdict (or a certain failure such as an image that cannot be
      // pulled) ends the wait: a failed attempt may be retried within backoffLimit.
      stuckMs: ctx.timeoutMs,
      stepId: () => `test:${job.id.name}`,
      onEvent: ctx.emit,
    });
  } catch (err) {
    message = (err as Error).message;
  }
  const liveJob = (await readObject(client, ref)) as (JobLive & object) | undefined;
  const conditions = liveJob?.status?.conditions ?? [];
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  const outcome: TestOutcome =
    has('Complete') || has('SuccessCriteriaMet')
      ? 'passed'
      : has('Failed') || has('FailureTarget')
        ? 'failed'
        : message && /not ready after/.test(message)
          ? 'timeout'
          : 'error';
  return {
    name: job.id.name,
    outcome,
    ...(message ? { message } : {}),
    // The Job controller can report SuccessCriteriaMet (the wait's verdict) while the pod
    // that met it is still in uncountedTerminatedPods, not yet in `succeeded`: count both.
    succeeded:
      (liveJob?.status?.succeeded ?? 0) + (liveJob?.status?.uncountedTerminatedPods?.succeeded?.length ?? 0),
    failed: (liveJob?.status?.failed ?? 0) + (liveJob?.status?.uncountedTerminatedPods?.failed?.length ?? 0),
  };
}

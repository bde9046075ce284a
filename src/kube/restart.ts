/**
 * Rollout restart (`kubectl rollout restart`): new pods for the same template, by setting
 * the pod template annotation `kubectl.kubernetes.io/restartedAt` to now, so the
 * controller replaces the pods with its usual rolling strategy (no downtime for a
 * Deployment with more than one replica, readiness respected).
 *
 * Contract:
 * - Only Deployments, StatefulSets and DaemonSets among `objects` are restarted; other
 *   kinds are ignored (a Job or CronJob has no rollout).
 * - Safety: a live object is patched only if it carries the SAME devenv owner labels as the
 *   rendered object (managed-by, project, env); anything else is refused and reported,
 *   never touched. An object that does not exist is reported as missing.
 * - The patch is a strategic merge patch of that one annotation, with its own field manager
 *   ("devenv-restart"), so devenv's later server-side applies (field manager "devenv") do
 *   not remove it and do not trigger a second rollout.
 * - It does not wait for the rollout: the dashboard's pod watch shows the new pods coming.
 */
import { DevenvError } from '../errors.ts';
import { LABEL_ENV, LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';
import { describeObject, type KubeObject } from '../manifests/types.ts';
import type { KubeClient } from './client.ts';
import { readObject, refOf } from './objects.ts';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const RESTART_FIELD_MANAGER = 'devenv-restart';
const RESTARTABLE: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export interface RestartResult {
  /** "Deployment ns/name" of each object restarted. */
  restarted: string[];
  /** Objects that do not exist in the cluster (not deployed yet). */
  missing: string[];
}

export async function restartWorkloads(
  client: KubeClient,
  objects: ReadonlyArray<KubeObject | { object: KubeObject }>,
  opts: { now?: Date } = {},
): Promise<RestartResult> {
  const at = (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const result: RestartResult = { restarted: [], missing: [] };
  const workloads = objects
    .map((x) => ('object' in x && !('kind' in x) ? x.object : (x as KubeObject)))
    .filter((o) => RESTARTABLE.has(o.kind));
  for (const o of workloads) {
    const ref = refOf(o);
    const what = describeObject({
      kind: o.kind,
      namespace: o.metadata.namespace ?? '',
      name: o.metadata.name,
    });
    const live = await readObject(client, ref);
    if (!live) {
      result.missing.push(what);
      continue;
    }
    const want = o.metadata.labels ?? {};
    const have = live.metadata.labels ?? {};
    const owned =
      have[LABEL_MANAGED_BY] === MANAGED_BY_VALUE &&
      want[LABEL_PROJECT] !== undefined &&
      have[LABEL_PROJECT] === want[LABEL_PROJECT] &&
      have[LABEL_ENV] === want[LABEL_ENV];
    if (!owned) {
      throw new DevenvError(
        `${what} was not deployed by devenv for this project; devenv does not restart it.`,
        {
          details: [`its labels: ${JSON.stringify(have)}`],
        },
      );
    }
    await client.request('PATCH', await client.pathOf(ref), {
      query: { fieldManager: RESTART_FIELD_MANAGER },
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } },
    });
    result.restarted.push(what);
  }
  return result;
}

/**
 * The apply half of the engine, shared by every command that deploys rendered manifests:
 * reconcile (server-side apply of the difference, prune) then rollout wait, reported as
 * the same `apply` / `rollout:*` step events. `up` (dev) and `prerelease up` deploy through
 * these SAME two functions (kube/apply.ts reconcile, kube/rollout.ts waitForRollouts), so
 * the nightly prerelease exercises exactly the code path developers use.
 */
import type { ReconcileResult } from '../kube/apply.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderResult } from '../manifests/render.ts';
import type { DeployEnv, RenderedObject } from '../manifests/types.ts';
import { type EventSink, skipped, step } from './events.ts';

export interface DeployOptions {
  client: KubeClient;
  /** Everything to apply (the project's manifests and devenv's own objects), rendered. */
  objects: readonly RenderedObject[];
  project: string;
  env: DeployEnv;
  /** Namespaces to ensure besides those the objects live in. */
  namespaces?: readonly string[];
  /** Delete devenv's objects that are no longer rendered (default true). */
  prune?: boolean;
  /** Applied but not waited for (e.g. a prerelease test Job, which `prerelease test` runs). */
  noWait?: (o: RenderedObject) => boolean;
  rolloutTimeoutMs?: number;
  /** Done when the new pods are ready, before old pods finish terminating (reloads). */
  newPodsReady?: boolean;
  /**
   * Called once the objects are applied, before the rollout wait: what the cluster now
   * runs, whether or not the rollout then succeeds (a reload records its image here).
   */
  onApplied?: () => void;
  /** Shown in the `apply` step ("apply to <target>"). */
  target: string;
  onEvent: EventSink;
}

export interface DeployResult {
  reconcile: ReconcileResult;
  /** describeObject() of each workload waited for. */
  ready: string[];
}

export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  const { client, objects, project, env, target } = opts;
  const emit = opts.onEvent;
  const { reconcile } = await import('../kube/apply.ts');
  const { waitForRollouts } = await import('../kube/rollout.ts');
  const result = await step(emit, 'apply', `apply to ${target}`, async () => {
    const r = await reconcile({
      client,
      objects,
      project,
      env,
      ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
      ...(opts.prune === false ? { prune: false } : {}),
      onEvent: emit,
    });
    if (r.writes === 0)
      return skipped(r, `nothing to change in ${target} (${r.unchanged} objects up to date)`);
    return r;
  });
  for (const c of result.conflicts) {
    emit({
      type: 'step',
      id: `conflict:${c.key}`,
      phase: 'skip',
      detail: `left alone: ${c.object} (${c.reason})`,
    });
  }
  opts.onApplied?.();
  const waited = objects.filter((o) => !opts.noWait?.(o));
  const rollout = await waitForRollouts({
    client,
    objects: waited.map((o) => o.object),
    onEvent: emit,
    ...(opts.rolloutTimeoutMs !== undefined ? { timeoutMs: opts.rolloutTimeoutMs } : {}),
    ...(opts.newPodsReady ? { newPodsReady: true } : {}),
  });
  return { reconcile: result, ready: rollout.ready };
}

/** What rendering left out or rewrote, as `skip` lines of the report (one wording for every command). */
export function reportRender(r: Pick<RenderResult, 'dropped' | 'rewrites'>, emit: EventSink): void {
  for (const d of r.dropped)
    emit({
      type: 'step',
      id: `render:${d.file}#${d.index}`,
      phase: 'skip',
      detail: `${d.kind} ${d.name} not applied: ${d.reason}`,
    });
  for (const w of r.rewrites)
    emit({
      type: 'step',
      id: `render:${w.object}:${w.field}`,
      phase: 'skip',
      detail: `${w.object} ${w.field}: ${w.from} → ${w.to} (${w.why})`,
    });
}

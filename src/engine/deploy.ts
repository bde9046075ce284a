/**
 * The apply half of the engine, shared by every command that deploys rendered manifests:
 * reconcile (server-side apply of the difference, prune) then rollout wait, reported as
 * the same `apply` / `rollout:*` step events. `up` (dev) and `prerelease up` deploy through
 * these SAME two functions (kube/apply.ts reconcile, kube/rollout.ts waitForRollouts), so
 * the nightly prerelease exercises exactly the code path developers use.
 *
 * Ordering (order.ts plans it, this file runs it): given the deploy's `services`, their
 * `dependsOn` and must-complete Jobs hold back the workloads of ordered services. The first
 * apply writes everything else and checks the held-back objects too (dry run: bad input
 * fails before anything is written); then each ordered service, once the services it depends
 * on are ready, runs its Jobs (a changed Job is replaced, so it runs again) and waits for
 * them to complete, then applies and waits for its workloads. Independent services proceed
 * in parallel; a failure (a migration's logs from the rollout diagnosis) stops only the
 * services that depend on it, and the deploy fails once all have finished.
 */

import { DevenvError } from '../errors.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { ReconcileResult } from '../kube/apply.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderResult } from '../manifests/render.ts';
import { type DeployEnv, describeObject, type RenderedObject } from '../manifests/types.ts';
import { isPreDeployJob, type OrderedService, planDeploy, type ServiceUnit } from './order.ts';

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
  /**
   * The services whose objects these are, with their `dependsOn` (order.serviceUnits): the
   * deploy follows their order. Absent: one apply, one wait (objects of no service).
   */
  services?: readonly ServiceUnit[];
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
  const plan = planDeploy(opts.objects, opts.services ?? []);
  const result = await applyFirst(opts, plan);
  opts.onApplied?.();
  const run = await deployRun(opts, result);
  if (plan.ordered.length === 0) return { reconcile: result, ready: (await run.wait(opts.objects)).ready };
  return settle(run, await runOrdered(run, plan));
}

/** What the ordered part of a deploy shares: the running totals and its apply and wait. */
interface DeployRun {
  result: ReconcileResult;
  ready: string[];
  emit: EventSink;
  /** Applies an ordered stage's objects (no prune; changed pre-deploy Jobs replaced); its writes. */
  apply(list: readonly RenderedObject[]): Promise<number>;
  /** Waits for the rollouts of `list` (all but those `noWait` names). */
  wait(list: readonly RenderedObject[]): Promise<{ ready: string[] }>;
}

/**
 * The one reconcile of everything (apply, prune) except what the order holds back
 * (pre-deploy Jobs and the workloads of ordered services), then a `skip` line for each
 * object left alone because someone else owns it.
 */
async function applyFirst(
  opts: DeployOptions,
  plan: ReturnType<typeof planDeploy>,
): Promise<ReconcileResult> {
  const { client, objects, project, env, target } = opts;
  const emit = opts.onEvent;
  const { reconcile } = await import('../kube/apply.ts');
  const held = new Set(plan.ordered.flatMap((s) => [...s.jobs.flat(), ...s.workloads]).map((o) => o.key));
  const result = await step(emit, 'apply', `apply to ${target}`, async () => {
    const r = await reconcile({
      client,
      objects,
      project,
      env,
      ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
      ...(opts.prune === false ? { prune: false } : {}),
      ...(held.size > 0 ? { defer: (o: RenderedObject) => held.has(o.key) } : {}),
      onEvent: emit,
    });
    if (r.writes === 0)
      return skipped(r, `nothing to change in ${target} (${r.unchanged} objects up to date)`);
    return r;
  });
  for (const c of result.conflicts)
    emit({
      type: 'step',
      id: `conflict:${c.key}`,
      phase: 'skip',
      detail: `left alone: ${c.object} (${c.reason})`,
    });
  return result;
}

async function deployRun(opts: DeployOptions, result: ReconcileResult): Promise<DeployRun> {
  const { client, project, env } = opts;
  const emit = opts.onEvent;
  const { reconcile } = await import('../kube/apply.ts');
  const { waitForRollouts } = await import('../kube/rollout.ts');
  return {
    result,
    ready: [],
    emit,
    wait: (list) =>
      waitForRollouts({
        client,
        objects: list.filter((o) => !opts.noWait?.(o)).map((o) => o.object),
        onEvent: emit,
        ...(opts.rolloutTimeoutMs !== undefined ? { timeoutMs: opts.rolloutTimeoutMs } : {}),
        ...(opts.newPodsReady ? { newPodsReady: true } : {}),
      }),
    apply: async (list) => {
      const r = await reconcile({
        client,
        objects: list,
        project,
        env,
        prune: false,
        replace: (o) => isPreDeployJob(o.object),
        onEvent: emit,
      });
      for (const k of ['created', 'updated', 'unchanged', 'writes'] as const) result[k] += r[k];
      result.changed.push(...r.changed);
      result.conflicts.push(...r.conflicts);
      return r.writes;
    },
  };
}

/**
 * One stage of an ordered service: apply, then wait. A failed wait was reported with its
 * diagnosis (a Job's logs) by the rollout's own step: this step names it as the cause.
 */
async function stage(
  run: DeployRun,
  id: string,
  detail: string,
  list: readonly RenderedObject[],
): Promise<void> {
  const { emit } = run;
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  emit({ type: 'step', id, phase: 'start', detail });
  let writes: number;
  try {
    writes = await run.apply(list);
  } catch (err) {
    const lines = err instanceof DevenvError ? [...err.details] : [];
    emit({ type: 'step', id, phase: 'fail', detail, ms: ms(), error: (err as Error).message, lines });
    throw err;
  }
  try {
    run.ready.push(...(await run.wait(list)).ready);
  } catch (err) {
    const message = (err as Error).message;
    const failed = list.find((o) => message.startsWith(describeObject(o.id))) ?? list[0]!;
    const cause = `rollout:${failed.object.metadata.namespace ?? 'default'}/${failed.id.name}`;
    emit({ type: 'step', id, phase: 'fail', detail, ms: ms(), error: message, cause });
    throw err;
  }
  // Nothing written and everything ready (a completed Job left alone): reported as such.
  if (writes === 0) emit({ type: 'step', id, phase: 'skip', detail: `${detail}: up to date`, ms: ms() });
  else emit({ type: 'step', id, phase: 'done', detail, ms: ms() });
}

/** How an ordered service ended; a promise of it is never rejected. */
type Outcome = { ok: true } | { ok: false; error: unknown } | { ok: false; blockedBy: string };

/**
 * A dependency that failed (or was itself blocked) blocks its dependents, whose workloads
 * stay as they are; otherwise its pre-deploy Jobs run, in weight order, then its rollout.
 */
async function runService(
  run: DeployRun,
  s: OrderedService,
  deps: Array<[string, Promise<Outcome>]>,
): Promise<Outcome> {
  for (const [name, dep] of deps) if (!(await dep).ok) return { ok: false, blockedBy: name };
  try {
    for (const [i, jobs] of s.jobs.entries()) {
      const names = jobs.map((o) => o.id.name).join(', ');
      await stage(
        run,
        `pre-deploy:${s.name}${s.jobs.length > 1 ? `:${i + 1}` : ''}`,
        `${s.name}: run pre-deploy Job${jobs.length === 1 ? '' : 's'} ${names}`,
        jobs,
      );
    }
    if (s.workloads.length > 0) {
      const after = s.dependsOn.length > 0 ? ` (after ${s.dependsOn.join(', ')})` : '';
      await stage(run, `deploy:${s.name}`, `${s.name}: roll out${after}`, s.workloads);
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Every ordered service as a promise of its outcome, started in dependency order (so each
 * dependency's promise exists already), while the unordered workloads are waited for.
 * Returns the outcomes by service name ('' for the unordered part).
 */
async function runOrdered(
  run: DeployRun,
  plan: ReturnType<typeof planDeploy>,
): Promise<Map<string, Outcome>> {
  const running = new Map<string, Promise<Outcome>>();
  for (const s of plan.ordered)
    running.set(
      s.name,
      runService(
        run,
        s,
        s.dependsOn.map((d) => [d, running.get(d)!]),
      ),
    );
  const unordered = run.wait(plan.first).then(
    (r): Outcome => {
      run.ready.push(...r.ready);
      return { ok: true };
    },
    (error: unknown): Outcome => ({ ok: false, error }),
  );
  const names = ['', ...running.keys()];
  const outcomes = await Promise.all([unordered, ...running.values()]);
  return new Map(outcomes.map((o, i) => [names[i]!, o]));
}

/** The result, or one error: the first failure, with the others and the blocked services as details. */
function settle(run: DeployRun, outcomes: Map<string, Outcome>): DeployResult {
  const errors: unknown[] = [];
  const blocked: string[] = [];
  for (const [name, o] of outcomes) {
    if (o.ok) continue;
    if ('error' in o) errors.push(o.error);
    else {
      blocked.push(name);
      run.emit({
        type: 'step',
        id: `deploy:${name}`,
        phase: 'skip',
        detail: `${name} not rolled out: ${o.blockedBy}, which it depends on, failed`,
      });
    }
  }
  if (errors.length === 0) return { reconcile: run.result, ready: run.ready };
  const text = (e: unknown) => (e instanceof Error ? e.message : String(e));
  const first = errors[0];
  throw new DevenvError(text(first), {
    ...(first instanceof DevenvError ? { exitCode: first.exitCode } : {}),
    details: [
      ...(first instanceof DevenvError ? first.details : []),
      ...errors.slice(1).map(text),
      ...(blocked.length > 0
        ? [`not rolled out (a service they depend on failed): ${blocked.join(', ')}`]
        : []),
    ],
    cause: first,
  });
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

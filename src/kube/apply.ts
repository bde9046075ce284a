/**
 * Reconcile: make the cluster hold exactly the rendered objects, writing only the
 * difference, so a second `up` with nothing changed makes ZERO API writes.
 *
 * For each rendered object (in apply order, objects of one rank in parallel):
 *   - live object absent                       → server-side apply (created)
 *   - live object WITHOUT devenv's labels       → not touched; reported as a conflict
 *     for this project/env                        (a 'skip' event and `conflicts`)
 *   - live `dev.devenv/applied-hash` == hash   → nothing (unchanged)
 *   - otherwise                                 → server-side apply, field manager
 *                                                 "devenv", force (updated)
 * An update the API server refuses because a field is immutable (a Job's template, a
 * Deployment's selector) deletes the devenv-owned object and applies it again (a Job with
 * its pods first: Foreground). With `replace`, the chosen objects are always replaced when
 * changed (a must-complete Job runs again); with `defer`, objects are checked but written
 * later by the caller (deploy ordering).
 * Namespaces are ensured first (labelled); objects that left the manifests are pruned
 * last (prune.ts). Before any object is written, every kind is checked against API
 * discovery (a kind whose CRD is not installed fails with exit 1, naming what provides
 * it; a kind or apiVersion Kubernetes itself does not have is bad input) and every object
 * to write is validated by the API server (server-side dry run, strict field
 * validation): a manifest the server would refuse fails the run with a bad-input error
 * naming its file, and nothing of the manifests is applied. (Dry runs
 * persist nothing and are not counted in `writes`.) A custom resource whose CRD is in the
 * same set is not dry-run (its kind may not exist yet) and is written once its CRD, applied
 * in an earlier rank, is served.
 */

import { badInput, DevenvError, EXIT_BAD_INPUT, EXIT_FAILURE } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { applyRank, sortForApply } from '../manifests/order.ts';
import { type DeployEnv, describeObject, type RenderedObject } from '../manifests/types.ts';
import {
  type Conflict,
  isImmutable,
  isRefusal,
  type Plan,
  plan,
  serverMessage,
  write,
} from './apply-object.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { ensureNamespaces, ownedNamespaces } from './namespaces.ts';
import { FIELD_MANAGER, mapLimit, serverSideApply } from './objects.ts';
import { prune } from './prune.ts';

export interface ReconcileOptions {
  client: KubeClient;
  objects: readonly RenderedObject[];
  project: string;
  env: DeployEnv;
  /** Namespaces to ensure besides those the objects live in (e.g. the prerelease namespace). */
  namespaces?: readonly string[];
  /** Labels added to namespaces devenv creates (e.g. a prerelease expiry). */
  namespaceLabels?: Record<string, string>;
  fieldManager?: string;
  /** Delete devenv's objects that are no longer rendered (default true). */
  prune?: boolean;
  /** Parallel requests within one apply rank (default 4). */
  concurrency?: number;
  /**
   * Objects checked with the rest (kind served, server-side dry run: a refusal fails the
   * whole run before anything is written) and kept by prune, but NOT written: the caller
   * applies them later in their own order (engine/order.ts: workloads that wait for a
   * migration or a dependency). Not counted in the result.
   */
  defer?: (o: RenderedObject) => boolean;
  /**
   * Objects that, when changed, are deleted (Jobs: with their pods, Foreground) and created
   * again rather than updated in place: a must-complete Job must RUN again when it changes.
   */
  replace?: (o: RenderedObject) => boolean;
  onEvent?: EventSink;
}

export interface ReconcileResult {
  created: number;
  updated: number;
  unchanged: number;
  pruned: number;
  conflicts: Conflict[];
  /** Every mutating API call made (apply, create, delete): 0 when nothing changed. */
  writes: number;
  /** describeObject() of objects created or updated, in apply order. */
  changed: string[];
  /** describeObject() of pruned objects. */
  prunedObjects: string[];
}

export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  const { client, project, env } = opts;
  const emit = opts.onEvent ?? (() => undefined);
  const result: ReconcileResult = {
    created: 0,
    updated: 0,
    unchanged: 0,
    pruned: 0,
    conflicts: [],
    writes: 0,
    changed: [],
    prunedObjects: [],
  };
  const objects = sortForApply(opts.objects);
  const crdKinds = crdKindsOf(objects);
  const ctx: WriteContext = {
    client,
    fieldManager: opts.fieldManager ?? FIELD_MANAGER,
    concurrency: opts.concurrency ?? 4,
    crdKinds,
    emit,
    result,
  };

  // 1. Every kind must be served by the cluster (or defined by a CRD in this set).
  await assertKindsServed(client, objects, crdKinds);

  // 2. Namespaces: those declared as objects are applied with the rest (rank 0).
  const declared = new Set(
    objects.filter((o) => o.id.kind === 'Namespace' && o.id.group === '').map((o) => o.id.name),
  );
  const needed = [...new Set([...(opts.namespaces ?? []), ...objects.map((o) => o.id.namespace)])]
    .filter((n) => n !== '' && !declared.has(n))
    .sort();
  const ns = await ensureNamespaces(client, needed, {
    project,
    env,
    onEvent: emit,
    ...(opts.namespaceLabels ? { extraLabels: opts.namespaceLabels } : {}),
  });
  result.writes += ns.writes;

  // 3. Read what exists and decide; then let the API server validate every object that
  //    will be written (server-side dry run) before writing any of them. Namespaces
  //    declared in the manifests go first: nothing can be validated inside a namespace
  //    that does not exist yet.
  const defer = opts.defer ?? (() => false);
  const plans = await mapLimit(
    objects.filter((o) => !defer(o)),
    ctx.concurrency,
    (o) => plan(client, o, { project, env, emit, result, crdKinds, replace: opts.replace }),
  );
  // Deferred objects are only validated here (their live state is read when written).
  const deferred: Plan[] = objects
    .filter(defer)
    .map((o) => ({ o, live: undefined, action: 'apply', t0: 0, reported: true, deferred: true }));
  const isNamespace = (p: Plan) => p.o.id.kind === 'Namespace' && p.o.id.group === '';
  const nsPlans = plans.filter(isNamespace);
  await validate(ctx, nsPlans, plans, ns.created.length > 0);
  await writeAll(ctx, nsPlans);
  const rest = plans.filter((p) => !isNamespace(p));
  await validate(
    ctx,
    [...rest, ...deferred],
    plans,
    ns.created.length > 0 || nsPlans.some((p) => p.action !== 'skip'),
  );
  // 4. Write, rank by rank (objects of one rank in parallel).
  await writeAll(ctx, rest);

  // 5. Prune what left the manifests.
  if (opts.prune !== false) await pruneLeftovers(opts, objects, [...needed, ...declared], emit, result);
  return result;
}

/** What the validation and the writes of one reconcile share. */
interface WriteContext {
  client: KubeClient;
  fieldManager: string;
  concurrency: number;
  /** "<group>/<kind>" of the CRDs in this set: their objects cannot be dry-run before the CRD exists. */
  crdKinds: ReadonlySet<string>;
  emit: EventSink;
  result: ReconcileResult;
}

/** "<group>/<kind>" of each CustomResourceDefinition among the objects. */
function crdKindsOf(objects: readonly RenderedObject[]): Set<string> {
  const crdKinds = new Set<string>();
  for (const o of objects) {
    if (o.id.kind !== 'CustomResourceDefinition') continue;
    const spec = o.object.spec as { group?: string; names?: { kind?: string } } | undefined;
    if (spec?.group && spec.names?.kind) crdKinds.add(`${spec.group}/${spec.names.kind}`);
  }
  return crdKinds;
}

/**
 * Throws, before anything is written, when the cluster does not serve a kind of the
 * objects. A kind of an extension the cluster lacks (no CRD installed) is the
 * environment's failure (exit 1); a kind or apiVersion that does not exist in Kubernetes'
 * own API groups is a mistake in the manifests (exit 2). client.resource() tells them apart.
 */
async function assertKindsServed(
  client: KubeClient,
  objects: readonly RenderedObject[],
  crdKinds: ReadonlySet<string>,
): Promise<void> {
  const unknown: string[] = [];
  let environment = false;
  await mapLimit(objects, 8, async (o) => {
    if (crdKinds.has(`${o.id.group}/${o.id.kind}`)) return;
    try {
      await client.resource(o.object.apiVersion, o.id.kind);
    } catch (err) {
      if (!(err instanceof DevenvError) || err.exitCode !== EXIT_BAD_INPUT) environment = true;
      unknown.push(`${o.source.file}#${o.source.index}: ${describeObject(o.id)}: ${(err as Error).message}`);
    }
  });
  if (unknown.length === 0) return;
  const what = `the cluster does not serve ${unknown.length === 1 ? 'a kind' : 'some kinds'} the manifests use; nothing was applied.`;
  throw environment
    ? new DevenvError(what, { exitCode: EXIT_FAILURE, details: unknown.sort() })
    : badInput(what, unknown.sort());
}

/**
 * Server-side dry run of each object of `batch` that will be written. An immutable field
 * turns an update into a replace; refusals are collected and thrown together as bad input
 * (every plan not yet reported is reported as not applied).
 */
async function validate(
  ctx: WriteContext,
  batch: Plan[],
  plans: readonly Plan[],
  namespacesCreated: boolean,
): Promise<void> {
  const refused: string[] = [];
  await mapLimit(batch, ctx.concurrency, async (p) => {
    if (p.action === 'skip' || ctx.crdKinds.has(`${p.o.id.group}/${p.o.id.kind}`)) return;
    try {
      await serverSideApply(ctx.client, p.o.object, ctx.fieldManager, true);
    } catch (err) {
      if (p.live && isImmutable(err)) p.action = 'replace';
      else if (p.deferred && isImmutable(err)) {
        // A deferred object that changed an immutable field is replaced when written.
      } else if (isRefusal(err)) {
        refused.push(
          `${p.o.source.file}#${p.o.source.index}: ${describeObject(p.o.id)}: ${serverMessage(err)}`,
        );
      } else throw err;
    }
  });
  if (refused.length === 0) return;
  for (const p of plans) {
    if (!p.reported) {
      p.reported = true;
      ctx.emit({
        type: 'step',
        id: `apply:${describeObject(p.o.id)}`,
        phase: 'skip',
        detail: 'not applied: the manifests have errors',
      });
    }
  }
  const n = refused.length === 1 ? 'an object' : `${refused.length} objects`;
  throw badInput(
    `the API server refused ${n} of the manifests; nothing was applied${namespacesCreated ? ' (except namespaces)' : ''}.`,
    refused.sort(),
  );
}

/** Writes the plans rank by rank (applyRank), the objects of one rank in parallel. */
async function writeAll(ctx: WriteContext, batch: Plan[]): Promise<void> {
  const ranks = new Map<number, Plan[]>();
  for (const p of batch) {
    const r = applyRank(p.o.id.kind);
    ranks.set(r, [...(ranks.get(r) ?? []), p]);
  }
  for (const group of [...ranks.entries()].sort(([a], [b]) => a - b).map(([, g]) => g)) {
    await mapLimit(group, ctx.concurrency, (p) =>
      write(ctx.client, p, {
        fieldManager: ctx.fieldManager,
        emit: ctx.emit,
        result: ctx.result,
        crdKinds: ctx.crdKinds,
      }),
    );
  }
}

/** Deletes devenv's objects of this project and env that are no longer rendered (prune.ts). */
async function pruneLeftovers(
  opts: ReconcileOptions,
  objects: readonly RenderedObject[],
  namespaces: readonly string[],
  emit: EventSink,
  result: ReconcileResult,
): Promise<void> {
  const { client, project, env } = opts;
  let scope = [...new Set(namespaces)];
  if (env === 'dev') {
    // Namespaces devenv made for this project earlier may hold objects of manifests since removed.
    try {
      scope = [...new Set([...scope, ...(await ownedNamespaces(client, { project, env }))])];
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 403)) throw err;
    }
  }
  const kinds = objects.map((o) => ({ apiVersion: o.object.apiVersion, kind: o.id.kind }));
  const pruned = await prune({
    client,
    project,
    env,
    keep: new Set(objects.map((o) => o.key)),
    namespaces: scope.sort(),
    kinds,
    clusterScoped: env === 'dev',
    onEvent: emit,
  });
  result.pruned = pruned.deleted.length;
  result.prunedObjects = pruned.deleted;
  result.writes += pruned.writes;
}

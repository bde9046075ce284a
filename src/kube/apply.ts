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
import {
  ANNOTATION_HASH,
  type DeployEnv,
  describeObject,
  isOwned,
  LABEL_ENV,
  LABEL_MANAGED_BY,
  LABEL_PROJECT,
  type RenderedObject,
} from '../manifests/types.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { ensureNamespaces, ownedNamespaces } from './namespaces.ts';
import {
  deleteObject,
  FIELD_MANAGER,
  mapLimit,
  readObject,
  refOf,
  serverSideApply,
  waitGone,
} from './objects.ts';
import { prune } from './prune.ts';
import type { LiveObject } from './types.ts';

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

export interface Conflict {
  key: string;
  /** "Deployment back/api". */
  object: string;
  reason: string;
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

const IMMUTABLE = /immutable|may not be changed|cannot be updated|field is not allowed to be changed/i;

export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  const { client, project, env } = opts;
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
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

  // 1. Every kind must be served by the cluster (or defined by a CRD in this set).
  const crdKinds = new Set<string>();
  for (const o of objects) {
    if (o.id.kind !== 'CustomResourceDefinition') continue;
    const spec = o.object.spec as { group?: string; names?: { kind?: string } } | undefined;
    if (spec?.group && spec.names?.kind) crdKinds.add(`${spec.group}/${spec.names.kind}`);
  }
  const unknown: string[] = [];
  // A kind of an extension the cluster lacks (no CRD installed) is the environment's
  // failure (exit 1); a kind or apiVersion that does not exist in Kubernetes' own API
  // groups is a mistake in the manifests (exit 2). client.resource() tells them apart.
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
  if (unknown.length > 0) {
    const what = `the cluster does not serve ${unknown.length === 1 ? 'a kind' : 'some kinds'} the manifests use; nothing was applied.`;
    throw environment
      ? new DevenvError(what, { exitCode: EXIT_FAILURE, details: unknown.sort() })
      : badInput(what, unknown.sort());
  }

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
    opts.concurrency ?? 4,
    (o) => plan(client, o, { project, env, emit, result, crdKinds, replace: opts.replace }),
  );
  // Deferred objects are only validated here (their live state is read when written).
  const deferred: Plan[] = objects
    .filter(defer)
    .map((o) => ({ o, live: undefined, action: 'apply', t0: 0, reported: true, deferred: true }));
  const isNamespace = (p: Plan) => p.o.id.kind === 'Namespace' && p.o.id.group === '';
  const validate = async (batch: Plan[], namespacesCreated: boolean): Promise<void> => {
    const refused: string[] = [];
    await mapLimit(batch, opts.concurrency ?? 4, async (p) => {
      if (p.action === 'skip' || crdKinds.has(`${p.o.id.group}/${p.o.id.kind}`)) return;
      try {
        await serverSideApply(client, p.o.object, fieldManager, true);
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
        emit({
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
  };
  const writeAll = async (batch: Plan[]): Promise<void> => {
    const ranks = new Map<number, Plan[]>();
    for (const p of batch) {
      const r = applyRank(p.o.id.kind);
      ranks.set(r, [...(ranks.get(r) ?? []), p]);
    }
    for (const group of [...ranks.entries()].sort(([a], [b]) => a - b).map(([, g]) => g)) {
      await mapLimit(group, opts.concurrency ?? 4, (p) =>
        write(client, p, { fieldManager, emit, result, crdKinds }),
      );
    }
  };

  const nsPlans = plans.filter(isNamespace);
  await validate(nsPlans, ns.created.length > 0);
  await writeAll(nsPlans);
  const rest = plans.filter((p) => !isNamespace(p));
  await validate([...rest, ...deferred], ns.created.length > 0 || nsPlans.some((p) => p.action !== 'skip'));
  // 4. Write, rank by rank (objects of one rank in parallel).
  await writeAll(rest);

  // 5. Prune what left the manifests.
  if (opts.prune !== false) {
    let scope = [...new Set([...needed, ...declared])];
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
  return result;
}

interface Plan {
  o: RenderedObject;
  live: LiveObject | undefined;
  action: 'skip' | 'apply' | 'replace';
  t0: number;
  /** The step's closing event (done / skip / fail) was sent. */
  reported: boolean;
  /** Validated only, written later by the caller (ReconcileOptions.defer). */
  deferred?: boolean;
}

/** Waits (up to 60 s) until API discovery serves a kind whose CRD was just applied. */
async function untilServed(client: KubeClient, apiVersion: string, kind: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await client.resource(apiVersion, kind);
      return;
    } catch (err) {
      if (!(err instanceof DevenvError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function isImmutable(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 422 && IMMUTABLE.test(err.message);
}

/**
 * The API server refused the object itself (bad input), as opposed to failing. A field
 * that is not in the kind's schema comes back from server-side apply as a 500 "failed to
 * create typed patch object", not as a 422.
 */
function isRefusal(err: unknown): err is KubeApiError {
  return (
    err instanceof KubeApiError &&
    (err.status === 422 ||
      err.status === 400 ||
      (err.status === 500 && /typed patch object|not declared in schema/.test(err.message)))
  );
}

/** The API server's own words, without the "PATCH /apis/...:" prefix. */
function serverMessage(err: KubeApiError): string {
  return err.message.replace(/^[A-Z]+ \S+: /, '');
}

async function plan(
  client: KubeClient,
  o: RenderedObject,
  ctx: {
    project: string;
    env: DeployEnv;
    emit: EventSink;
    result: ReconcileResult;
    crdKinds: ReadonlySet<string>;
    replace?: ((o: RenderedObject) => boolean) | undefined;
  },
): Promise<Plan> {
  const what = describeObject(o.id);
  const id = `apply:${what}`;
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  ctx.emit({ type: 'step', id, phase: 'start', detail: what });
  let live: LiveObject | undefined;
  try {
    live = await readObject(client, refOf(o.object));
  } catch (err) {
    // A custom resource whose CRD is in this set but not installed yet: discovery does not
    // know its kind, and nothing of it exists. It is written after its CRD (write()).
    if (!(err instanceof DevenvError && ctx.crdKinds.has(`${o.id.group}/${o.id.kind}`))) throw err;
    live = undefined;
  }
  if (live && !isOwned(live.metadata.labels, ctx.project, ctx.env)) {
    const labels = live.metadata.labels ?? {};
    const reason =
      labels[LABEL_MANAGED_BY] === 'devenv'
        ? `exists, created by devenv for ${labels[LABEL_PROJECT] ?? '?'}/${labels[LABEL_ENV] ?? '?'}: left alone`
        : 'exists and was not created by devenv: left alone';
    ctx.result.conflicts.push({ key: o.key, object: what, reason });
    ctx.emit({ type: 'step', id, phase: 'skip', detail: `${what} ${reason}`, ms: ms() });
    return { o, live, action: 'skip', t0, reported: true };
  }
  if (live?.metadata.deletionTimestamp) {
    // Being deleted (e.g. pruned a moment ago): applying would only update the dying object.
    await waitGone(client, refOf(o.object), 120_000, live.metadata.uid);
    live = undefined;
  }
  if (live && live.metadata.annotations?.[ANNOTATION_HASH] === o.hash) {
    ctx.result.unchanged++;
    ctx.emit({ type: 'step', id, phase: 'skip', detail: `${what} unchanged`, ms: ms() });
    return { o, live, action: 'skip', t0, reported: true };
  }
  return { o, live, action: live && ctx.replace?.(o) ? 'replace' : 'apply', t0, reported: false };
}

async function write(
  client: KubeClient,
  p: Plan,
  ctx: {
    fieldManager: string;
    emit: EventSink;
    result: ReconcileResult;
    crdKinds: ReadonlySet<string>;
  },
): Promise<void> {
  if (p.action === 'skip') return;
  const { o, live } = p;
  const what = describeObject(o.id);
  const id = `apply:${what}`;
  const ms = () => Math.round(performance.now() - p.t0);
  try {
    // Its CRD, applied in an earlier rank of this run, is served once established.
    if (ctx.crdKinds.has(`${o.id.group}/${o.id.kind}`))
      await untilServed(client, o.object.apiVersion, o.id.kind);
    let replace = p.action === 'replace';
    if (!replace) {
      try {
        ctx.result.writes++;
        await serverSideApply(client, o.object, ctx.fieldManager);
      } catch (err) {
        if (!(live && isImmutable(err))) throw err;
        replace = true;
      }
    }
    if (replace && live) {
      // An immutable field changed on an object devenv owns: delete it and apply again.
      ctx.result.writes++;
      // A Job's pods go with it before the new one starts (two runs of a migration must
      // not overlap); other kinds' dependents are collected in the background.
      await deleteObject(client, refOf(o.object), o.id.kind === 'Job' ? 'Foreground' : 'Background');
      await waitGone(client, refOf(o.object), 120_000, live.metadata.uid);
      ctx.result.writes++;
      await serverSideApply(client, o.object, ctx.fieldManager);
    }
    if (live) ctx.result.updated++;
    else ctx.result.created++;
    ctx.result.changed.push(what);
    const verb = !live
      ? 'created'
      : replace
        ? o.id.kind === 'Job'
          ? 'replaced (a changed Job runs again)'
          : 'replaced (immutable field changed)'
        : 'updated';
    p.reported = true;
    ctx.emit({ type: 'step', id, phase: 'done', detail: `${verb} ${what}`, ms: ms() });
  } catch (err) {
    const message =
      err instanceof KubeApiError
        ? `${what} (${o.source.file}#${o.source.index}) was refused by the API server: ${serverMessage(err)}`
        : `${what}: ${(err as Error).message}`;
    p.reported = true;
    ctx.emit({ type: 'step', id, phase: 'fail', detail: what, error: message, ms: ms() });
    throw isRefusal(err) ? badInput(message) : err;
  }
}

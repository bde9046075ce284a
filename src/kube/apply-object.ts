/**
 * One object of a reconcile (apply.ts): its plan (read the live object, decide: skip when
 * unchanged or not devenv's, apply, or replace) and its write (server-side apply; a
 * replace deletes the devenv-owned object, waits until it is gone and applies it again; a
 * custom resource waits until its CRD is served), with its step events.
 */
import { badInput, DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { LABEL_ENV, LABEL_MANAGED_BY, LABEL_PROJECT } from '../labels.ts';
import {
  ANNOTATION_HASH,
  type DeployEnv,
  describeObject,
  isOwned,
  type RenderedObject,
} from '../manifests/types.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { deleteObject, readObject, refOf, serverSideApply, waitGone } from './objects.ts';
import type { LiveObject } from './types.ts';

const IMMUTABLE = /immutable|may not be changed|cannot be updated|field is not allowed to be changed/i;

export interface Conflict {
  key: string;
  /** "Deployment back/api". */
  object: string;
  reason: string;
}

/** What the plans and writes of one reconcile count (a part of apply.ts ReconcileResult). */
export interface ApplyTally {
  created: number;
  updated: number;
  unchanged: number;
  conflicts: Conflict[];
  /** Every mutating API call made (apply, create, delete). */
  writes: number;
  /** describeObject() of objects created or updated, in apply order. */
  changed: string[];
}

/** An object's decision, then its progress through validation and write. */
export interface Plan {
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

export function isImmutable(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 422 && IMMUTABLE.test(err.message);
}

/**
 * The API server refused the object itself (bad input), as opposed to failing. A field
 * that is not in the kind's schema comes back from server-side apply as a 500 "failed to
 * create typed patch object", not as a 422.
 */
export function isRefusal(err: unknown): err is KubeApiError {
  return (
    err instanceof KubeApiError &&
    (err.status === 422 ||
      err.status === 400 ||
      (err.status === 500 && /typed patch object|not declared in schema/.test(err.message)))
  );
}

/** The API server's own words, without the "PATCH /apis/...:" prefix. */
export function serverMessage(err: KubeApiError): string {
  return err.message.replace(/^[A-Z]+ \S+: /, '');
}

export async function plan(
  client: KubeClient,
  o: RenderedObject,
  ctx: {
    project: string;
    env: DeployEnv;
    emit: EventSink;
    result: ApplyTally;
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

export async function write(
  client: KubeClient,
  p: Plan,
  ctx: {
    fieldManager: string;
    emit: EventSink;
    result: ApplyTally;
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

/**
 * Object-level verbs over the raw client: read (404 → undefined), server-side apply,
 * delete, wait until gone. Every caller decides beforehand whether it may touch the
 * object (devenv's labels); these functions do not check.
 */
import type { KubeObject } from '../manifests/types.ts';
import { notYet, ready, waitUntil } from '../wait.ts';
import { isNotFound, type KubeClient, type ObjectRef } from './client.ts';
import type { LiveObject } from './types.ts';

export const FIELD_MANAGER = 'devenv';

export function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

export async function readObject(client: KubeClient, ref: ObjectRef): Promise<LiveObject | undefined> {
  try {
    return await client.request<LiveObject>('GET', await client.pathOf(ref));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Server-side apply (force: devenv takes over fields another manager set, as
 * `kubectl apply --server-side --force-conflicts`). Creates the object if absent.
 * With `dryRun` the API server validates and answers without persisting anything.
 */
export async function serverSideApply(
  client: KubeClient,
  object: KubeObject,
  fieldManager = FIELD_MANAGER,
  dryRun = false,
): Promise<LiveObject> {
  return client.request<LiveObject>('PATCH', await client.pathOf(refOf(object)), {
    // Strict: an unknown or duplicate field is an error, as with `kubectl apply --server-side`.
    query: { fieldManager, force: true, fieldValidation: 'Strict', ...(dryRun ? { dryRun: 'All' } : {}) },
    contentType: 'application/apply-patch+yaml',
    body: object,
  });
}

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** Deletes; true if something was deleted, false if it was already gone. */
export async function deleteObject(
  client: KubeClient,
  ref: ObjectRef,
  propagationPolicy: Propagation = 'Background',
): Promise<boolean> {
  try {
    await client.request('DELETE', await client.pathOf(ref), { query: { propagationPolicy } });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Polls until the object is gone (or its uid changed, i.e. it was recreated). */
export async function waitGone(
  client: KubeClient,
  ref: ObjectRef,
  timeoutMs = 120_000,
  uid?: string,
): Promise<void> {
  const what = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  await waitUntil(
    {
      describe: `${what} to be deleted`,
      probe: async () => {
        const live = await readObject(client, ref);
        return !live || (uid !== undefined && live.metadata.uid !== uid)
          ? ready()
          : notYet(`${what} is still being deleted`);
      },
    },
    { timeoutMs, intervalMs: 500 },
  );
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** Maps with a concurrency limit, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Namespaces: created labelled (so devenv can find and remove what it made), reused as
 * they are when they already exist, deleted only when they carry devenv's labels for the
 * project. A namespace devenv did not create is never labelled, changed or deleted.
 */

import type { EventSink } from '../engine/events.ts';
import { DevenvError } from '../errors.ts';
import { type DeployEnv, isOwned, LABEL_MANAGED_BY, MANAGED_BY, ownerLabels } from '../manifests/types.ts';
import type { KubeClient } from './client.ts';
import {
  deleteObject,
  FIELD_MANAGER,
  type LiveObject,
  readObject,
  serverSideApply,
  waitGone,
} from './objects.ts';

export interface EnsureNamespacesResult {
  created: string[];
  /** Existing and labelled for this project and env: nothing written. */
  unchanged: string[];
  /** Existing WITHOUT devenv's labels for this project/env: used, never modified. */
  foreign: string[];
  writes: number;
}

export interface NamespaceOwner {
  project: string;
  env: DeployEnv;
}

const nsRef = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', name });

/**
 * Makes sure each namespace exists. Missing ones are created with devenv's labels (plus
 * `extraLabels`, e.g. a prerelease expiry); a namespace being deleted is waited for, then
 * created again.
 */
export async function ensureNamespaces(
  client: KubeClient,
  names: readonly string[],
  owner: NamespaceOwner & { extraLabels?: Record<string, string>; onEvent?: EventSink },
): Promise<EnsureNamespacesResult> {
  const result: EnsureNamespacesResult = { created: [], unchanged: [], foreign: [], writes: 0 };
  const labels = { ...(owner.extraLabels ?? {}), ...ownerLabels(owner.project, owner.env) };
  for (const name of [...new Set(names)]) {
    const id = `namespace:${name}`;
    const t0 = performance.now();
    owner.onEvent?.({ type: 'step', id, phase: 'start', detail: `namespace ${name}` });
    let live: LiveObject | undefined = await readObject(client, nsRef(name));
    if (live?.metadata.deletionTimestamp) {
      await waitGone(client, nsRef(name), 180_000, live.metadata.uid);
      live = undefined;
    }
    const ms = () => Math.round(performance.now() - t0);
    if (!live) {
      await serverSideApply(
        client,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
        FIELD_MANAGER,
      );
      result.created.push(name);
      result.writes++;
      owner.onEvent?.({ type: 'step', id, phase: 'done', detail: `created namespace ${name}`, ms: ms() });
    } else if (isOwned(live.metadata.labels, owner.project, owner.env)) {
      result.unchanged.push(name);
      owner.onEvent?.({ type: 'step', id, phase: 'skip', detail: `namespace ${name} exists`, ms: ms() });
    } else {
      result.foreign.push(name);
      owner.onEvent?.({
        type: 'step',
        id,
        phase: 'skip',
        detail: `namespace ${name} exists and was not created by devenv for ${owner.project}/${owner.env}: used as it is`,
        ms: ms(),
      });
    }
  }
  return result;
}

/** Names of namespaces labelled for this project and env. */
export async function ownedNamespaces(client: KubeClient, owner: NamespaceOwner): Promise<string[]> {
  const selector = Object.entries(ownerLabels(owner.project, owner.env))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await client.request<{ items: LiveObject[] }>('GET', '/api/v1/namespaces', {
    query: { labelSelector: selector },
  });
  return list.items.map((n) => n.metadata.name).sort();
}

/**
 * Deletes a namespace (and so everything in it) only if it carries devenv's labels for
 * this project and env; refuses otherwise. Returns false if it did not exist.
 */
export async function deleteNamespace(
  client: KubeClient,
  name: string,
  owner: NamespaceOwner & { wait?: boolean; timeoutMs?: number },
): Promise<boolean> {
  const live = await readObject(client, nsRef(name));
  if (!live) return false;
  if (!isOwned(live.metadata.labels, owner.project, owner.env)) {
    const by = live.metadata.labels?.[LABEL_MANAGED_BY];
    throw new DevenvError(
      `namespace ${name} was not created by devenv for ${owner.project}/${owner.env}; devenv does not delete it.`,
      {
        details: [
          by === MANAGED_BY
            ? `its labels name another project or env: ${JSON.stringify(live.metadata.labels)}`
            : 'it has no "app.kubernetes.io/managed-by=devenv" label',
        ],
      },
    );
  }
  const deleted = await deleteObject(client, nsRef(name), 'Background');
  if (deleted && owner.wait)
    await waitGone(client, nsRef(name), owner.timeoutMs ?? 180_000, live.metadata.uid);
  return deleted;
}

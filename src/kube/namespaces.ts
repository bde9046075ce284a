/**
 * Namespaces: created labelled (so devenv can find and remove what it made), reused as
 * they are when they already exist, deleted only when they carry devenv's labels for the
 * project. A namespace devenv did not create is never labelled, changed or deleted.
 */

import { DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../labels.ts';
import { type DeployEnv, isOwned, ownerLabels } from '../manifests/types.ts';
import type { KubeClient, ResourceInfo } from './client.ts';
import { deleteObject, FIELD_MANAGER, mapLimit, readObject, serverSideApply, waitGone } from './objects.ts';
import type { ApiGroupListJson, LiveObject } from './types.ts';

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
          by === MANAGED_BY_VALUE
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

/** What Kubernetes itself puts in every namespace: not anyone's data, never "foreign". */
const CLUSTER_MADE: ReadonlyArray<{ group: string; kind: string; name?: string }> = [
  { group: '', kind: 'ConfigMap', name: 'kube-root-ca.crt' },
  { group: '', kind: 'ServiceAccount', name: 'default' },
  // Records of what happened, not objects anyone made.
  { group: '', kind: 'Event' },
  { group: 'events.k8s.io', kind: 'Event' },
];
/** Aggregated read-only views (pod metrics): listable, but not objects in the namespace. */
const VIEW_GROUPS: ReadonlySet<string> = new Set(['metrics.k8s.io']);

/**
 * The objects in a namespace that devenv did not create for this project and env (as
 * describeObject() strings, sorted): what deleting the namespace would take with it
 * besides devenv's own. Every kind the cluster serves in a namespace (API discovery, the
 * preferred version of each group) is listed, and these are NOT foreign:
 *   - objects labelled for `owner` (devenv's own, still terminating after a prune);
 *   - objects a controller made (ownerReferences: a Deployment's ReplicaSets and pods, a
 *     Service's EndpointSlices): they go with their owner;
 *   - Endpoints named after a Service (the endpoints controller's mirror of it);
 *   - the ConfigMap kube-root-ca.crt, the ServiceAccount default and Events, which
 *     Kubernetes makes in every namespace;
 *   - objects already being deleted.
 * A kind that cannot be listed (RBAC) counts as unknown and is returned as "<kind> (cannot
 * list: ...)": what cannot be checked is not assumed absent.
 */
export async function foreignObjects(
  client: KubeClient,
  namespace: string,
  owner: NamespaceOwner,
): Promise<string[]> {
  const groups = await client.request<ApiGroupListJson>('GET', '/apis');
  const versions = [
    'v1',
    ...groups.groups.filter((g) => !VIEW_GROUPS.has(g.name)).map((g) => g.preferredVersion.groupVersion),
  ];
  const kinds: Array<{ apiVersion: string; group: string; kind: string; plural: string }> = [];
  await mapLimit(versions, 8, async (apiVersion) => {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const r = await client.request<{ resources: ResourceInfo[] }>('GET', path);
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
    for (const res of r.resources) {
      if (res.name.includes('/') || !res.namespaced || !res.verbs.includes('list')) continue;
      if (CLUSTER_MADE.some((c) => c.group === group && c.kind === res.kind && c.name === undefined))
        continue;
      kinds.push({ apiVersion, group, kind: res.kind, plural: res.name });
    }
  });
  const found: string[] = [];
  const services = new Set<string>();
  const endpoints: string[] = [];
  await mapLimit(kinds, 8, async (k) => {
    const prefix = k.apiVersion.includes('/') ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
    let items: LiveObject[];
    try {
      items = (
        await client.request<{ items: LiveObject[] }>(
          'GET',
          `${prefix}/namespaces/${encodeURIComponent(namespace)}/${k.plural}`,
        )
      ).items;
    } catch (err) {
      found.push(`${k.kind} (cannot list: ${(err as Error).message})`);
      return;
    }
    for (const o of items) {
      const name = o.metadata.name;
      if (k.group === '' && k.kind === 'Service') services.add(name);
      if (o.metadata.deletionTimestamp) continue;
      if (isOwned(o.metadata.labels, owner.project, owner.env)) continue;
      if ((o.metadata.ownerReferences ?? []).length > 0) continue;
      if (CLUSTER_MADE.some((c) => c.group === k.group && c.kind === k.kind && c.name === name)) continue;
      if (k.group === '' && k.kind === 'Endpoints') {
        endpoints.push(name);
        continue;
      }
      found.push(`${k.kind} ${namespace}/${name}`);
    }
  });
  // Endpoints without their Service: someone made them by hand (or their Service is gone
  // and the controller has not caught up: then they are listed, and the namespace kept).
  for (const name of endpoints) if (!services.has(name)) found.push(`Endpoints ${namespace}/${name}`);
  return found.sort();
}

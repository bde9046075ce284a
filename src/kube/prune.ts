/**
 * Pruning: objects devenv applied from manifests earlier and that are no longer rendered
 * (a manifest or a document was removed) are deleted.
 *
 * An object is a candidate only if it carries ALL of
 *   app.kubernetes.io/managed-by=devenv, dev.devenv/project=P, dev.devenv/env=E
 * (selected by the API server) AND the `dev.devenv/source` annotation that rendering adds,
 * so objects devenv makes itself (namespaces, the data and TLS secrets) are never pruned
 * here, and unlabelled objects are never even listed. Listing is per namespace, so that
 * one prerelease namespace never prunes another's objects.
 */
import type { EventSink } from '../events.ts';
import { sortForDelete } from '../manifests/order.ts';
import {
  ANNOTATION_SOURCE,
  type DeployEnv,
  describeObject,
  isOwned,
  objectKey,
  ownerSelector,
  splitApiVersion,
} from '../manifests/types.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { deleteObject, type Propagation } from './objects.ts';
import type { LiveObject } from './types.ts';

/** The kinds devenv lists when pruning (besides every kind in the rendered set). */
export const PRUNE_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  // Cluster-scoped (listed only with `clusterScoped`): what devenv's ingress controller
  // adds (cluster/ingress.ts), so turning it off or destroying the project removes it.
  { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  // Gateway API (cluster/gateway.ts): the Gateways, GatewayClass and CRDs devenv adds for a
  // project's routes, and the routes, so a project that stops using Gateway API (or is
  // destroyed) leaves none behind. Listed only where the cluster serves them.
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'TLSRoute' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass' },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
];

export interface PruneOptions {
  client: KubeClient;
  project: string;
  env: DeployEnv;
  /** Keys (objectKey) of the rendered objects: these stay. */
  keep: ReadonlySet<string>;
  /** Namespaces to look in. */
  namespaces: readonly string[];
  /** Extra kinds to look at (e.g. those of the rendered set; custom resources included). */
  kinds?: ReadonlyArray<{ apiVersion: string; kind: string }>;
  /** Also prune cluster-scoped objects of `kinds` (dev only: prerelease namespaces share a cluster). */
  clusterScoped?: boolean;
  propagationPolicy?: Propagation;
  dryRun?: boolean;
  onEvent?: EventSink;
}

export interface PruneResult {
  /** describeObject() of each deleted object, in deletion order. */
  deleted: string[];
  writes: number;
}

export async function prune(opts: PruneOptions): Promise<PruneResult> {
  const candidates: Candidate[] = [];
  for (const k of pruneKinds(opts)) candidates.push(...(await candidatesOfKind(opts, k)));
  const result: PruneResult = { deleted: [], writes: 0 };
  for (const c of sortForDelete(candidates)) await deleteCandidate(opts, c, result);
  return result;
}

interface Candidate {
  id: { kind: string };
  live: LiveObject;
  key: string;
}

/** The kinds to look at: PRUNE_KINDS and the caller's, once each, core Namespaces left out. */
function pruneKinds(opts: PruneOptions): Array<{ apiVersion: string; kind: string }> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const k of [...PRUNE_KINDS, ...(opts.kinds ?? [])]) {
    // A Namespace that left the manifests is NOT deleted with everything in it: that is
    // `devenv destroy`'s decision (namespaces.ts), never a side effect of an edit.
    if (k.kind === 'Namespace' && splitApiVersion(k.apiVersion).group === '') continue;
    kinds.set(`${splitApiVersion(k.apiVersion).group}/${k.kind}`, k);
  }
  return [...kinds.values()];
}

/** The live objects of one kind that devenv rendered for this project and env, and that are no longer kept. */
async function candidatesOfKind(
  opts: PruneOptions,
  k: { apiVersion: string; kind: string },
): Promise<Candidate[]> {
  const { client } = opts;
  let namespaced: boolean;
  try {
    namespaced = (await client.resource(k.apiVersion, k.kind)).namespaced;
  } catch {
    return []; // a kind this cluster does not serve (e.g. an uninstalled CRD): nothing of it to prune
  }
  if (!namespaced && !opts.clusterScoped) return [];
  const out: Candidate[] = [];
  const scopes = namespaced ? [...new Set(opts.namespaces)] : [undefined];
  for (const namespace of scopes) {
    const path = await client.pathOf({
      apiVersion: k.apiVersion,
      kind: k.kind,
      ...(namespace ? { namespace } : {}),
    });
    let items: LiveObject[];
    try {
      items = (
        await client.request<{ items: LiveObject[] }>('GET', path, {
          query: { labelSelector: ownerSelector(opts.project, opts.env) },
        })
      ).items;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) continue;
      throw err;
    }
    for (const live of items) {
      live.apiVersion = k.apiVersion;
      live.kind = k.kind;
      const key = prunable(opts, live);
      if (key !== undefined) out.push({ id: { kind: k.kind }, live, key });
    }
  }
  return out;
}

/** The object's key when it may be pruned: devenv's, rendered from a source, not kept, not a controller's. */
function prunable(opts: PruneOptions, live: LiveObject): string | undefined {
  // Belt and braces: the selector already says so, but deletion must never rest on one check.
  if (!isOwned(live.metadata.labels, opts.project, opts.env)) return undefined;
  if (!live.metadata.annotations?.[ANNOTATION_SOURCE]) return undefined;
  if (live.metadata.deletionTimestamp) return undefined;
  const key = objectKey({
    group: splitApiVersion(live.apiVersion).group,
    kind: live.kind,
    namespace: live.metadata.namespace ?? '',
    name: live.metadata.name,
  });
  if (opts.keep.has(key)) return undefined;
  // Pods and Jobs created by a controller belong to it, not to the manifests.
  if (live.metadata.ownerReferences?.some((r) => r.controller)) return undefined;
  return key;
}

async function deleteCandidate(opts: PruneOptions, c: Candidate, result: PruneResult): Promise<void> {
  const what = describeObject({
    kind: c.live.kind,
    namespace: c.live.metadata.namespace ?? '',
    name: c.live.metadata.name,
  });
  const id = `prune:${what}`;
  const t0 = performance.now();
  opts.onEvent?.({ type: 'step', id, phase: 'start', detail: `delete ${what}` });
  if (!opts.dryRun) {
    const gone = await deleteObject(
      opts.client,
      {
        apiVersion: c.live.apiVersion,
        kind: c.live.kind,
        name: c.live.metadata.name,
        ...(c.live.metadata.namespace ? { namespace: c.live.metadata.namespace } : {}),
      },
      opts.propagationPolicy ?? 'Background',
    );
    result.writes++;
    if (!gone) {
      opts.onEvent?.({ type: 'step', id, phase: 'skip', detail: `${what} was already gone` });
      return;
    }
  }
  result.deleted.push(what);
  opts.onEvent?.({
    type: 'step',
    id,
    phase: 'done',
    detail: `${opts.dryRun ? 'would delete' : 'deleted'} ${what} (no longer in the manifests)`,
    ms: Math.round(performance.now() - t0),
  });
}

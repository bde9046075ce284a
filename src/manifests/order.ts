/**
 * Apply and delete order. Objects are applied so that what others depend on exists
 * first: namespaces before what lives in them, CRDs before custom resources, accounts
 * and config before the workloads that mount them, workloads before what routes to them.
 * Deletion runs the same list backwards. (The order follows Helm's install order, which
 * production charts and manifests are written against.)
 *
 * Pure module: no I/O.
 */
import type { ObjectId } from './types.ts';

/** One rank per entry; kinds grouped in an array share a rank (source order decides among them). */
const APPLY_ORDER: readonly (string | readonly string[])[] = [
  'Namespace',
  'CustomResourceDefinition',
  'ResourceQuota',
  'LimitRange',
  'PriorityClass',
  'StorageClass',
  'IngressClass',
  'RuntimeClass',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Service',
  ['Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'],
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
  'NetworkPolicy',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

const RANK: ReadonlyMap<string, number> = new Map(
  APPLY_ORDER.flatMap((kinds, rank) =>
    (typeof kinds === 'string' ? [kinds] : kinds).map((k) => [k, rank] as const),
  ),
);
/** Kinds not listed (custom resources above all) go last: their CRD must be established first. */
const OTHERS = APPLY_ORDER.length;

export function applyRank(kind: string): number {
  return RANK.get(kind) ?? OTHERS;
}

/** Stable sort for apply: by rank, source order kept within a rank. */
export function sortForApply<T extends { id: Pick<ObjectId, 'kind'> }>(objects: readonly T[]): T[] {
  return objects
    .map((o, i) => ({ o, i, r: applyRank(o.id.kind) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.o);
}

/** The reverse of the apply order: what routes to workloads first, namespaces last. */
export function sortForDelete<T extends { id: Pick<ObjectId, 'kind'> }>(objects: readonly T[]): T[] {
  return sortForApply(objects).reverse();
}

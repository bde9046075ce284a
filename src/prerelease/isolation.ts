/**
 * The objects devenv adds to every prerelease namespace so that one nightly deployment
 * cannot disturb the rest of the shared cluster, nor be reached from it:
 *   - NetworkPolicy `devenv-isolation`: default-deny ingress for every pod, except from
 *     the ingress controller's namespace (NGINX, "ingress-nginx" by default) and from pods
 *     of the namespace itself (egress is left open: the app needs the shared database);
 *   - ResourceQuota `devenv-quota` and LimitRange `devenv-limits`: a ceiling for the
 *     namespace, and default requests/limits for containers that name none (the quota
 *     requires them);
 *   - ServiceAccount + Role + RoleBinding `devenv-tests`: read access to the namespace's
 *     pods, logs, services, endpoints, events and workloads, for the test Job to use
 *     (`serviceAccountName: devenv-tests`). Nothing outside the namespace.
 * They are returned as plain objects and rendered like the project's manifests (same
 * labels, hash, apply and prune), so a second `up` rewrites nothing.
 *
 * Pure module: no I/O.
 */
import type { KubeObject } from '../manifests/types.ts';

export const TEST_SERVICE_ACCOUNT = 'devenv-tests';
export const NETWORK_POLICY = 'devenv-isolation';
export const RESOURCE_QUOTA = 'devenv-quota';
export const LIMIT_RANGE = 'devenv-limits';
export const DEFAULT_INGRESS_NAMESPACE = 'ingress-nginx';

/** ResourceQuota `spec.hard` (Kubernetes quantities). */
export const DEFAULT_QUOTA: Readonly<Record<string, string>> = {
  pods: '50',
  'requests.cpu': '4',
  'requests.memory': '8Gi',
  'limits.cpu': '8',
  'limits.memory': '16Gi',
  persistentvolumeclaims: '10',
  'requests.storage': '50Gi',
};

export interface ContainerLimits {
  default: Readonly<Record<string, string>>;
  defaultRequest: Readonly<Record<string, string>>;
}

export const DEFAULT_LIMITS: ContainerLimits = {
  default: { cpu: '500m', memory: '512Mi' },
  defaultRequest: { cpu: '50m', memory: '64Mi' },
};

export interface IsolationOptions {
  namespace: string;
  /** Namespace of the ingress controller allowed in (default "ingress-nginx"). */
  ingressNamespace?: string;
  quota?: Readonly<Record<string, string>>;
  limits?: ContainerLimits;
}

export function isolationObjects(opts: IsolationOptions): KubeObject[] {
  const namespace = opts.namespace;
  const ingressNamespace = opts.ingressNamespace ?? DEFAULT_INGRESS_NAMESPACE;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const md = (name: string) => ({ name, namespace });
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: md(NETWORK_POLICY),
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              // The ingress controller's pods (every namespace carries this label since 1.22).
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ingressNamespace } } },
              // Any pod of this namespace (the app's services, the test Job).
              { podSelector: {} },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: md(RESOURCE_QUOTA),
      spec: { hard: { ...(opts.quota ?? DEFAULT_QUOTA) } },
    },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: md(LIMIT_RANGE),
      spec: {
        limits: [
          { type: 'Container', default: { ...limits.default }, defaultRequest: { ...limits.defaultRequest } },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: md(TEST_SERVICE_ACCOUNT) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: md(TEST_SERVICE_ACCOUNT),
      rules: [
        {
          apiGroups: [''],
          resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'events'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: md(TEST_SERVICE_ACCOUNT),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: TEST_SERVICE_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: TEST_SERVICE_ACCOUNT, namespace }],
    },
  ];
}

/**
 * The project's own NetworkPolicies that open the namespace wider than `devenv-isolation`:
 * an ingress rule with no `from` (any source), or a peer `namespaceSelector: {}` (every
 * namespace) or `ipBlock` 0.0.0.0/0. NetworkPolicies add up, so devenv cannot narrow them
 * without editing the project's manifests; it says so instead. In production such a policy
 * covered one namespace (e.g. the shared backend); in a prerelease it covers what its
 * podSelector selects in the one namespace.
 */
export function wideningPolicies(objects: readonly KubeObject[]): string[] {
  const notes: string[] = [];
  const empty = (sel: unknown) =>
    sel !== null &&
    typeof sel === 'object' &&
    Object.values(sel as Record<string, unknown>).every(
      (v) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0),
    );
  for (const o of objects) {
    if (o.kind !== 'NetworkPolicy' || o.metadata.name === NETWORK_POLICY) continue;
    const spec = (o.spec ?? {}) as {
      podSelector?: unknown;
      policyTypes?: string[];
      ingress?: Array<{
        from?: Array<{ namespaceSelector?: unknown; podSelector?: unknown; ipBlock?: { cidr?: string } }>;
      }>;
    };
    const ingress = spec.ingress ?? [];
    const open = ingress.some(
      (rule) =>
        !rule.from ||
        rule.from.length === 0 ||
        rule.from.some(
          (peer) =>
            (peer.namespaceSelector !== undefined && empty(peer.namespaceSelector) && !peer.podSelector) ||
            peer.ipBlock?.cidr === '0.0.0.0/0' ||
            peer.ipBlock?.cidr === '::/0',
        ),
    );
    if (!open) continue;
    const pods = empty(spec.podSelector ?? {}) ? 'every pod' : 'the pods it selects';
    notes.push(
      `NetworkPolicy ${o.metadata.name} admits traffic from every namespace to ${pods} of ${o.metadata.namespace}; ${NETWORK_POLICY} cannot narrow it (NetworkPolicies add up)`,
    );
  }
  return notes;
}

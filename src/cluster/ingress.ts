/**
 * The ingress controller of devenv's OWN k3d cluster (pure): Traefik v3 with its provider
 * for ingress-nginx annotations, so production's Ingress objects (class `nginx`, written for
 * the community ingress-nginx, retired in March 2026) route unchanged, plus Traefik's own
 * Ingress provider for class `traefik`.
 *
 * Installed by devenv's ordinary apply path (server-side apply, labels, prune, rollout
 * wait) from these objects: no Helm controller, nothing downloaded at `up` but the image.
 * A DaemonSet with hostPorts 80/443 on every node, because k3d's load balancer forwards
 * the host's ingress ports to the nodes' 80/443 and a k3s stand-in (or k3s with servicelb
 * disabled) has no LoadBalancer implementation. Never applied to an allow-listed existing
 * cluster: that cluster's ingress is not devenv's to choose.
 */
import { isDocument } from 'yaml';
import type { SourceDoc } from '../manifests/types.ts';

/** Docker's official Traefik image, the newest v3 release when pinned (2026-09-04). */
export const TRAEFIK_DEFAULT_IMAGE = 'docker.io/library/traefik:v3.7.13';
export const INGRESS_NAMESPACE = 'devenv-ingress';
const NAME = 'traefik';
const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

/** The controller's objects for `image` (cluster.ingressImage). */
export function traefikObjects(image: string): Array<Record<string, unknown>> {
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/component': 'ingress-controller' };
  const meta = (name: string) => ({ name, namespace: INGRESS_NAMESPACE, labels });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME) },
    {
      // What Traefik's Ingress and Ingress-NGINX providers read (Traefik's documented RBAC).
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'devenv-traefik', labels },
      rules: [
        {
          apiGroups: [''],
          resources: ['services', 'secrets', 'configmaps', 'namespaces'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        {
          apiGroups: ['networking.k8s.io'],
          resources: ['ingresses', 'ingressclasses'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'devenv-traefik', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'devenv-traefik' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: INGRESS_NAMESPACE }],
    },
    {
      // Production's class name. Default class: an Ingress without a class gets it, as
      // ingress-nginx installs usually make it.
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: {
        name: 'nginx',
        labels,
        annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
      },
      spec: { controller: 'k8s.io/ingress-nginx' },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'traefik', labels },
      spec: { controller: 'traefik.io/ingress-controller' },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta(NAME),
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            terminationGracePeriodSeconds: 5,
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            containers: [
              {
                name: NAME,
                image,
                args: [
                  '--entryPoints.web.address=:80',
                  '--entryPoints.websecure.address=:443',
                  '--entryPoints.traefik.address=:9000',
                  '--ping=true',
                  '--ping.entryPoint=traefik',
                  '--providers.kubernetesingressnginx=true',
                  '--providers.kubernetesingress=true',
                  '--providers.kubernetesingress.ingressclass=traefik',
                  '--log.level=INFO',
                ],
                ports: [
                  { name: 'web', containerPort: 80, hostPort: 80, protocol: 'TCP' },
                  { name: 'websecure', containerPort: 443, hostPort: 443, protocol: 'TCP' },
                  { name: 'ping', containerPort: 9000, protocol: 'TCP' },
                ],
                readinessProbe: {
                  httpGet: { path: '/ping', port: 'ping' },
                  periodSeconds: 2,
                  failureThreshold: 3,
                },
                securityContext: {
                  capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
                  allowPrivilegeEscalation: false,
                },
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
              },
            ],
          },
        },
      },
    },
  ];
}

/**
 * The ingress-nginx annotations Traefik's Ingress-NGINX provider reads, per Traefik minor
 * (from its `pkg/provider/kubernetes/ingress-nginx/annotations.go`; snippet and ModSecurity
 * annotations are left out: they are NGINX configuration, which Traefik cannot run).
 */
const V36 = [
  'auth-type',
  'auth-secret',
  'auth-realm',
  'auth-secret-type',
  'auth-url',
  'auth-response-headers',
  'force-ssl-redirect',
  'ssl-redirect',
  'ssl-passthrough',
  'use-regex',
  'affinity',
  'session-cookie-name',
  'session-cookie-secure',
  'session-cookie-path',
  'session-cookie-domain',
  'session-cookie-samesite',
  'session-cookie-max-age',
  'service-upstream',
  'backend-protocol',
  'proxy-ssl-secret',
  'proxy-ssl-verify',
  'proxy-ssl-name',
  'proxy-ssl-server-name',
  'enable-cors',
  'cors-allow-credentials',
  'cors-expose-headers',
  'cors-allow-headers',
  'cors-allow-methods',
  'cors-allow-origin',
  'cors-max-age',
];
const V37 = [
  ...V36,
  'auth-signin',
  'auth-method',
  'enable-global-auth',
  'auth-tls-secret',
  'auth-tls-verify-client',
  'auth-tls-pass-certificate-to-upstream',
  'rewrite-target',
  'app-root',
  'permanent-redirect',
  'permanent-redirect-code',
  'temporal-redirect',
  'temporal-redirect-code',
  'from-to-www-redirect',
  'server-alias',
  'session-cookie-expires',
  'upstream-hash-by',
  'proxy-connect-timeout',
  'proxy-read-timeout',
  'proxy-send-timeout',
  'proxy-next-upstream',
  'proxy-next-upstream-tries',
  'proxy-next-upstream-timeout',
  'proxy-http-version',
  'enable-access-log',
  'whitelist-source-range',
  'allowlist-source-range',
  'limit-rpm',
  'limit-rps',
  'limit-burst-multiplier',
  'limit-connections',
  'custom-headers',
  'upstream-vhost',
  'x-forwarded-prefix',
  'custom-http-errors',
  'default-backend',
  'proxy-request-buffering',
  'client-body-buffer-size',
  'proxy-body-size',
  'proxy-buffering',
  'proxy-buffer-size',
  'proxy-buffers-number',
  'proxy-max-temp-file-size',
  'canary',
  'canary-by-cookie',
  'canary-by-header',
  'canary-by-header-value',
  'canary-by-header-pattern',
  'canary-weight',
  'canary-weight-total',
];
export const TRAEFIK_NGINX_ANNOTATIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  '3.6': new Set(V36),
  '3.7': new Set(V37),
};

/** "3.7" from an image reference's tag (v3.7.13, 3.7, v3.7.13-alpine); undefined otherwise. */
export function traefikMinor(image: string): string | undefined {
  const tag = image.split('@')[0]?.split('/').pop()?.split(':')[1] ?? '';
  return /^v?(\d+\.\d+)/.exec(tag)?.[1];
}

export interface AnnotationFinding {
  object: string;
  annotation: string;
  why: string;
}

/**
 * Pure: every ingress-nginx annotation on an Ingress Traefik serves (class nginx, or no
 * class) that the controller's version does not honour, by object and name. An image whose
 * version is not known is judged by the oldest table, and says so.
 */
export function unsupportedAnnotations(docs: readonly SourceDoc[], image: string): AnnotationFinding[] {
  const minor = traefikMinor(image);
  const known = minor !== undefined && minor in TRAEFIK_NGINX_ANNOTATIONS;
  const table = TRAEFIK_NGINX_ANNOTATIONS[known ? (minor as string) : '3.6'] as ReadonlySet<string>;
  const version = known ? `Traefik ${minor}` : `Traefik (version of ${image} unknown; judged as 3.6)`;
  const out: AnnotationFinding[] = [];
  for (const source of docs) {
    const doc = (isDocument(source.doc) ? source.doc.toJS() : source.doc) as Record<string, unknown>;
    if (doc.kind !== 'Ingress') continue;
    const meta = (doc.metadata ?? {}) as {
      name?: string;
      namespace?: string;
      annotations?: Record<string, string>;
    };
    const cls = (doc.spec as { ingressClassName?: string } | undefined)?.ingressClassName;
    if (cls !== undefined && cls !== 'nginx') continue;
    for (const key of Object.keys(meta.annotations ?? {})) {
      if (!key.startsWith(ANNOTATION_PREFIX)) continue;
      const name = key.slice(ANNOTATION_PREFIX.length);
      if (table.has(name)) continue;
      out.push({
        object: `Ingress ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? '?'}`,
        annotation: key,
        why: `not honoured by ${version}: the route works without it`,
      });
    }
  }
  return out;
}

/**
 * The ingress controller devenv installs (pure): Traefik v3 with its provider for
 * ingress-nginx annotations, so production's Ingress objects (class `nginx`, written for the
 * community ingress-nginx, retired in March 2026) route unchanged, plus Traefik's own Ingress
 * provider for class `traefik`.
 *
 * Installed by devenv's ordinary apply path (server-side apply, labels, prune, rollout
 * wait: `up` is not done until the DaemonSet's pods are ready) from these objects: no Helm
 * controller, nothing downloaded at `up` but the image. A DaemonSet with hostPorts on every
 * node rather than a LoadBalancer Service, because k3d's load balancer forwards the host's
 * ingress ports to the nodes' 80/443 and neither a k3s stand-in nor k3s without servicelb
 * implements LoadBalancer Services.
 *
 * Where: always in devenv's own k3d cluster (unless `cluster.ingress: none`); in an
 * allow-listed existing cluster only when `cluster.ingressOnExistingCluster` asks, because
 * that cluster's ingress is its owner's to choose.
 */

export const INGRESS_NAMESPACE = 'devenv-ingress';
const NAME = 'traefik';
const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

export interface TraefikOptions {
  /** cluster.ingressImage. */
  image: string;
  /** The nodes' ports the controller listens on (hostPort): HTTP and HTTPS. */
  httpPort: number;
  httpsPort: number;
  /**
   * The project's manifests use Gateway API (cluster/gateway.ts): Traefik's
   * `kubernetesgateway` provider and its RBAC too. Off otherwise: that provider waits for
   * the Gateway API CRDs, which devenv installs only for such a project.
   */
  gatewayApi?: boolean;
}

/** The part of `cluster` (config/schema.ts) that decides the controller. */
export interface IngressSettings {
  ingress: 'traefik' | 'none';
  ingressImage: string;
  ingressOnExistingCluster: boolean;
  httpPort: number;
  httpsPort: number;
}

/**
 * Pure: the controller devenv installs on a target, or undefined for none. On k3d the nodes'
 * own 80/443 (k3d maps cluster.httpPort / httpsPort on the host to them); on an existing
 * cluster, asked for by config, cluster.httpPort / httpsPort on its nodes (there the nodes'
 * ports are the ones users reach, as on a single-machine cluster).
 */
export function plannedIngress(
  cluster: IngressSettings,
  target: 'k3d' | 'existing',
): TraefikOptions | undefined {
  if (cluster.ingress !== 'traefik') return undefined;
  if (target === 'k3d') return { image: cluster.ingressImage, httpPort: 80, httpsPort: 443 };
  if (!cluster.ingressOnExistingCluster) return undefined;
  return { image: cluster.ingressImage, httpPort: cluster.httpPort, httpsPort: cluster.httpsPort };
}

/** What Traefik's Gateway API provider watches (and updates the status of). */
const GATEWAY_RESOURCES = [
  'gatewayclasses',
  'gateways',
  'httproutes',
  'grpcroutes',
  'tlsroutes',
  'referencegrants',
  'backendtlspolicies',
];

/** The controller's objects: namespace, RBAC, IngressClasses nginx (default) and traefik, DaemonSet. */
export function traefikObjects(opts: TraefikOptions): Array<Record<string, unknown>> {
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/component': 'ingress-controller' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE, labels } },
    ...traefikRbac(opts, labels),
    ...ingressClasses(labels),
    traefikDaemonSet(opts, labels),
  ];
}

type Labels = Record<string, string>;

/** Traefik's ServiceAccount, its ClusterRole (Gateway API rules with opts.gatewayApi) and their binding. */
function traefikRbac(opts: TraefikOptions, labels: Labels): Array<Record<string, unknown>> {
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: NAME, namespace: INGRESS_NAMESPACE, labels },
    },
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
        // Nodes: Traefik's Ingress provider watches them (node addresses for NodePort services).
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        {
          apiGroups: ['networking.k8s.io'],
          resources: ['ingresses', 'ingressclasses'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
        // Its Gateway API provider (Traefik's documented kubernetes-gateway-rbac.yml, without
        // TCPRoute: experimental channel, not enabled).
        ...(opts.gatewayApi
          ? [
              {
                apiGroups: ['gateway.networking.k8s.io'],
                resources: GATEWAY_RESOURCES,
                verbs: ['get', 'list', 'watch'],
              },
              {
                apiGroups: ['gateway.networking.k8s.io'],
                resources: GATEWAY_RESOURCES.map((r) => `${r}/status`),
                verbs: ['update'],
              },
            ]
          : []),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'devenv-traefik', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'devenv-traefik' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: INGRESS_NAMESPACE }],
    },
  ];
}

/** The IngressClasses: nginx (production's, the default class) and traefik. */
function ingressClasses(labels: Labels): Array<Record<string, unknown>> {
  return [
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
  ];
}

/** The DaemonSet: one Traefik pod per node, on the nodes' HTTP and HTTPS ports (hostPort). */
function traefikDaemonSet(opts: TraefikOptions, labels: Labels): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: NAME, namespace: INGRESS_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NAME,
          terminationGracePeriodSeconds: 5,
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          containers: [traefikContainer(opts)],
        },
      },
    },
  };
}

/** Traefik's container: entrypoints, providers, ports, readiness on /ping, least privilege. */
function traefikContainer(opts: TraefikOptions): Record<string, unknown> {
  return {
    name: NAME,
    image: opts.image,
    args: [
      '--entryPoints.web.address=:80',
      '--entryPoints.websecure.address=:443',
      '--entryPoints.traefik.address=:9000',
      '--ping=true',
      '--ping.entryPoint=traefik',
      // A dev cluster (often offline) does not phone home.
      '--global.checkNewVersion=false',
      '--global.sendAnonymousUsage=false',
      '--providers.kubernetesingressnginx=true',
      ...providerOptions(opts.image),
      '--providers.kubernetesingress=true',
      '--providers.kubernetesingress.ingressclass=traefik',
      // Gateway API (standard channel: HTTPRoute, GRPCRoute, TLSRoute are v1 there;
      // no experimentalChannel). Listeners match the entrypoints by port: 80, 443.
      ...(opts.gatewayApi ? ['--providers.kubernetesgateway=true'] : []),
      '--log.level=INFO',
    ],
    ports: [
      { name: 'web', containerPort: 80, hostPort: opts.httpPort, protocol: 'TCP' },
      { name: 'websecure', containerPort: 443, hostPort: opts.httpsPort, protocol: 'TCP' },
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
  };
}

/**
 * Options of the ingress-nginx provider that make it behave as ingress-nginx does by
 * default. From Traefik 3.7 (3.6 has no such options and refuses unknown flags): request
 * buffering on, as ingress-nginx's `proxy-request-buffering` default, without which Traefik
 * does not enforce `proxy-body-size`.
 */
function providerOptions(image: string): string[] {
  const minor = traefikMinor(image);
  if (minor !== undefined && minorNumber(minor) < minorNumber('3.7')) return [];
  return ['--providers.kubernetesingressnginx.proxyRequestBuffering=true'];
}

/** The Traefik minors the table below knows, oldest first. */
const MINORS = ['3.6', '3.7'] as const;
type Minor = (typeof MINORS)[number];

/** Table entries shared by many rows (one frozen object each). */
const SINCE_3_6 = Object.freeze({ since: '3.6' as Minor });
const SINCE_3_7 = Object.freeze({ since: '3.7' as Minor });
const NGINX_SNIPPET = Object.freeze({
  never: 'NGINX configuration; devenv does not enable snippet annotations',
});
const MODSECURITY = Object.freeze({ never: 'ModSecurity is not part of Traefik Proxy' });

/**
 * THE table of ingress-nginx annotations (without the `nginx.ingress.kubernetes.io/`
 * prefix): from which Traefik minor its ingress-nginx provider honours each one (read from
 * `pkg/provider/kubernetes/ingress-nginx` of v3.6.12 and v3.7.13), or why no version does.
 * An annotation missing here is one that provider does not read at all.
 */
const NGINX_ANNOTATIONS: Readonly<Record<string, { since: Minor } | { never: string }>> = {
  // Host and path rules need no annotation; these shape them.
  'use-regex': SINCE_3_6,
  'rewrite-target': SINCE_3_7,
  'app-root': SINCE_3_7,
  'x-forwarded-prefix': SINCE_3_7,
  'server-alias': SINCE_3_7,
  'upstream-vhost': SINCE_3_7,
  // TLS.
  'ssl-passthrough': SINCE_3_6,
  'ssl-redirect': SINCE_3_6,
  'force-ssl-redirect': SINCE_3_6,
  'backend-protocol': SINCE_3_6,
  'proxy-ssl-secret': SINCE_3_6,
  'proxy-ssl-verify': SINCE_3_6,
  'proxy-ssl-name': SINCE_3_6,
  'proxy-ssl-server-name': SINCE_3_6,
  'auth-tls-secret': SINCE_3_7,
  'auth-tls-verify-client': SINCE_3_7,
  'auth-tls-pass-certificate-to-upstream': SINCE_3_7,
  // Access control.
  'whitelist-source-range': SINCE_3_7,
  'allowlist-source-range': SINCE_3_7,
  'auth-type': SINCE_3_6,
  'auth-secret': SINCE_3_6,
  'auth-secret-type': SINCE_3_6,
  'auth-realm': SINCE_3_6,
  'auth-url': SINCE_3_6,
  'auth-response-headers': SINCE_3_6,
  'auth-signin': SINCE_3_7,
  'auth-method': SINCE_3_7,
  'enable-global-auth': SINCE_3_7,
  'limit-rpm': SINCE_3_7,
  'limit-rps': SINCE_3_7,
  'limit-burst-multiplier': SINCE_3_7,
  'limit-connections': SINCE_3_7,
  // Body size, buffering, timeouts, retries.
  'proxy-body-size': SINCE_3_7,
  'client-body-buffer-size': SINCE_3_7,
  'proxy-request-buffering': SINCE_3_7,
  'proxy-buffering': SINCE_3_7,
  'proxy-buffer-size': SINCE_3_7,
  'proxy-buffers-number': SINCE_3_7,
  'proxy-max-temp-file-size': SINCE_3_7,
  'proxy-connect-timeout': SINCE_3_7,
  'proxy-read-timeout': SINCE_3_7,
  'proxy-send-timeout': SINCE_3_7,
  'proxy-next-upstream': SINCE_3_7,
  'proxy-next-upstream-tries': SINCE_3_7,
  'proxy-next-upstream-timeout': SINCE_3_7,
  'proxy-http-version': SINCE_3_7,
  // Redirects, headers, errors, CORS.
  'permanent-redirect': SINCE_3_7,
  'permanent-redirect-code': SINCE_3_7,
  'temporal-redirect': SINCE_3_7,
  'temporal-redirect-code': SINCE_3_7,
  'from-to-www-redirect': SINCE_3_7,
  'custom-headers': SINCE_3_7,
  'custom-http-errors': SINCE_3_7,
  'default-backend': SINCE_3_7,
  'enable-access-log': SINCE_3_7,
  'enable-cors': SINCE_3_6,
  'cors-allow-credentials': SINCE_3_6,
  'cors-expose-headers': SINCE_3_6,
  'cors-allow-headers': SINCE_3_6,
  'cors-allow-methods': SINCE_3_6,
  'cors-allow-origin': SINCE_3_6,
  'cors-max-age': SINCE_3_6,
  // Upstreams: affinity, hashing, canaries.
  'service-upstream': SINCE_3_6,
  affinity: SINCE_3_6,
  'session-cookie-name': SINCE_3_6,
  'session-cookie-secure': SINCE_3_6,
  'session-cookie-path': SINCE_3_6,
  'session-cookie-domain': SINCE_3_6,
  'session-cookie-samesite': SINCE_3_6,
  'session-cookie-max-age': SINCE_3_6,
  'session-cookie-expires': SINCE_3_7,
  'upstream-hash-by': SINCE_3_7,
  canary: SINCE_3_7,
  'canary-by-cookie': SINCE_3_7,
  'canary-by-header': SINCE_3_7,
  'canary-by-header-value': SINCE_3_7,
  'canary-by-header-pattern': SINCE_3_7,
  'canary-weight': SINCE_3_7,
  'canary-weight-total': SINCE_3_7,
  // Read by the provider, not applied.
  'affinity-canary-behavior': { never: 'parsed but not applied by its ingress-nginx provider' },
  'configuration-snippet': NGINX_SNIPPET,
  'server-snippet': NGINX_SNIPPET,
  'auth-snippet': NGINX_SNIPPET,
  'enable-modsecurity': MODSECURITY,
  'enable-owasp-core-rules': MODSECURITY,
  'modsecurity-snippet': MODSECURITY,
  'modsecurity-transaction-id': MODSECURITY,
};

/** "3.7" from an image reference's tag (v3.7.13, 3.7, v3.7.13-alpine); undefined otherwise. */
export function traefikMinor(image: string): string | undefined {
  const tag = image.split('@')[0]?.split('/').pop()?.split(':')[1] ?? '';
  return /^v?(\d+\.\d+)/.exec(tag)?.[1];
}

const minorNumber = (m: string) => {
  const [a, b] = m.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
};

/**
 * Pure: whether Traefik `minor` honours the ingress-nginx annotation `name` (no prefix),
 * and if not, why. A minor newer than the table's newest is judged by the newest.
 */
export function annotationSupport(
  name: string,
  minor: string,
): { honoured: true } | { honoured: false; why: string } {
  const entry = NGINX_ANNOTATIONS[name];
  if (entry === undefined)
    return { honoured: false, why: `not read by Traefik's ingress-nginx provider (${minor})` };
  if ('never' in entry) return { honoured: false, why: entry.never };
  if (minorNumber(minor) >= minorNumber(entry.since)) return { honoured: true };
  return { honoured: false, why: `honoured from Traefik ${entry.since}, this is ${minor}` };
}

export interface AnnotationFinding {
  object: string;
  annotation: string;
  why: string;
}

/**
 * Pure, over the rendered objects `up` applies: every ingress-nginx annotation on an Ingress
 * the controller serves (class nginx, or no class: nginx is the default class) that the
 * controller's version does not honour, by object and name. An image whose version is not
 * known is judged by the oldest minor, and says so.
 */
export function unsupportedAnnotations(
  objects: readonly Record<string, unknown>[],
  image: string,
): AnnotationFinding[] {
  const tagged = traefikMinor(image);
  const known = tagged !== undefined && minorNumber(tagged) >= minorNumber(MINORS[0]);
  const minor = known ? (tagged as string) : MINORS[0];
  const version = known ? `Traefik ${minor}` : `Traefik (version of ${image} unknown; judged as ${minor})`;
  const out: AnnotationFinding[] = [];
  for (const doc of objects) {
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
      const support = annotationSupport(key.slice(ANNOTATION_PREFIX.length), minor);
      if (support.honoured) continue;
      out.push({
        object: `Ingress ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? '?'}`,
        annotation: key,
        why: `not honoured by ${version} (${support.why}): the route works without it`,
      });
    }
  }
  return out;
}

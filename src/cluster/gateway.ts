/**
 * Gateway API for devenv's Traefik (cluster/ingress.ts): where the project's rendered
 * manifests hold `gateway.networking.k8s.io` objects (HTTPRoute, TLSRoute, GRPCRoute…), the
 * objects that make them route in the dev cluster. Pure, except `loadGatewayApiCrds` (reads
 * the pinned CRD files).
 *
 * - The CRDs, pinned in the repo (src/cluster/gateway-api/: v1.6.1 standard channel, the
 *   version Traefik v3.7.13 is built against), applied by devenv's apply path like its other
 *   objects (labelled, pruned when the manifests stop using Gateway API). Only then: a
 *   project without Gateway API objects gets no CRDs and no change to the controller.
 * - Traefik's `kubernetesgateway` provider (the flag and its RBAC: ingress.ts).
 * - A GatewayClass `traefik` for Traefik's controller name.
 * - Production's routes attach (parentRefs) to a Gateway the platform provides, which is not
 *   in the app's manifests: for each distinct Gateway (namespace/name) the routes name that
 *   the manifests do not define, a Gateway of class `traefik` with an HTTP listener on
 *   Traefik's `web` entrypoint and, where TLSRoutes attach, a TLS listener in Passthrough
 *   mode on `websecure` (the service terminates TLS, as with ssl-passthrough), both
 *   accepting routes from every namespace (a platform Gateway serves many teams). A Gateway
 *   the manifests define is theirs: applied as written (Traefik serves it if its class is
 *   `traefik`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as YAML from 'yaml';
import { type TraefikOptions, traefikObjects } from './ingress.ts';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
/** The pinned CRDs' bundle version (src/cluster/gateway-api/README.md). */
export const GATEWAY_API_VERSION = 'v1.6.1';
/** Traefik's controller name (pkg/provider/kubernetes/gateway/kubernetes.go). */
export const TRAEFIK_GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';
export const GATEWAY_CLASS = 'traefik';
/**
 * Listener ports: Traefik matches a listener to the entrypoint whose address ends in
 * `:<port>`; devenv's DaemonSet listens on :80 (web) and :443 (websecure) in the pod on
 * every target (the node's hostPorts may differ), so these are always the ports.
 */
const WEB_PORT = 80;
const WEBSECURE_PORT = 443;
const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute']);

type Obj = Record<string, unknown>;
interface Meta {
  name?: string;
  namespace?: string;
}
interface ParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  sectionName?: string;
}

const groupOf = (apiVersion: unknown) =>
  typeof apiVersion === 'string' && apiVersion.includes('/')
    ? apiVersion.slice(0, apiVersion.lastIndexOf('/'))
    : '';

/** Pure: whether any of the rendered objects is a Gateway API object. */
export function usesGatewayApi(objects: readonly Obj[]): boolean {
  return objects.some((o) => groupOf(o.apiVersion) === GATEWAY_API_GROUP);
}

export interface PlannedGateway {
  namespace: string;
  name: string;
  /** Listener names: the parentRefs' sectionName where they give one, else http / tls. */
  http: string;
  tls?: string;
}

/**
 * Pure: the Gateways devenv provides: one per distinct (namespace, name) that a route's
 * parentRef names (kind Gateway; its namespace defaulting to the route's) and no object of
 * the manifests defines, sorted. A parentRef's `sectionName` names the listener it attaches
 * to: the first one used per protocol names that listener (a Gateway has one listener per
 * port and protocol here); `port` is not matched (the listeners' ports are Traefik's).
 * `defaultNamespace`: the namespace of a route without one (rendered objects have theirs).
 */
export function plannedGateways(objects: readonly Obj[], defaultNamespace = 'default'): PlannedGateway[] {
  const defined = new Set<string>();
  const wanted = new Map<string, PlannedGateway>();
  for (const o of objects) {
    if (groupOf(o.apiVersion) !== GATEWAY_API_GROUP) continue;
    const meta = (o.metadata ?? {}) as Meta;
    const ns = meta.namespace || defaultNamespace;
    if (o.kind === 'Gateway') {
      defined.add(`${ns}/${meta.name}`);
      continue;
    }
    if (typeof o.kind !== 'string' || !ROUTE_KINDS.has(o.kind)) continue;
    const refs = ((o.spec as { parentRefs?: ParentRef[] } | undefined)?.parentRefs ?? []) as ParentRef[];
    for (const ref of refs) {
      if ((ref.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway')
        continue;
      if (!ref.name) continue;
      const key = `${ref.namespace || ns}/${ref.name}`;
      const gw = wanted.get(key) ?? { namespace: ref.namespace || ns, name: ref.name, http: '' };
      if (o.kind === 'TLSRoute') gw.tls ??= ref.sectionName || 'tls';
      else if (!gw.http && ref.sectionName) gw.http = ref.sectionName;
      wanted.set(key, gw);
    }
  }
  return [...wanted.entries()]
    .filter(([key]) => !defined.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, gw]) => ({ ...gw, http: gw.http || 'http' }));
}

/** Pure: the GatewayClass and the planned Gateways. */
export function gatewayObjects(
  gateways: readonly PlannedGateway[],
  labels: Record<string, string> = {},
): Obj[] {
  const fromAll = { namespaces: { from: 'All' } };
  return [
    {
      apiVersion: `${GATEWAY_API_GROUP}/v1`,
      kind: 'GatewayClass',
      metadata: { name: GATEWAY_CLASS, labels },
      spec: { controllerName: TRAEFIK_GATEWAY_CONTROLLER },
    },
    ...gateways.map((gw) => ({
      apiVersion: `${GATEWAY_API_GROUP}/v1`,
      kind: 'Gateway',
      metadata: { name: gw.name, namespace: gw.namespace, labels },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [
          { name: gw.http, protocol: 'HTTP', port: WEB_PORT, allowedRoutes: fromAll },
          ...(gw.tls
            ? [
                {
                  name: gw.tls,
                  protocol: 'TLS',
                  port: WEBSECURE_PORT,
                  tls: { mode: 'Passthrough' },
                  allowedRoutes: fromAll,
                },
              ]
            : []),
        ],
      },
    })),
  ];
}

/**
 * Every object of devenv's controller for a project whose rendered manifests are `app`:
 * Traefik's (ingress.ts) and, only where `app` uses Gateway API, the CRDs (applied before
 * anything that uses them: apply order ranks CRDs second, custom resources last), the
 * GatewayClass and the Gateways the routes name that `app` lacks.
 */
export function ingressObjects(
  opts: TraefikOptions,
  app: readonly Obj[],
  crds: () => Obj[] = loadGatewayApiCrds,
): Obj[] {
  if (!usesGatewayApi(app)) return traefikObjects(opts);
  return [
    ...crds(),
    ...traefikObjects({ ...opts, gatewayApi: true }),
    ...gatewayObjects(plannedGateways(app)),
  ];
}

/**
 * The pinned CRDs (src/cluster/gateway-api/*.yaml), parsed. The path holds from src/cluster
 * (a checkout) and dist/cluster (the npm package, which ships src/cluster/gateway-api).
 */
export function loadGatewayApiCrds(
  dir = join(import.meta.dirname, '..', '..', 'src', 'cluster', 'gateway-api'),
): Obj[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Obj))
    .filter((d) => d?.kind === 'CustomResourceDefinition');
}

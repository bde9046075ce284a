/**
 * Where each service answers, for the dashboard and the summary `up` prints (pure):
 *  - ingress: each host (and path) of the service's Ingress rules, on the ingress's
 *    cluster.httpPort (https on cluster.httpsPort for hosts under spec.tls and for
 *    ssl-passthrough Ingresses);
 *  - route: each hostname of its Gateway API HTTPRoutes (httpPort) and TLSRoutes (httpsPort);
 *  - tls: the service that terminates TLS itself (`tls.service`): each of `tls.hosts` on
 *    cluster.httpsPort (passed through by SNI) and on its own passthrough port `tls.port`;
 *    wss:// when its Service port is named ws/wss, else https://;
 *  - forward: each of `services[].forwards`, on 127.0.0.1.
 * A path whose backend is another service's Service is that service's (web's Ingress may
 * send /api to api). Ports 80 (http) and 443 (https/wss) are left out of the URLs. Grouped
 * by service in config order; a URL appears once per service.
 */

import type { LoadedConfig } from '../config/load.ts';
import type { Endpoint } from '../store/state.ts';
import { describeTarget, type ForwardPlan } from './forwards.ts';
import { toPlain } from './render.ts';
import type { UpResult } from './up.ts';

export interface EndpointsInput {
  /** The services in config order, with the TLS settings when a service terminates TLS. */
  services: ReadonlyArray<{ name: string }>;
  tls?: { service: string; hosts: readonly string[]; port: number };
  httpPort: number;
  httpsPort: number;
  /** Each service's manifests as plain objects (loaded or rendered: hosts do not change). */
  objects: ReadonlyMap<string, readonly unknown[]>;
  forwards?: readonly ForwardPlan[];
}

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const PASSTHROUGH = 'nginx.ingress.kubernetes.io/ssl-passthrough';

export function serviceEndpoints(input: EndpointsInput): Endpoint[] {
  const http = (host: string, path = '/') =>
    `http://${host}${input.httpPort === 80 ? '' : `:${input.httpPort}`}${path}`;
  const https = (scheme: string, host: string, port = input.httpsPort, path = '/') =>
    `${scheme}://${host}${port === 443 ? '' : `:${port}`}${path}`;
  const objectsOf = (name: string) =>
    (input.objects.get(name) ?? []).filter((o): o is Obj => typeof o === 'object' && o !== null);
  // A route's path belongs to the service whose manifests hold its backend Service (web's
  // Ingress may send /api to the api service).
  const owner = new Map<string, string>();
  for (const svc of input.services)
    for (const o of objectsOf(svc.name))
      if (o.kind === 'Service' && typeof o.metadata?.name === 'string' && !owner.has(o.metadata.name))
        owner.set(o.metadata.name, svc.name);
  const byService = new Map<string, Endpoint[]>(input.services.map((s) => [s.name, []]));
  const seen = new Set<string>();
  const add = (service: string, kind: Endpoint['kind'], url: string, note?: string) => {
    const list = byService.get(service);
    if (!list || seen.has(`${service} ${url}`)) return;
    seen.add(`${service} ${url}`);
    list.push(note === undefined ? { service, kind, url } : { service, kind, url, note });
  };
  const backendOf = (b: unknown, fallback: string): string => {
    const name = (b as { service?: { name?: unknown } } | undefined)?.service?.name;
    return (typeof name === 'string' && owner.get(name)) || fallback;
  };

  for (const svc of input.services) {
    const objects = objectsOf(svc.name);
    const scheme = tlsScheme(objects);
    const tls = input.tls?.service === svc.name ? input.tls : undefined;
    if (tls) {
      for (const h of tls.hosts) add(svc.name, 'tls', https(scheme, h), 'TLS passed through by SNI');
      for (const h of tls.hosts) add(svc.name, 'tls', https(scheme, h, tls.port), 'passthrough port');
    }
    for (const o of objects) {
      if (o.kind === 'Ingress' && String(o.apiVersion ?? '').startsWith('networking.k8s.io/')) {
        const passthrough = o.metadata?.annotations?.[PASSTHROUGH] === 'true';
        const tlsHosts = new Set<string>();
        for (const t of arr(o.spec?.tls))
          for (const h of arr((t as { hosts?: unknown }).hosts)) tlsHosts.add(String(h));
        for (const rule of arr(o.spec?.rules)) {
          const r = rule as { host?: unknown; http?: { paths?: unknown } };
          const host = typeof r.host === 'string' && r.host !== '' ? r.host : 'localhost';
          const paths = arr(r.http?.paths) as Array<{ path?: unknown; backend?: unknown }>;
          if (passthrough) {
            const to = backendOf(paths[0]?.backend, svc.name);
            const toScheme = tlsScheme(objectsOf(to));
            add(to, 'tls', https(toScheme, host), 'TLS passed through by SNI');
            continue;
          }
          for (const p of paths.length ? paths : [{}]) {
            const to = backendOf(p.backend, svc.name);
            const path = cleanPath(p.path);
            add(to, 'ingress', http(host, path));
            if (tlsHosts.has(host)) add(to, 'ingress', https('https', host, input.httpsPort, path));
          }
        }
      } else if (o.kind === 'HTTPRoute') {
        const to = backendOf(routeBackend(o), svc.name);
        for (const h of arr(o.spec?.hostnames)) add(to, 'route', http(String(h)));
      } else if (o.kind === 'TLSRoute') {
        const to = backendOf(routeBackend(o), svc.name);
        for (const h of arr(o.spec?.hostnames))
          add(to, 'route', https(tlsScheme(objectsOf(to)), String(h)), 'TLS passed through by SNI');
      }
    }
  }
  for (const f of input.forwards ?? []) add(f.service, 'forward', `127.0.0.1:${f.local}`, describeTarget(f));
  return [...byService.values()].flat();
}

/** A Gateway API route's first backend, in the Ingress backend's shape ({ service: { name } }). */
function routeBackend(o: Obj): unknown {
  const ref = (arr(o.spec?.rules)[0] as { backendRefs?: unknown } | undefined)?.backendRefs;
  const name = (arr(ref)[0] as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? { service: { name } } : undefined;
}

/** One line per endpoint for the summary: "  api     http://social.localhost:8080/api". */
export function endpointLines(list: readonly Endpoint[]): string[] {
  const w = Math.max(0, ...list.map((e) => e.service.length));
  return list.map((e) => `  ${e.service.padEnd(w)}  ${e.url}${e.note ? `  (${e.note})` : ''}`);
}

/** wss:// when the service's Service port is named for WebSockets (ws, wss, websocket), else https://. */
function tlsScheme(objects: readonly Obj[]): 'wss' | 'https' {
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    for (const p of arr(o.spec?.ports)) {
      const name = (p as { name?: unknown }).name;
      if (typeof name === 'string' && /^(wss?|websockets?)(-|$)/i.test(name)) return 'wss';
    }
  }
  return 'https';
}

/** An Ingress path as a URL path: the literal prefix of a regex path, "/" when none. */
function cleanPath(p: unknown): string {
  if (typeof p !== 'string' || p === '') return '/';
  const cut = p.search(/[()[\]*$?\\^|+{]/);
  const lit = cut >= 0 ? p.slice(0, cut) : p;
  return lit.startsWith('/') ? lit : `/${lit}`;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The endpoints input of an `up` that returned: its config, rendered sources and forwards. */
export function upEndpointsInput(
  loaded: LoadedConfig,
  result: UpResult,
  forwards: UpResult['forwards'],
): EndpointsInput {
  const { config } = loaded;
  const objects = new Map<string, unknown[]>();
  for (const [name, docs] of result.docs) objects.set(name, docs.map(toPlain));
  return {
    services: config.services,
    ...(config.tls
      ? { tls: { service: config.tls.service, hosts: config.tls.hosts, port: config.tls.port } }
      : {}),
    httpPort: config.cluster.httpPort,
    httpsPort: config.cluster.httpsPort,
    objects,
    forwards,
  };
}

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
 * Ports 80 (http) and 443 (https/wss) are left out of the URLs. Input order is kept; a URL
 * appears once per service.
 */
import type { Endpoint } from '../store/state.ts';
import { describeTarget, type ForwardPlan } from './forwards.ts';

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
  metadata?: { annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const PASSTHROUGH = 'nginx.ingress.kubernetes.io/ssl-passthrough';

export function serviceEndpoints(input: EndpointsInput): Endpoint[] {
  const out: Endpoint[] = [];
  const http = (host: string, path = '') =>
    `http://${host}${input.httpPort === 80 ? '' : `:${input.httpPort}`}${path}`;
  const secure = (scheme: string, host: string, port = input.httpsPort) =>
    `${scheme}://${host}${port === 443 ? '' : `:${port}`}/`;
  for (const svc of input.services) {
    const seen = new Set<string>();
    const add = (kind: Endpoint['kind'], url: string, note?: string) => {
      if (seen.has(url)) return;
      seen.add(url);
      out.push(
        note === undefined ? { service: svc.name, kind, url } : { service: svc.name, kind, url, note },
      );
    };
    const objects = (input.objects.get(svc.name) ?? []).filter(
      (o): o is Obj => typeof o === 'object' && o !== null,
    );
    const scheme = tlsScheme(objects);
    const tls = input.tls?.service === svc.name ? input.tls : undefined;
    if (tls) {
      for (const h of tls.hosts) add('tls', secure(scheme, h), 'TLS passed through by SNI');
      for (const h of tls.hosts) add('tls', secure(scheme, h, tls.port), 'passthrough port');
    }
    for (const o of objects) {
      if (
        o.kind === 'Ingress' &&
        typeof o.apiVersion === 'string' &&
        o.apiVersion.startsWith('networking.k8s.io/')
      ) {
        const passthrough = o.metadata?.annotations?.[PASSTHROUGH] === 'true';
        const tlsHosts = new Set<string>();
        for (const t of arr(o.spec?.tls))
          for (const h of arr((t as { hosts?: unknown }).hosts)) tlsHosts.add(String(h));
        for (const rule of arr(o.spec?.rules)) {
          const r = rule as { host?: unknown; http?: { paths?: unknown } };
          const host = typeof r.host === 'string' && r.host !== '' ? r.host : 'localhost';
          if (passthrough) {
            add(tls ? 'tls' : 'ingress', secure(scheme, host), 'TLS passed through by SNI');
            continue;
          }
          const paths = arr(r.http?.paths).map((p) => cleanPath((p as { path?: unknown }).path));
          for (const p of paths.length ? paths : ['/']) {
            add('ingress', http(host, p));
            if (tlsHosts.has(host))
              add('ingress', `https://${host}${input.httpsPort === 443 ? '' : `:${input.httpsPort}`}${p}`);
          }
        }
      } else if (o.kind === 'HTTPRoute') {
        for (const h of arr(o.spec?.hostnames)) add('route', http(String(h), '/'));
      } else if (o.kind === 'TLSRoute') {
        for (const h of arr(o.spec?.hostnames))
          add('route', secure(scheme, String(h)), 'TLS passed through by SNI');
      }
    }
    for (const f of input.forwards ?? [])
      if (f.service === svc.name) add('forward', `127.0.0.1:${f.local}`, describeTarget(f));
  }
  return out;
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

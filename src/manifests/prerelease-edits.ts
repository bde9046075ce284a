/**
 * Prerelease's edits of rendered objects: every object moved into one namespace, so the
 * names that reach them move too — cluster DNS names of the source's Services (in
 * container env values, command and args, and ConfigMap data), Ingress hosts (under
 * `prerelease.ingressDomain`), and the namespaces of ServiceAccount subjects of bindings.
 * Every rewrite of a value is listed as a `Rewrite`.
 *
 * Pure module: no I/O.
 */
import { type Editor, isRecord, type Path } from './editor.ts';
import { contentHash } from './hash.ts';

/** A value prerelease rewrote: a cluster DNS name of a moved Service, or an Ingress host. */
export interface Rewrite {
  /** describeObject() of the object that holds the value. */
  object: string;
  /** Where in it, e.g. "containers[portal].env[API_URL]" or "data[config.ini]". */
  field: string;
  from: string;
  to: string;
  why: string;
}

const MOVED = 'its Service moved into this namespace';

/** The object being rendered, as the edits below see it. */
export interface EditTarget {
  ed: Editor;
  kind: string;
  name: string;
}

/**
 * Prerelease's DNS rewrite for values that name Services of `from` namespaces:
 * `<svc>.<ns>.svc[.cluster.local]` for any label, and the short `<svc>.<ns>` only for a
 * Service of the set (anything else of that shape may be an outside host name).
 * The replacement keeps the rest of the value (scheme, port, path) as written.
 */
export function dnsRewriter(
  from: readonly string[],
  services: ReadonlySet<string>,
  to: string,
): (value: string) => string {
  if (from.length === 0) return (v) => v;
  const alternatives = [...from]
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  // A DNS label, a dot, a source namespace; then ".svc" (long form) or not (short form),
  // bounded so that "api.back" never matches inside "api.backend" or "x.api.back.example.com".
  const re = new RegExp(
    `(?<![A-Za-z0-9.-])([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\\.(${alternatives})(?:(\\.svc)(?![A-Za-z0-9-])|(?![A-Za-z0-9-]|\\.[A-Za-z0-9]))`,
    'g',
  );
  return (value) =>
    value.replace(re, (m, svc: string, ns: string, long: string | undefined) => {
      if (long) return `${svc}.${to}.svc`;
      return services.has(`${svc}.${ns}`) ? `${svc}.${to}` : m;
    });
}

/**
 * A prerelease's own host for a production host: `<first label>-<namespace>.<domain>`, one
 * label under the domain so that one wildcard DNS record and certificate cover every
 * prerelease ("shop.example.com" in prerelease-nightly-20261123 under prerelease.example.com
 * → "shop-prerelease-nightly-20261123.prerelease.example.com"). A label longer than 63
 * characters is shortened with a hash; a wildcard host keeps its "*." prefix.
 */
export function prereleaseHost(host: string, namespace: string, domain: string): string {
  const wildcard = host.startsWith('*.');
  const first = (wildcard ? host.slice(2) : host).split('.')[0] || 'host';
  let label = `${first}-${namespace}`;
  if (label.length > 63) label = `${label.slice(0, 54)}-${contentHash(label).slice(0, 8)}`;
  return `${wildcard ? '*.' : ''}${label}.${domain}`;
}

/**
 * Cluster DNS names in one container's env values, command and args, pointed at the one
 * namespace. `base` is the container's path, `list` its list ("containers").
 */
export function rewriteContainerDns(
  t: EditTarget,
  dns: (value: string) => string,
  base: Path,
  list: string,
  c: Record<string, unknown>,
  rewrites: Rewrite[],
): void {
  const where = `${list}[${typeof c.name === 'string' ? c.name : base[base.length - 1]}]`;
  const rewrite = (path: Path, value: unknown, field: string) => {
    if (typeof value !== 'string') return;
    const to = dns(value);
    if (to === value) return;
    t.ed.set(path, to);
    rewrites.push({ object: `${t.kind} ${t.name}`, field: `${where}.${field}`, from: value, to, why: MOVED });
  };
  if (Array.isArray(c.env))
    c.env.forEach((e: unknown, j: number) => {
      if (isRecord(e)) rewrite([...base, 'env', j, 'value'], e.value, `env[${String(e.name)}]`);
    });
  for (const key of ['command', 'args'] as const) {
    const arr = c[key];
    if (!Array.isArray(arr)) continue;
    arr.forEach((v, j) => {
      rewrite([...base, key, j], v, `${key}[${j}]`);
    });
  }
}

/** Configuration that names Services of the source's namespaces follows them. */
export function rewriteConfigMapDns(
  t: EditTarget,
  dns: (value: string) => string,
  rewrites: Rewrite[],
): void {
  const data = t.ed.get(['data']);
  if (!isRecord(data)) return;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') continue;
    const to = dns(v);
    if (to === v) continue;
    t.ed.set(['data', k], to);
    rewrites.push({ object: `${t.kind} ${t.name}`, field: `data[${k}]`, from: v, to, why: MOVED });
  }
}

/** Ingress hosts (rules and tls) of its own under prerelease.ingressDomain. */
export function renameIngressHosts(
  t: EditTarget,
  namespace: string,
  domain: string,
  rewrites: Rewrite[],
): void {
  const { ed } = t;
  const rename = (h: string) => prereleaseHost(h, namespace, domain);
  const rules = ed.get(['spec', 'rules']);
  if (Array.isArray(rules))
    rules.forEach((r: unknown, i: number) => {
      if (!isRecord(r) || typeof r.host !== 'string') return;
      const to = rename(r.host);
      ed.set(['spec', 'rules', i, 'host'], to);
      rewrites.push({
        object: `${t.kind} ${t.name}`,
        field: `rules[${i}].host`,
        from: r.host,
        to,
        why: 'a host of its own under prerelease.ingressDomain',
      });
    });
  const tls = ed.get(['spec', 'tls']);
  if (Array.isArray(tls))
    tls.forEach((tl: unknown, i: number) => {
      if (!isRecord(tl) || !Array.isArray(tl.hosts)) return;
      tl.hosts.forEach((h: unknown, j: number) => {
        if (typeof h === 'string') ed.set(['spec', 'tls', i, 'hosts', j], rename(h));
      });
    });
}

/** Bindings to service accounts of the source's namespaces follow them into `namespace`. */
export function followBindingSubjects(
  ed: Editor,
  sourceNamespaces: ReadonlySet<string>,
  namespace: string,
): void {
  const subjects = ed.get(['subjects']);
  if (!Array.isArray(subjects)) return;
  subjects.forEach((s: unknown, i: number) => {
    if (
      isRecord(s) &&
      s.kind === 'ServiceAccount' &&
      typeof s.namespace === 'string' &&
      sourceNamespaces.has(s.namespace) &&
      s.namespace !== namespace
    ) {
      ed.set(['subjects', i, 'namespace'], namespace);
    }
  });
}

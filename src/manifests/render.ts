/**
 * Rendering: production manifests in, the objects devenv applies out. The ONLY changes
 * made to an object are:
 *   - metadata.namespace: prerelease puts every namespaced object in one namespace (and
 *     drops the source's Namespace objects); dev keeps the namespace an object names and
 *     gives the caller's default to those that name none;
 *   - prerelease only: cluster DNS names that point into a source namespace
 *     (`api.back.svc.cluster.local`, `api.back.svc`, and `api.back` when `api` is a
 *     Service of namespace `back` in the set) are pointed at the one namespace, in
 *     container env values, command and args, and ConfigMap data — the objects moved, so
 *     the names that reach them move too. Every rewrite is listed in `rewrites`;
 *   - prerelease only: Ingress hosts become hosts of the prerelease under
 *     `ingressDomain` (listed in `rewrites`), and without it Ingresses are not rendered;
 *   - the image of each container / initContainer whose repository (ignoring registry
 *     host and tag) is one devenv builds, replaced by the reference it built;
 *   - `envFrom: [{secretRef: {name: <data secret>, optional: true}}]` appended to every
 *     container of Deployments, StatefulSets, DaemonSets, Jobs and CronJobs that lacks it
 *     (so DATABASE_URL and friends reach the app without editing production manifests);
 *   - devenv's three ownership labels on metadata.labels AND on pod templates (so pods are
 *     found by label), never on selectors (immutable, and they must keep matching);
 *   - annotations `dev.devenv/source: <file>#<index>` and `dev.devenv/applied-hash`.
 * Jobs labelled `dev.devenv/role: test` (the integration tests) are rendered only when
 * `tests` is set (by `prerelease test`); otherwise they are listed in `dropped`.
 * Everything else is left exactly as written: edits are made on a clone of the yaml
 * Document, so values, key order, comments and scalar styles of untouched fields survive.
 *
 * Pure module: no I/O. The input is never mutated, so the reload loop can render the same
 * documents again with new image tags.
 */
import * as YAML from 'yaml';
import { badInput } from '../errors.ts';
import { contentHash } from './hash.ts';
import { replacementFor } from './images.ts';
import {
  ANNOTATION_HASH,
  ANNOTATION_SOURCE,
  CLUSTER_SCOPED_KINDS,
  type DeployEnv,
  describeObject,
  ENV_FROM_KINDS,
  isTestJob,
  type KubeObject,
  type ObjectId,
  objectKey,
  ownerLabels,
  POD_SPEC_PATHS,
  type RenderedObject,
  type SourceDoc,
  splitApiVersion,
} from './types.ts';

export interface RenderInput {
  docs: readonly SourceDoc[];
  project: string;
  env: DeployEnv;
  /** Prerelease: the one namespace every namespaced object goes to. */
  namespace?: string;
  /** Dev: the namespace of objects that name none (default: `namespace`, else "default"). */
  defaultNamespace?: string;
  /** Repository name ("shop/api") → full reference devenv built ("localhost:5001/shop/api:<tag>"). */
  images?: Readonly<Record<string, string>>;
  /** Name of the Secret with the data services' variables (e.g. "devenv-data"); none: no envFrom. */
  dataSecret?: string;
  /** Kinds known to be cluster-scoped beyond the built-in list (e.g. from API discovery). */
  clusterScopedKinds?: ReadonlySet<string>;
  /** Render the integration-test Jobs (`dev.devenv/role: test`) too; default: drop them. */
  tests?: boolean;
  /**
   * Prerelease: Ingress hosts become `<first label>-<namespace>.<ingressDomain>`; without
   * it, Ingresses are dropped (on a shared cluster, a copy of production's Ingress would
   * claim production's host names).
   */
  ingressDomain?: string;
}

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

export interface DroppedDoc {
  file: string;
  index: number;
  kind: string;
  name: string;
  reason: string;
}

export interface RenderResult {
  /** In source order (use order.ts to sort for apply). */
  objects: RenderedObject[];
  /** Every namespace a rendered namespaced object lives in, sorted. */
  namespaces: string[];
  /** Keys of `images` that replaced at least one container image. */
  imagesUsed: string[];
  /** Source documents deliberately not rendered (e.g. Namespace objects in prerelease). */
  dropped: DroppedDoc[];
  /** Prerelease: cluster DNS names pointed at the one namespace. */
  rewrites: Rewrite[];
}

type Path = readonly (string | number)[];

const MOVED = 'its Service moved into this namespace';

/** A uniform view over a yaml Document or a plain object, for the few edits rendering makes. */
interface Editor {
  get(path: Path): unknown;
  set(path: Path, value: unknown): void;
  toJS(): Record<string, unknown>;
  toYaml(): string;
}

function documentEditor(source: YAML.Document): Editor {
  const doc = source.clone();
  expandAliases(doc);
  const ensureMap = (path: Path): void => {
    for (let i = 1; i <= path.length; i++) {
      const prefix = path.slice(0, i);
      const node = doc.getIn(prefix, true);
      if (node === undefined || node === null || (YAML.isScalar(node) && node.value === null)) {
        doc.setIn(prefix, doc.createNode({}));
      }
    }
  };
  return {
    get(path) {
      const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
      return YAML.isNode(node) ? node.toJS(doc) : node;
    },
    set(path, value) {
      ensureMap(path.slice(0, -1));
      const existing = doc.getIn(path, true);
      if (YAML.isScalar(existing) && typeof value !== 'object') {
        // Keep the node (and its comment); only the value changes.
        // (The stringifier quotes a plain string that would read as another type, e.g. "yes".)
        existing.value = value;
        return;
      }
      doc.setIn(path, doc.createNode(value));
    },
    toJS() {
      return doc.toJS() as Record<string, unknown>;
    },
    toYaml() {
      return doc.toString({ indentSeq: !usesCompactSequences(source), flowCollectionPadding: false });
    },
  };
}

/**
 * Replaces every alias (`*name`) in `doc` with a copy of the node it names, and drops the
 * anchors: what kubectl sends is the expanded object too. Without it an edit through an
 * alias fails ("Expected YAML collection at labels" for `labels: *common`), and an edit
 * of an anchored map (devenv's labels on `metadata.labels: &l`) would also change every
 * place that aliases it (`selector.matchLabels: *l`). parse.ts has already refused
 * aliases that cannot be expanded or expand too much, so this ends.
 */
function expandAliases(doc: YAML.Document): void {
  for (let found = true; found; ) {
    found = false;
    YAML.visit(doc, {
      Alias(_key, alias) {
        const target = alias.resolve(doc);
        if (!target) return undefined;
        found = true;
        return target.clone() as YAML.Node;
      },
    });
  }
  YAML.visit(doc, {
    Node(_key, node) {
      if ('anchor' in node) delete (node as { anchor?: string }).anchor;
    },
  });
}

/**
 * True when the source writes block sequences flush with their parent key
 * ("containers:\n- name: api"), so that the rendered YAML keeps that layout.
 * Needs the CST tokens that parse.ts keeps (keepSourceTokens).
 */
function usesCompactSequences(doc: YAML.Document): boolean {
  let compact = false;
  YAML.visit(doc, {
    Map(_key, map) {
      const mapIndent = (map.srcToken as { indent?: number } | undefined)?.indent;
      for (const pair of map.items) {
        const v = pair.value;
        if (!YAML.isSeq(v) || v.flow) continue;
        const seqIndent = (v.srcToken as { indent?: number } | undefined)?.indent;
        if (mapIndent === undefined || seqIndent === undefined) continue;
        compact = seqIndent === mapIndent;
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  return compact;
}

function objectEditor(source: Record<string, unknown>): Editor {
  const root = structuredClone(source);
  const walk = (path: Path, create: boolean): Record<string | number, unknown> | undefined => {
    let cur: unknown = root;
    for (const p of path) {
      if (cur === null || typeof cur !== 'object') return undefined;
      const c = cur as Record<string | number, unknown>;
      if ((c[p] === undefined || c[p] === null) && create) c[p] = {};
      cur = c[p];
    }
    return cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>) : undefined;
  };
  return {
    get(path) {
      if (path.length === 0) return root;
      const parent = walk(path.slice(0, -1), false);
      return parent?.[path[path.length - 1]!];
    },
    set(path, value) {
      const parent = walk(path.slice(0, -1), true);
      if (parent) parent[path[path.length - 1]!] = structuredClone(value);
    },
    toJS() {
      return structuredClone(root);
    },
    toYaml() {
      return YAML.stringify(root, { version: '1.1' });
    },
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function sourceOf(d: SourceDoc): string {
  return `${d.file}${d.line !== undefined ? `:${d.line}:${d.col ?? 1}` : ''}`;
}

export function renderManifests(input: RenderInput): RenderResult {
  const images = input.images ?? {};
  const labels = ownerLabels(input.project, input.env);
  const defaultNamespace = input.defaultNamespace ?? input.namespace ?? 'default';
  const problems: string[] = [];

  // Cluster-scoped custom resources: their CRD in the same set says so.
  const clusterScoped = new Set([...CLUSTER_SCOPED_KINDS, ...(input.clusterScopedKinds ?? [])]);
  const sourceNamespaces = new Set<string>();
  /** "name.namespace" of every Service in the set, as written (for the short DNS form). */
  const sourceServices = new Set<string>();
  for (const d of input.docs) {
    const o = YAML.isDocument(d.doc) ? (d.doc.toJS() as unknown) : d.doc;
    if (!isRecord(o)) continue;
    if (o.kind === 'CustomResourceDefinition' && isRecord(o.spec) && o.spec.scope === 'Cluster') {
      const names = o.spec.names;
      if (isRecord(names) && typeof names.kind === 'string') clusterScoped.add(names.kind);
    }
    const md = o.metadata;
    if (isRecord(md)) {
      if (o.kind === 'Namespace' && typeof md.name === 'string') sourceNamespaces.add(md.name);
      if (typeof md.namespace === 'string') sourceNamespaces.add(md.namespace);
      if (o.kind === 'Service' && typeof md.name === 'string')
        sourceServices.add(
          `${md.name}.${typeof md.namespace === 'string' ? md.namespace : defaultNamespace}`,
        );
    }
  }
  const dns =
    input.namespace !== undefined
      ? dnsRewriter(
          [...sourceNamespaces].filter((n) => n !== input.namespace),
          sourceServices,
          input.namespace,
        )
      : undefined;
  const rewrites: Rewrite[] = [];

  const objects: RenderedObject[] = [];
  const dropped: DroppedDoc[] = [];
  const used = new Set<string>();
  const seen = new Map<string, SourceDoc>();

  for (const d of input.docs) {
    const ed = YAML.isDocument(d.doc) ? documentEditor(d.doc) : objectEditor(d.doc);
    const apiVersion = ed.get(['apiVersion']);
    const kind = ed.get(['kind']);
    const name = ed.get(['metadata', 'name']);
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string' || !name) {
      problems.push(`${sourceOf(d)}: document ${d.index} needs apiVersion, kind and metadata.name`);
      continue;
    }
    const { group, version } = splitApiVersion(apiVersion);
    const namespaced = !clusterScoped.has(kind);

    if (
      input.namespace !== undefined &&
      kind === 'Ingress' &&
      group === 'networking.k8s.io' &&
      !input.ingressDomain
    ) {
      const hosts = ingressHosts(ed);
      dropped.push({
        file: d.file,
        index: d.index,
        kind,
        name,
        reason: `on the shared cluster it would claim ${hosts.length ? `host ${hosts.join(', ')}` : 'every host'}; set prerelease.ingressDomain to give prerelease hosts of their own`,
      });
      continue;
    }

    if (
      !input.tests &&
      isTestJob({ kind, metadata: { labels: asStrings(ed.get(['metadata', 'labels'])) } })
    ) {
      dropped.push({
        file: d.file,
        index: d.index,
        kind,
        name,
        reason: 'integration tests (dev.devenv/role: test) run only with `devenv prerelease test`',
      });
      continue;
    }

    if (input.namespace !== undefined && kind === 'Namespace' && group === '') {
      dropped.push({
        file: d.file,
        index: d.index,
        kind,
        name,
        reason: `prerelease deploys every object into namespace ${input.namespace}`,
      });
      continue;
    }

    // Namespace.
    let namespace = '';
    if (namespaced) {
      const written = ed.get(['metadata', 'namespace']);
      namespace = input.namespace ?? (typeof written === 'string' && written ? written : defaultNamespace);
      if (written !== namespace) ed.set(['metadata', 'namespace'], namespace);
    }

    // Ownership labels on the object.
    for (const [k, v] of Object.entries(labels)) {
      if (ed.get(['metadata', 'labels', k]) !== v) ed.set(['metadata', 'labels', k], v);
    }

    // Pod templates: labels, images, envFrom.
    const templatePath = POD_SPEC_PATHS[kind];
    if (templatePath && (group === '' || group === 'apps' || group === 'batch')) {
      if (kind === 'CronJob') {
        for (const [k, v] of Object.entries(labels)) {
          const p = ['spec', 'jobTemplate', 'metadata', 'labels', k];
          if (ed.get(p) !== v) ed.set(p, v);
        }
      }
      if (templatePath.length > 0) {
        for (const [k, v] of Object.entries(labels)) {
          const p = [...templatePath, 'metadata', 'labels', k];
          if (ed.get(p) !== v) ed.set(p, v);
        }
      }
      const podSpec = [...templatePath, 'spec'];
      for (const list of ['initContainers', 'containers'] as const) {
        const containers = ed.get([...podSpec, list]);
        if (!Array.isArray(containers)) continue;
        containers.forEach((c: unknown, i: number) => {
          if (!isRecord(c)) return;
          if (typeof c.image === 'string') {
            const r = replacementFor(c.image, images);
            if (r) {
              used.add(r.key);
              if (c.image !== r.ref) ed.set([...podSpec, list, i, 'image'], r.ref);
            }
          }
          if (input.dataSecret && ENV_FROM_KINDS.has(kind)) {
            const envFrom = Array.isArray(c.envFrom) ? c.envFrom : [];
            const present = envFrom.some(
              (e: unknown) => isRecord(e) && isRecord(e.secretRef) && e.secretRef.name === input.dataSecret,
            );
            if (!present) {
              const entry = { secretRef: { name: input.dataSecret, optional: true } };
              if (Array.isArray(c.envFrom)) ed.set([...podSpec, list, i, 'envFrom', c.envFrom.length], entry);
              else ed.set([...podSpec, list, i, 'envFrom'], [entry]);
            }
          }
          if (dns) {
            const where = `${list}[${typeof c.name === 'string' ? c.name : i}]`;
            const rewrite = (path: Path, value: unknown, field: string) => {
              if (typeof value !== 'string') return;
              const to = dns(value);
              if (to === value) return;
              ed.set(path, to);
              rewrites.push({
                object: `${kind} ${name}`,
                field: `${where}.${field}`,
                from: value,
                to,
                why: MOVED,
              });
            };
            const base = [...podSpec, list, i];
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
        });
      }
    }

    // Prerelease: configuration that names Services of the source's namespaces follows them.
    if (dns && kind === 'ConfigMap' && group === '') {
      const data = ed.get(['data']);
      if (isRecord(data)) {
        for (const [k, v] of Object.entries(data)) {
          if (typeof v !== 'string') continue;
          const to = dns(v);
          if (to === v) continue;
          ed.set(['data', k], to);
          rewrites.push({ object: `${kind} ${name}`, field: `data[${k}]`, from: v, to, why: MOVED });
        }
      }
    }

    // Prerelease: Ingress hosts of its own under prerelease.ingressDomain.
    if (
      input.namespace !== undefined &&
      input.ingressDomain &&
      kind === 'Ingress' &&
      group === 'networking.k8s.io'
    ) {
      const rename = (h: string) => prereleaseHost(h, input.namespace!, input.ingressDomain!);
      const rules = ed.get(['spec', 'rules']);
      if (Array.isArray(rules))
        rules.forEach((r: unknown, i: number) => {
          if (!isRecord(r) || typeof r.host !== 'string') return;
          const to = rename(r.host);
          ed.set(['spec', 'rules', i, 'host'], to);
          rewrites.push({
            object: `${kind} ${name}`,
            field: `rules[${i}].host`,
            from: r.host,
            to,
            why: 'a host of its own under prerelease.ingressDomain',
          });
        });
      const tls = ed.get(['spec', 'tls']);
      if (Array.isArray(tls))
        tls.forEach((t: unknown, i: number) => {
          if (!isRecord(t) || !Array.isArray(t.hosts)) return;
          t.hosts.forEach((h: unknown, j: number) => {
            if (typeof h === 'string') ed.set(['spec', 'tls', i, 'hosts', j], rename(h));
          });
        });
    }

    // Prerelease: bindings to service accounts of the source's namespaces follow them.
    if (input.namespace !== undefined && (kind === 'RoleBinding' || kind === 'ClusterRoleBinding')) {
      const subjects = ed.get(['subjects']);
      if (Array.isArray(subjects)) {
        subjects.forEach((s: unknown, i: number) => {
          if (
            isRecord(s) &&
            s.kind === 'ServiceAccount' &&
            typeof s.namespace === 'string' &&
            sourceNamespaces.has(s.namespace) &&
            s.namespace !== input.namespace
          ) {
            ed.set(['subjects', i, 'namespace'], input.namespace);
          }
        });
      }
    }

    // Annotations: source, then the hash of everything else.
    const source = `${d.file}#${d.index}`;
    if (ed.get(['metadata', 'annotations', ANNOTATION_SOURCE]) !== source) {
      ed.set(['metadata', 'annotations', ANNOTATION_SOURCE], source);
    }
    const object = ed.toJS() as KubeObject;
    const annotations = object.metadata.annotations ?? {};
    delete annotations[ANNOTATION_HASH];
    const hash = contentHash(object);
    ed.set(['metadata', 'annotations', ANNOTATION_HASH], hash);
    annotations[ANNOTATION_HASH] = hash;
    object.metadata.annotations = annotations;

    const id: ObjectId = { group, version, kind, namespace, name };
    const key = objectKey(id);
    const before = seen.get(key);
    if (before) {
      problems.push(
        `${describeObject(id)} is defined twice: in ${sourceOf(before)} (document ${before.index}) and in ${sourceOf(d)} (document ${d.index})`,
      );
      continue;
    }
    seen.set(key, d);
    objects.push({ key, id, object, hash, yaml: ed.toYaml(), source: { file: d.file, index: d.index } });
  }

  if (problems.length > 0) {
    throw badInput(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the manifests; nothing was applied.`,
      problems,
    );
  }
  const namespaces = [...new Set(objects.map((o) => o.id.namespace).filter((n) => n !== ''))].sort();
  return { objects, namespaces, imagesUsed: [...used].sort(), dropped, rewrites };
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

function ingressHosts(ed: Editor): string[] {
  const rules = ed.get(['spec', 'rules']);
  if (!Array.isArray(rules)) return [];
  return rules.flatMap((r: unknown) => (isRecord(r) && typeof r.host === 'string' ? [r.host] : []));
}

function asStrings(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

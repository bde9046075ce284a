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
import { documentEditor, type Editor, isRecord, objectEditor, type Path } from './editor.ts';
import { contentHash } from './hash.ts';
import { replacementFor } from './images.ts';
import {
  dnsRewriter,
  type EditTarget,
  followBindingSubjects,
  type Rewrite,
  renameIngressHosts,
  rewriteConfigMapDns,
  rewriteContainerDns,
} from './prerelease-edits.ts';
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

/** What the documents as a whole say, and what rendering collects across them. */
interface RenderRun {
  input: RenderInput;
  images: Readonly<Record<string, string>>;
  labels: Record<string, string>;
  defaultNamespace: string;
  /** Built-in cluster-scoped kinds, the caller's, and those of the set's cluster-scoped CRDs. */
  clusterScoped: ReadonlySet<string>;
  /** Every namespace the source names (Namespace objects and metadata.namespace). */
  sourceNamespaces: ReadonlySet<string>;
  /** Prerelease: cluster DNS names of the source's namespaces → the one namespace. */
  dns: ((value: string) => string) | undefined;
  /** Keys of `images` that replaced a container image. */
  used: Set<string>;
  rewrites: Rewrite[];
}

/** A document rendered, left out on purpose, or refused (bad input). */
type DocOutcome = { object: RenderedObject } | { dropped: DroppedDoc } | { problem: string };

export function renderManifests(input: RenderInput): RenderResult {
  const run = startRun(input);
  const problems: string[] = [];
  const objects: RenderedObject[] = [];
  const dropped: DroppedDoc[] = [];
  const seen = new Map<string, SourceDoc>();
  for (const d of input.docs) {
    const out = renderDoc(d, run);
    if ('problem' in out) problems.push(out.problem);
    else if ('dropped' in out) dropped.push(out.dropped);
    else {
      const { object } = out;
      const before = seen.get(object.key);
      if (before) {
        problems.push(
          `${describeObject(object.id)} is defined twice: in ${sourceOf(before)} (document ${before.index}) and in ${sourceOf(d)} (document ${d.index})`,
        );
        continue;
      }
      seen.set(object.key, d);
      objects.push(object);
    }
  }
  if (problems.length > 0) {
    throw badInput(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the manifests; nothing was applied.`,
      problems,
    );
  }
  const namespaces = [...new Set(objects.map((o) => o.id.namespace).filter((n) => n !== ''))].sort();
  return { objects, namespaces, imagesUsed: [...run.used].sort(), dropped, rewrites: run.rewrites };
}

/** Reads the whole set once: cluster-scoped CRD kinds, source namespaces, Services (for DNS). */
function startRun(input: RenderInput): RenderRun {
  const defaultNamespace = input.defaultNamespace ?? input.namespace ?? 'default';
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
  return {
    input,
    images: input.images ?? {},
    labels: ownerLabels(input.project, input.env),
    defaultNamespace,
    clusterScoped,
    sourceNamespaces,
    dns,
    used: new Set<string>(),
    rewrites: [],
  };
}

/** One document: identity, then the edits in a fixed order, then the annotations. */
function renderDoc(d: SourceDoc, run: RenderRun): DocOutcome {
  const { input } = run;
  const ed = YAML.isDocument(d.doc) ? documentEditor(d.doc) : objectEditor(d.doc);
  const apiVersion = ed.get(['apiVersion']);
  const kind = ed.get(['kind']);
  const name = ed.get(['metadata', 'name']);
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string' || !name) {
    return { problem: `${sourceOf(d)}: document ${d.index} needs apiVersion, kind and metadata.name` };
  }
  const { group, version } = splitApiVersion(apiVersion);
  const reason = dropReason(ed, kind, group, input);
  if (reason) return { dropped: { file: d.file, index: d.index, kind, name, reason } };

  const namespace = run.clusterScoped.has(kind) ? '' : placeInNamespace(ed, run);
  // Ownership labels on the object.
  setLabels(ed, ['metadata', 'labels'], run.labels);
  const target: EditTarget = { ed, kind, name };
  editPodTemplates(target, group, run);
  if (run.dns && kind === 'ConfigMap' && group === '') rewriteConfigMapDns(target, run.dns, run.rewrites);
  if (
    input.namespace !== undefined &&
    input.ingressDomain &&
    kind === 'Ingress' &&
    group === 'networking.k8s.io'
  ) {
    renameIngressHosts(target, input.namespace, input.ingressDomain, run.rewrites);
  }
  if (input.namespace !== undefined && (kind === 'RoleBinding' || kind === 'ClusterRoleBinding')) {
    followBindingSubjects(ed, run.sourceNamespaces, input.namespace);
  }
  const { object, hash } = annotate(ed, d);
  const id: ObjectId = { group, version, kind, namespace, name };
  const yaml = ed.toYaml();
  return { object: { key: objectKey(id), id, object, hash, yaml, source: { file: d.file, index: d.index } } };
}

/** Why a document is deliberately not rendered, or undefined when it is. */
function dropReason(ed: Editor, kind: string, group: string, input: RenderInput): string | undefined {
  if (
    input.namespace !== undefined &&
    kind === 'Ingress' &&
    group === 'networking.k8s.io' &&
    !input.ingressDomain
  ) {
    const hosts = ingressHosts(ed);
    return `on the shared cluster it would claim ${hosts.length ? `host ${hosts.join(', ')}` : 'every host'}; set prerelease.ingressDomain to give prerelease hosts of their own`;
  }
  if (!input.tests && isTestJob({ kind, metadata: { labels: asStrings(ed.get(['metadata', 'labels'])) } })) {
    return 'integration tests (dev.devenv/role: test) run only with `devenv prerelease test`';
  }
  if (input.namespace !== undefined && kind === 'Namespace' && group === '') {
    return `prerelease deploys every object into namespace ${input.namespace}`;
  }
  return undefined;
}

/** A namespaced object's namespace: prerelease's one, else as written, else the default. */
function placeInNamespace(ed: Editor, run: RenderRun): string {
  const written = ed.get(['metadata', 'namespace']);
  const namespace =
    run.input.namespace ?? (typeof written === 'string' && written ? written : run.defaultNamespace);
  if (written !== namespace) ed.set(['metadata', 'namespace'], namespace);
  return namespace;
}

/** Sets each label under `at` that is not already that value (an unchanged field stays as written). */
function setLabels(ed: Editor, at: readonly string[], labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    const p = [...at, k];
    if (ed.get(p) !== v) ed.set(p, v);
  }
}

/** Pod templates of built-in workloads: labels, then per container its image, envFrom and DNS names. */
function editPodTemplates(t: EditTarget, group: string, run: RenderRun): void {
  const { ed, kind } = t;
  const templatePath = POD_SPEC_PATHS[kind];
  if (!templatePath || !(group === '' || group === 'apps' || group === 'batch')) return;
  if (kind === 'CronJob') setLabels(ed, ['spec', 'jobTemplate', 'metadata', 'labels'], run.labels);
  if (templatePath.length > 0) setLabels(ed, [...templatePath, 'metadata', 'labels'], run.labels);
  const podSpec = [...templatePath, 'spec'];
  for (const list of ['initContainers', 'containers'] as const) {
    const containers = ed.get([...podSpec, list]);
    if (!Array.isArray(containers)) continue;
    containers.forEach((c: unknown, i: number) => {
      if (!isRecord(c)) return;
      const base = [...podSpec, list, i];
      replaceImage(ed, base, c, run);
      if (run.input.dataSecret && ENV_FROM_KINDS.has(kind)) addDataEnvFrom(ed, base, c, run.input.dataSecret);
      if (run.dns) rewriteContainerDns(t, run.dns, base, list, c, run.rewrites);
    });
  }
}

/** The image devenv built for this container's repository, when it builds one. */
function replaceImage(ed: Editor, base: Path, c: Record<string, unknown>, run: RenderRun): void {
  if (typeof c.image !== 'string') return;
  const r = replacementFor(c.image, run.images);
  if (!r) return;
  run.used.add(r.key);
  if (c.image !== r.ref) ed.set([...base, 'image'], r.ref);
}

/** `envFrom: [{secretRef: {name: <data secret>, optional: true}}]` appended unless present. */
function addDataEnvFrom(ed: Editor, base: Path, c: Record<string, unknown>, secret: string): void {
  const envFrom = Array.isArray(c.envFrom) ? c.envFrom : [];
  const present = envFrom.some(
    (e: unknown) => isRecord(e) && isRecord(e.secretRef) && e.secretRef.name === secret,
  );
  if (present) return;
  const entry = { secretRef: { name: secret, optional: true } };
  if (Array.isArray(c.envFrom)) ed.set([...base, 'envFrom', c.envFrom.length], entry);
  else ed.set([...base, 'envFrom'], [entry]);
}

/** Annotations: the source, then the hash of everything else (itself left out). */
function annotate(ed: Editor, d: SourceDoc): { object: KubeObject; hash: string } {
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
  return { object, hash };
}

function sourceOf(d: SourceDoc): string {
  return `${d.file}${d.line !== undefined ? `:${d.line}:${d.col ?? 1}` : ''}`;
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

/**
 * Which project service a live object belongs to: pure functions over the live objects
 * (types.ts) and devenv.yaml's services (name + manifests), shared by the watches
 * (watch.ts: pods, service groups, which containers' logs to follow), `devenv logs`
 * (listServicePods) and `devenv status`.
 *
 * Contract:
 * - A workload belongs to the service whose `manifests` produced it: the
 *   `dev.devenv/source` annotation render.ts writes (`<file>#<index>`), the longest
 *   matching manifests path wins; a workload without the annotation (a Job its CronJob
 *   created) takes its owner's service.
 * - A pod belongs to the service of the workload whose selector matches it; failing that,
 *   to its `app.kubernetes.io/name` label, then its `app` label.
 * - No I/O: unit-tested on JSON fixtures (test/fixtures/kube/*.json).
 */
import { remoteChartLabel } from '../manifests/helm.ts';
import type { LabelSelector, PodJson, WorkloadJson } from './types.ts';

/** A project service as devenv.yaml declares it (only what the mapping needs). */
export interface ServiceSource {
  name: string;
  /** Paths, or charts (a chart's objects carry `<chart>/ (helm)`, a remote one its label). */
  manifests: readonly (string | { chart: string; repo?: string; version?: string })[];
}

/**
 * The service whose `manifests` produced the object with this `dev.devenv/source`
 * annotation (`<file>#<index>`, file relative to the project root; kustomize output is
 * `<dir>/ (kustomize)`, a chart's `<chart>/ (helm)`). A path matches the file itself or anything below it (so
 * `k8s/api` does not claim `k8s/api-worker.yaml`); the longest matching path wins.
 */
export function serviceOfSource(
  services: readonly ServiceSource[],
  source: string | undefined,
): string | undefined {
  if (!source) return undefined;
  const hash = source.lastIndexOf('#');
  const file = normPath((hash >= 0 ? source.slice(0, hash) : source).replace(/ \((kustomize|helm)\)$/, ''));
  let best: { name: string; len: number } | undefined;
  for (const s of services) {
    for (const m of s.manifests) {
      const p = normPath(typeof m === 'string' ? m : (remoteChartLabel(m) ?? m.chart));
      if (p === '' || file === p || file.startsWith(`${p}/`)) {
        if (!best || p.length > best.len) best = { name: s.name, len: p.length };
      }
    }
  }
  return best?.name;
}

function normPath(p: string): string {
  return p
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '')
    .replace(/^\.$/, '');
}

/** What the pod mapping needs of one workload. */
export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** The project service, when its source (or its owner's) maps to one. */
  service?: string;
  selector?: LabelSelector;
}

/**
 * WorkloadRefs of live workloads. A workload without the source annotation (a Job its
 * CronJob created) takes the service of its owner when the owner is in the list. With
 * `fallback`, every workload gets a service name (see below) even if no service claims it.
 */
export function workloadRefs(
  workloads: readonly WorkloadJson[],
  services: readonly ServiceSource[],
  opts: { fallback?: boolean } = {},
): WorkloadRef[] {
  const refs = workloads.map((w): WorkloadRef => {
    const ref: WorkloadRef = {
      kind: w.kind ?? '',
      namespace: w.metadata.namespace ?? '',
      name: w.metadata.name,
    };
    if (w.metadata.uid) ref.uid = w.metadata.uid;
    const svc = serviceOfSource(services, w.metadata.annotations?.['dev.devenv/source']);
    if (svc) ref.service = svc;
    if (w.spec?.selector) ref.selector = w.spec.selector;
    return ref;
  });
  for (const [i, ref] of refs.entries()) {
    if (ref.service) continue;
    for (const o of workloads[i]!.metadata.ownerReferences ?? []) {
      const owner = refs.find(
        (r) => r.kind === o.kind && r.name === o.name && r.namespace === ref.namespace && r.service,
      );
      if (owner?.service) {
        ref.service = owner.service;
        break;
      }
    }
  }
  if (opts.fallback) {
    // Workloads no configured service claims still need a name on the dashboard: their
    // owner's, else their `app.kubernetes.io/name` label, else their own name.
    const own = (i: number) =>
      workloads[i]!.metadata.labels?.['app.kubernetes.io/name'] ?? workloads[i]!.metadata.name;
    for (const [i, ref] of refs.entries()) {
      if (ref.service) continue;
      const o = workloads[i]!.metadata.ownerReferences?.find((x) =>
        refs.some((r) => r.kind === x.kind && r.name === x.name && r.namespace === ref.namespace),
      );
      const j = o
        ? refs.findIndex((r) => r.kind === o.kind && r.name === o.name && r.namespace === ref.namespace)
        : -1;
      ref.service = j >= 0 ? (refs[j]!.service ?? own(j)) : own(i);
    }
  }
  return refs;
}

/** True when `labels` satisfy the selector (an empty selector matches nothing, as for workloads). */
export function selectorMatches(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const ml = Object.entries(sel?.matchLabels ?? {});
  const me = sel?.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false;
  const l = labels ?? {};
  for (const [k, v] of ml) if (l[k] !== v) return false;
  for (const e of me) {
    const has = Object.hasOwn(l, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * The service a pod belongs to: the service of the most specific workload (most selector
 * terms) of its namespace whose selector matches it; else its `app.kubernetes.io/name`
 * label, else its `app` label, else the matched workload's name; undefined when nothing
 * says.
 */
export function serviceOfPod(pod: PodJson, workloads: readonly WorkloadRef[]): string | undefined {
  const ns = pod.metadata.namespace ?? '';
  let best: WorkloadRef | undefined;
  let bestTerms = -1;
  for (const w of workloads) {
    if (w.namespace !== ns || !selectorMatches(w.selector, pod.metadata.labels)) continue;
    const terms =
      Object.keys(w.selector?.matchLabels ?? {}).length + (w.selector?.matchExpressions?.length ?? 0);
    // A workload that maps to a service beats one that does not.
    const score = terms + (w.service ? 1000 : 0);
    if (score > bestTerms) {
      best = w;
      bestTerms = score;
    }
  }
  if (best?.service) return best.service;
  const labels = pod.metadata.labels ?? {};
  return labels['app.kubernetes.io/name'] ?? labels.app ?? best?.name;
}

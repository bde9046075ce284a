/**
 * Helm charts as a manifest source, the pure part: the `helm template` command line, and
 * what devenv does with a chart's hooks (tools/helm-binary.ts picks the helm binary). load.ts runs helm (as it runs
 * kubectl for kustomizations) and hands the output to the same render and apply as any
 * manifest file.
 *
 * Hooks: `helm template` prints a chart's hook objects with the rest (devenv never passes
 * --no-hooks). Hooks that matter in dev, pre-install/pre-upgrade (migrations, seeds), are
 * kept with their `helm.sh/hook` annotation, so the must-complete Jobs ordering runs them
 * before the workloads. The other hook kinds (test, post-*, *-delete, *-rollback) have no
 * moment in devenv's reconcile: they are left out and reported by name, never silently.
 *
 * Pure module: no I/O.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ChartSource } from '../config/schema.ts';
import type { SourceDoc } from './types.ts';

export const HELM_HOOK_ANNOTATION = 'helm.sh/hook';
/** The hooks devenv applies (as must-complete objects, before the workloads). */
export const SUPPORTED_HOOKS: ReadonlySet<string> = new Set(['pre-install', 'pre-upgrade']);

/** A chart from a repository (`repo`) or an OCI registry (`oci://`), not a local folder. */
export function isRemoteChart(chart: Pick<ChartSource, 'chart' | 'repo'>): boolean {
  return chart.repo !== undefined || chart.chart.startsWith('oci://');
}

/**
 * How a remote chart is named in messages and in its objects' `dev.devenv/source`:
 * `<repo>/<chart>@<version>` or `oci://...@<version>`; undefined for a local chart (named
 * by its folder).
 */
export function remoteChartLabel(chart: Pick<ChartSource, 'chart' | 'repo' | 'version'>): string | undefined {
  if (!isRemoteChart(chart)) return undefined;
  const base = chart.repo ? `${chart.repo.replace(/\/+$/, '')}/${chart.chart}` : chart.chart;
  return `${base}@${chart.version ?? 'latest'}`;
}

/** The release name of a chart entry: `release`, else the chart's name (its folder's, or its last path segment). */
export function releaseName(chart: ChartSource): string {
  if (chart.release) return chart.release;
  const base = chart.chart.replace(/\\/g, '/').replace(/\/+$/, '').split('/').pop() ?? '';
  return base && base !== '.' ? base.toLowerCase() : 'release';
}

/** The release namespace (`--namespace`): `namespace`, else "default" (helm's own default). */
export function releaseNamespace(chart: ChartSource): string {
  return chart.namespace ?? 'default';
}

/**
 * `helm template RELEASE CHART --namespace NS --values VALUES...`, paths resolved against
 * `root`; a remote chart by name with `--repo URL` (or its oci:// reference) and `--version`.
 */
export function helmTemplateArgs(chart: ChartSource, root: string): string[] {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const remote = isRemoteChart(chart);
  return [
    'template',
    releaseName(chart),
    remote ? chart.chart : abs(chart.chart),
    ...(chart.repo !== undefined ? ['--repo', chart.repo] : []),
    ...(remote && chart.version !== undefined ? ['--version', chart.version] : []),
    '--namespace',
    releaseNamespace(chart),
    ...chart.values.flatMap((v) => ['--values', abs(v)]),
  ];
}

/** The hook kinds an object's `helm.sh/hook` annotation names (empty: not a hook). */
export function hookKinds(annotations: Record<string, unknown> | undefined): string[] {
  const v = annotations?.[HELM_HOOK_ANNOTATION];
  if (typeof v !== 'string') return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface LeftOutHook {
  /** "Pod api-test-connection". */
  object: string;
  hooks: string[];
  /** One line for the user. */
  message: string;
}

function plain(d: SourceDoc): Record<string, unknown> {
  const o = 'toJS' in d.doc && typeof d.doc.toJS === 'function' ? d.doc.toJS() : d.doc;
  return (o && typeof o === 'object' ? o : {}) as Record<string, unknown>;
}

/**
 * Splits a chart's rendered documents: what devenv applies (plain objects and hooks with at
 * least one supported kind), and the hooks it leaves out, each named with its hook kinds.
 */
export function splitHooks(
  docs: readonly SourceDoc[],
  chartLabel: string,
): { keep: SourceDoc[]; leftOut: LeftOutHook[] } {
  const keep: SourceDoc[] = [];
  const leftOut: LeftOutHook[] = [];
  for (const d of docs) {
    const o = plain(d);
    const md = (o.metadata ?? {}) as Record<string, unknown>;
    const hooks = hookKinds(md.annotations as Record<string, unknown> | undefined);
    if (hooks.length === 0 || hooks.some((h) => SUPPORTED_HOOKS.has(h))) {
      keep.push(d);
      continue;
    }
    const object = `${String(o.kind)} ${String(md.name)}`;
    leftOut.push({
      object,
      hooks,
      message: `${chartLabel}: ${object} is a Helm ${hooks.join(', ')} hook (${HELM_HOOK_ANNOTATION}), which devenv does not run; left out (devenv runs only pre-install and pre-upgrade hooks)`,
    });
  }
  return { keep, leftOut };
}

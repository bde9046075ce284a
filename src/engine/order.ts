/**
 * Deploy ordering, planned (pure): which rendered objects go out at once, and which wait.
 *
 * Two orders a production setup has and devenv honours:
 *   - `services[].dependsOn`: a service's workloads roll out once every service it depends
 *     on is ready (its workloads rolled out, its must-complete Jobs completed);
 *   - must-complete Jobs (migrations): a Job of a service's manifests marked
 *       label or annotation `dev.devenv/phase: pre-deploy`  (devenv's own marker: a plain
 *         label/annotation, which a production cluster carries harmlessly), or
 *       annotation `helm.sh/hook` naming `pre-install` or `pre-upgrade` (what charts use),
 *     completes before that service's workloads roll out. Several such Jobs of one service
 *     run in steps of ascending `helm.sh/hook-weight` (default 0), as Helm runs hooks.
 *
 * The plan: everything that is neither a workload of an ordered service nor a must-complete
 * Job is applied at once, first (config, Services, RBAC, devenv's own objects, and the
 * workloads of services no order touches); each ordered service then runs its Jobs, then
 * rolls out its workloads, once its dependencies are ready. Independent services proceed
 * in parallel; a failure stops only the services that depend on the failed one.
 *
 * engine/deploy.ts does the I/O; config/validate.ts reports unknown names and cycles
 * (`findCycle`) at `file:line:col` before anything is created.
 */

import type { ServiceDeps } from '../config/dependencies.ts';
import { type KubeObject, POD_SPEC_PATHS, type RenderedObject } from '../manifests/types.ts';

/** Label or annotation key of devenv's must-complete marker, and its value. */
export const PHASE_KEY = 'dev.devenv/phase';
export const PHASE_PRE_DEPLOY = 'pre-deploy';
/** Helm's hook annotations: hooks `pre-install` / `pre-upgrade` on a Job mark it must-complete. */
export const HELM_HOOK = 'helm.sh/hook';
export const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
const PRE_HOOKS: ReadonlySet<string> = new Set(['pre-install', 'pre-upgrade']);

/** True for a Job that must complete before its service's workloads roll out. */
export function isPreDeployJob(o: Pick<KubeObject, 'kind' | 'metadata'> & { apiVersion?: string }): boolean {
  if (o.kind !== 'Job' || (o.apiVersion !== undefined && !o.apiVersion.startsWith('batch/'))) return false;
  const labels = o.metadata.labels ?? {};
  const annotations = o.metadata.annotations ?? {};
  if (labels[PHASE_KEY] === PHASE_PRE_DEPLOY || annotations[PHASE_KEY] === PHASE_PRE_DEPLOY) return true;
  const hooks = (annotations[HELM_HOOK] ?? '').split(',').map((h) => h.trim());
  return hooks.some((h) => PRE_HOOKS.has(h));
}

/** `helm.sh/hook-weight` as a number (Helm's default 0 when absent or not an integer). */
export function hookWeight(o: Pick<KubeObject, 'metadata'>): number {
  const w = Number.parseInt(o.metadata.annotations?.[HELM_HOOK_WEIGHT] ?? '', 10);
  return Number.isFinite(w) ? w : 0;
}

/** Kinds that run pods: what an order holds back (every kind with a pod template). */
export function isWorkload(o: Pick<KubeObject, 'kind'>): boolean {
  return Object.hasOwn(POD_SPEC_PATHS, o.kind);
}

/**
 * Services in waves: each wave depends only on earlier ones (names in config order within
 * a wave). What the deploy does in effect, shown to the user; dependencies on names not
 * listed are ignored. Throws on a cycle (validation rejects those first).
 */
export function dependencyWaves(services: readonly ServiceDeps[]): string[][] {
  const names = new Set(services.map((s) => s.name));
  const waves: string[][] = [];
  const placed = new Set<string>();
  let left = [...services];
  while (left.length > 0) {
    const wave = left.filter((s) => s.dependsOn.every((d) => !names.has(d) || placed.has(d)));
    if (wave.length === 0) throw new Error(`dependency cycle among ${left.map((s) => s.name).join(', ')}`);
    for (const s of wave) placed.add(s.name);
    waves.push(wave.map((s) => s.name));
    left = left.filter((s) => !placed.has(s.name));
  }
  return waves;
}

/** A service of this deploy: its dependencies and the source documents its objects come from. */
export interface ServiceUnit extends ServiceDeps {
  /** `{file, index}` of each of its manifest documents (RenderedObject.source). */
  docs: ReadonlyArray<{ file: string; index: number }>;
}

/** One ordered service: its must-complete Jobs, then its workloads. */
export interface OrderedService {
  name: string;
  /** The services of this deploy it waits for. */
  dependsOn: string[];
  /** Must-complete Jobs, in steps of equal hook weight, ascending; each step completes before the next. */
  jobs: RenderedObject[][];
  /** Rolled out once `jobs` completed and `dependsOn` are ready. */
  workloads: RenderedObject[];
}

export interface DeployPlan {
  /** Applied at once, before any ordered service: everything not held back below. */
  first: RenderedObject[];
  /** Services with an order (a dependency, a dependent, or must-complete Jobs), in dependency order. */
  ordered: OrderedService[];
  /** The ordered services in waves (for the report). */
  waves: string[][];
}

/**
 * Splits a deploy's rendered objects by the services' order. With no order anywhere the
 * plan is everything in `first` and `ordered` empty: the deploy is one apply and one wait,
 * exactly as without this module. Objects of no service (devenv's own) go in `first`.
 */
export function planDeploy(objects: readonly RenderedObject[], services: readonly ServiceUnit[]): DeployPlan {
  const present = new Set(services.map((s) => s.name));
  const serviceOf = new Map<string, string>();
  for (const s of services)
    for (const d of s.docs) {
      const k = `${d.file}#${d.index}`;
      // A document listed by two services belongs to the first (config order).
      if (!serviceOf.has(k)) serviceOf.set(k, s.name);
    }
  const byService = new Map<string, RenderedObject[]>();
  for (const o of objects) {
    const name = serviceOf.get(`${o.source.file}#${o.source.index}`);
    if (name === undefined) continue;
    byService.set(name, [...(byService.get(name) ?? []), o]);
  }
  const deps = services.map((s) => ({
    name: s.name,
    dependsOn: [...new Set(s.dependsOn)].filter((d) => present.has(d) && d !== s.name),
  }));
  const dependedOn = new Set(deps.flatMap((s) => s.dependsOn));
  const isOrdered = (s: ServiceDeps): boolean =>
    s.dependsOn.length > 0 ||
    dependedOn.has(s.name) ||
    (byService.get(s.name) ?? []).some((o) => isPreDeployJob(o.object));
  const orderedDeps = deps.filter(isOrdered);
  const waves = dependencyWaves(orderedDeps);
  const rank = new Map(waves.flatMap((w, i) => w.map((n) => [n, i] as const)));

  const held = new Set<string>();
  const ordered: OrderedService[] = orderedDeps
    .map((s) => {
      const mine = byService.get(s.name) ?? [];
      const jobs = mine.filter((o) => isPreDeployJob(o.object));
      const weights = [...new Set(jobs.map((o) => hookWeight(o.object)))].sort((a, b) => a - b);
      const workloads = mine.filter((o) => isWorkload(o.object) && !isPreDeployJob(o.object));
      for (const o of [...jobs, ...workloads]) held.add(o.key);
      return {
        name: s.name,
        dependsOn: s.dependsOn,
        jobs: weights.map((w) => jobs.filter((o) => hookWeight(o.object) === w)),
        workloads,
      };
    })
    .sort((a, b) => (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0));
  return { first: objects.filter((o) => !held.has(o.key)), ordered, waves };
}

/** The deploy's services from the config and their loaded documents (service name → docs). */
export function serviceUnits(
  services: ReadonlyArray<{ name: string; dependsOn?: readonly string[] | undefined }>,
  docs: ReadonlyMap<string, ReadonlyArray<{ file: string; index: number }>>,
): ServiceUnit[] {
  return services
    .filter((s) => docs.has(s.name))
    .map((s) => ({
      name: s.name,
      dependsOn: s.dependsOn ?? [],
      docs: (docs.get(s.name) ?? []).map((d) => ({ file: d.file, index: d.index })),
    }));
}

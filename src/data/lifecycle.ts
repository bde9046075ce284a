/**
 * `ensureDataServices`: reconcile the project's data services (database, object store)
 * and wait until they answer real requests, for `devenv up`.
 *
 * Reconcile: a container whose spec-hash label matches and that runs is left alone; a
 * stopped one is started; a changed one is recreated on the SAME named volumes. Every
 * bad-input check (compose file, images, volumes, host ports, an object store engine
 * switch) runs for both services before anything is created. Only objects labelled for
 * the project are ever touched.
 */
import {
  OBJECT_STORE_ENGINE_NAMES,
  OBJECT_STORE_ENGINES,
  type ObjectStoreEngineName,
} from '../config/engines.ts';
import type { Config } from '../config/schema.ts';
import type { ContainerState } from '../docker/containers.ts';
import { engineInfo, publishedPorts } from '../docker/engine.ts';
import { networkExists } from '../docker/networks.ts';
import { listVolumes } from '../docker/volumes.ts';
import { badInput, type DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { describePortHolder, isPortFree } from '../net/ports.ts';
import { endpointsOf } from './endpoints.ts';
import {
  type DatabasePlan,
  type DataPlan,
  dataLabels,
  type ObjectStorePlan,
  type ServicePlan,
} from './plan.ts';
import { alsoPublishOn } from './publish.ts';
import { apply, type Prepared, prepare, roleName, STEP_ID } from './reconcile.ts';
import { resolveDataPlan } from './resolve.ts';
import type { DataEndpoints, DataRole } from './types.ts';

export interface EnsureOptions {
  config: Config;
  /** Project root (directory of devenv.yaml): compose and init-script paths are relative to it. */
  root: string;
  /** Docker network to join with the aliases devenv-db / devenv-minio (k3d: `k3d-<project>`). */
  network?: string;
  onEvent?: EventSink;
  /** Readiness timeout per service (default 180 s). */
  timeoutMs?: number;
  /**
   * Also bind each loopback host port on this address: where the pods of an allow-listed
   * existing cluster reach this machine (cluster.dataHost; see publish.ts).
   */
  publishOn?: string;
  /**
   * Start the configured object store engine even though another engine's volumes hold
   * the project's objects (`up --switch-object-store`); they are kept, not copied.
   */
  switchObjectStore?: boolean;
}

/** The project's object store volumes that belong to another engine (what a switch leaves behind). */
export async function otherEngineVolumes(os: ObjectStorePlan): Promise<string[]> {
  const vols = await listVolumes(dataLabels(os.project, 'objectStore'));
  return vols
    .map((v) => v.name)
    .filter((n) => !n.startsWith(`${os.volumePrefix}-`))
    .sort();
}

/** Bad input when objectStore.engine changed on a project whose other engine has data. */
export function engineSwitchRefusal(os: ObjectStorePlan, left: string[]): DevenvError {
  const owner = (OBJECT_STORE_ENGINE_NAMES as string[]).find((e) =>
    left.some((n) =>
      n.startsWith(`devenv-${os.project}-${OBJECT_STORE_ENGINES[e as ObjectStoreEngineName].short}-`),
    ),
  ) as ObjectStoreEngineName | undefined;
  const was = owner ? OBJECT_STORE_ENGINES[owner].title : 'another engine';
  const now = OBJECT_STORE_ENGINES[os.engine].title;
  return badInput(
    `objectStore.engine is ${os.engine}, but this project's objects are in ${was}'s volume${left.length === 1 ? '' : 's'} ` +
      `${left.join(', ')}; starting ${now} would leave them behind (nothing was changed). ` +
      `Run "devenv up --switch-object-store" to start ${now} empty and keep those volumes ` +
      `(copy objects across with any S3 client; "devenv destroy" removes them)${owner ? `, or set objectStore.engine back to ${owner}` : ''}.`,
  );
}

/** Reconciles the project's data services and waits until they answer real requests. */
export async function ensureDataServices(opts: EnsureOptions): Promise<DataEndpoints> {
  const { network } = opts;
  const emit: EventSink = opts.onEvent ?? (() => {});
  const plan = publishedPlan(resolveDataPlan(opts.config, opts.root), opts.publishOn);
  const services = [plan.database, plan.objectStore].filter((s): s is DatabasePlan | ObjectStorePlan => !!s);
  if (services.length === 0) return endpointsOf(plan, {}, network);

  const t0 = new Map<DataRole, number>();
  const ms = (s: ServicePlan) => Math.round(performance.now() - (t0.get(s.role) ?? 0));
  for (const s of services) {
    t0.set(s.role, performance.now());
    emit({ type: 'step', id: STEP_ID[s.role], phase: 'start', detail: `${describe(s)}: checking` });
  }
  const fail = (s: ServicePlan, err: unknown) => {
    const e = err as Error & { details?: readonly string[] };
    emit({
      type: 'step',
      id: STEP_ID[s.role],
      phase: 'fail',
      detail: describe(s),
      ms: ms(s),
      error: e?.message ?? String(err),
      lines: [...(e?.details ?? [])],
    });
  };

  let prepared: Prepared[];
  try {
    prepared = await preflight(services, opts, emit);
  } catch (err) {
    for (const s of services) fail(s, err);
    throw err;
  }

  // Apply, both services in parallel.
  const actual: Partial<Record<DataRole, ContainerState>> = {};
  const results = await Promise.allSettled(
    prepared.map(async (p) => {
      try {
        const r = await apply(p, plan, network, opts.timeoutMs ?? 180_000, emit);
        actual[p.plan.role] = r.state;
        const phase = r.changed ? 'done' : 'skip';
        emit({ type: 'step', id: STEP_ID[p.plan.role], phase, detail: r.detail, ms: ms(p.plan) });
      } catch (err) {
        fail(p.plan, err);
        throw err;
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return endpointsOf(plan, actual, network);
}

/** The plan with each loopback host port also bound on `publishOn`, when given. */
function publishedPlan(plan: DataPlan, on: string | undefined): DataPlan {
  if (!on) return plan;
  return {
    ...plan,
    ...(plan.database ? { database: alsoPublishOn(plan.database, on) } : {}),
    ...(plan.objectStore ? { objectStore: alsoPublishOn(plan.objectStore, on) } : {}),
  };
}

/** Everything that can be bad input, for both services, before anything is created. */
async function preflight(
  services: Array<DatabasePlan | ObjectStorePlan>,
  opts: EnsureOptions,
  emit: EventSink,
): Promise<Prepared[]> {
  await engineInfo();
  if (opts.network && !(await networkExists(opts.network))) {
    throw badInput(`Docker network "${opts.network}" does not exist; the data services cannot join it.`);
  }
  const os = services.find((s): s is ObjectStorePlan => s.role === 'objectStore');
  if (os && !opts.switchObjectStore) {
    const left = await otherEngineVolumes(os);
    if (left.length > 0) throw engineSwitchRefusal(os, left);
  }
  const prepared = await Promise.all(services.map((s) => prepare(s, emit)));
  const problems = await portProblems(prepared);
  if (problems.length > 0) {
    throw badInput(
      problems.length === 1 ? problems[0]! : `${problems.length} host ports are in use; nothing was created.`,
      problems.length === 1 ? [] : problems,
    );
  }
  return prepared;
}

function describe(s: ServicePlan): string {
  return s.role === 'database'
    ? `${(s as DatabasePlan).engine} (${s.spec.image})`
    : `${OBJECT_STORE_ENGINES[(s as ObjectStorePlan).engine].title} (${s.spec.image})`;
}

/** Host ports the containers to (re)start need but something else holds, as messages naming holder and fix. */
async function portProblems(prepared: Prepared[]): Promise<string[]> {
  const problems: string[] = [];
  let containers: Awaited<ReturnType<typeof publishedPorts>> | undefined;
  for (const p of prepared) {
    if (p.action === 'keep') continue;
    for (const port of p.plan.ports) {
      if (port.hostPort === undefined || port.protocol !== 'tcp') continue;
      const ours = p.existing?.running && p.existing.ports.some((x) => x.hostPort === port.hostPort);
      if (ours) continue;
      if (await isPortFree(port.hostPort, port.hostIp || '0.0.0.0')) continue;
      containers ??= await publishedPorts().catch(() => []);
      const holder = describePortHolder(port.hostPort, containers);
      const fix = port.configKey
        ? `set ${port.configKey} in devenv.yaml to a free port`
        : `change the port mapping at ${port.where}`;
      problems.push(
        `host port ${port.hostPort} (${roleName(p.plan.role)}) is already in use by ${holder.text}: ${fix}, or stop that ${holder.kind}.`,
      );
    }
  }
  return problems;
}

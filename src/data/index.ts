/**
 * Data services outside the cluster (the database and MinIO), as the `up` engine and the
 * commands see them:
 *
 *   ensureDataServices({ config, root, network?, onEvent? })  reconcile, wait ready, return endpoints
 *   stopDataServices(project)      stop the containers, keep data (`devenv down`)
 *   destroyDataServices(project)   remove containers AND volumes (`devenv destroy`)
 *   dataStatus(project)            what exists, for `status` and confirmations
 *
 * Reconcile: a container whose spec-hash label matches and that runs is left alone; a
 * stopped one is started; a changed one is recreated on the SAME named volumes. Every
 * bad-input check (compose file, images, host ports) runs for both services before
 * anything is created. Only objects labelled for the project are ever touched.
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  OBJECT_STORE_ENGINE_NAMES,
  OBJECT_STORE_ENGINES,
  type ObjectStoreEngine,
  type ObjectStoreEngineName,
} from '../config/engines.ts';
import { displayPath } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import {
  type ContainerState,
  createContainer,
  inspectManaged,
  listContainers,
  removeContainer,
  startContainer,
  stopContainer,
  waitHealthy,
} from '../docker/containers.ts';
import { engineInfo, publishedPorts } from '../docker/engine.ts';
import { isManaged, ROLE_LABEL, SPEC_HASH_LABEL } from '../docker/labels.ts';
import { connectNetwork, networkExists } from '../docker/networks.ts';
import { ensureImage } from '../docker/pull.ts';
import { ensureVolume, inspectVolume, listVolumes, removeVolumes } from '../docker/volumes.ts';
import { badInput, DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { describePortHolder, isPortFree } from '../net/ports.ts';
import {
  type Credentials,
  credentialsPath,
  ensureCredentials,
  generateCredentials,
  readCredentials,
} from './credentials.ts';
import { applyInitScripts, createDatabases, type DbTarget, query, SqlError } from './database.ts';
import {
  type ComposeSource,
  completeSpec,
  type DatabasePlan,
  type DataPlan,
  dataLabels,
  type ObjectStorePlan,
  objectStoreEngine,
  planData,
  type ServicePlan,
} from './plan.ts';
import { alsoPublishOn } from './publish.ts';
import { isAuthError, ObjectStore } from './s3.ts';
import { type DataAccess, type DataEndpoints, type DataRole, S3_REGION, SNAPSHOT_BUCKET } from './types.ts';

export type { DataEndpoints } from './types.ts';

/** devenv's own compose files (compose/ at the package root). */
export function defaultComposeFile(name: 'postgres' | 'mysql' | ObjectStoreEngine['compose']): string {
  return fileURLToPath(new URL(`../../compose/${name}.yaml`, import.meta.url));
}

function composeSource(root: string, projectFile: string | undefined, fallback: string): ComposeSource {
  const abs = projectFile ? resolve(root, projectFile) : fallback;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw badInput(
      `cannot read compose file ${displayPath(abs)}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  return { text, file: displayPath(abs), dir: dirname(abs) };
}

/** The database's compose file: `database.compose`, else devenv's own for the engine. */
export function databaseComposeSource(config: Config, root: string): ComposeSource {
  const db = config.database!;
  return composeSource(root, db.compose, defaultComposeFile(db.engine === 'postgres' ? 'postgres' : 'mysql'));
}

/** The compose files of the configured data services (devenv's own, or the project's). */
export function dataComposeSources(
  config: Config,
  root: string,
): { database?: ComposeSource; objectStore?: ComposeSource } {
  return {
    ...(config.database ? { database: databaseComposeSource(config, root) } : {}),
    ...(config.objectStore
      ? {
          objectStore: composeSource(
            root,
            config.objectStore.compose,
            defaultComposeFile(OBJECT_STORE_ENGINES[objectStoreEngine(config)].compose),
          ),
        }
      : {}),
  };
}

/**
 * The desired state. Credentials are generated (once) unless `readOnly`, in which case
 * a project without credentials gets a DevenvError telling to run `devenv up`.
 */
export function resolveDataPlan(config: Config, root: string, opts: { readOnly?: boolean } = {}): DataPlan {
  let credentials: Credentials | undefined;
  if (opts.readOnly) {
    credentials = readCredentials(config.project);
  } else if (config.database || config.objectStore) {
    credentials = ensureCredentials(config.project);
  }
  const plan = planData({
    config,
    root,
    // Without stored credentials (read-only use before the first up), throwaway ones still
    // let the compose files be validated, so bad input is reported first.
    credentials: credentials ?? generateCredentials(),
    ...dataComposeSources(config, root),
    env: process.env,
  });
  if (!credentials && (config.database || config.objectStore)) {
    throw new DevenvError(
      `no credentials for project "${config.project}" yet (${credentialsPath(config.project)}); run "devenv up" first.`,
    );
  }
  return plan;
}

export function dbTarget(plan: DatabasePlan, creds: Credentials): DbTarget {
  return {
    container: plan.containerName,
    engine: plan.engine,
    port: plan.containerPort,
    user: creds.database.user,
    password: creds.database.password,
    rootPassword: creds.database.rootPassword,
    database: plan.databases[0]!,
  };
}

const loopback = (ip: string | undefined): string =>
  !ip || ip === '0.0.0.0' || ip === '::' ? '127.0.0.1' : ip;

/** Host and in-cluster endpoints. `actual` (inspected containers) fills in ephemeral host ports. */
export function endpointsOf(
  plan: DataPlan,
  actual: Partial<Record<DataRole, ContainerState>> = {},
  network?: string,
): DataEndpoints {
  const host: DataAccess = {};
  const cluster: DataAccess = {};
  const c = plan.credentials;
  const hostBinding = (p: ServicePlan, containerPort: number) => {
    const planned = p.ports.find((x) => x.containerPort === containerPort);
    const seen = actual[p.role]?.ports.find((x) => x.containerPort === containerPort);
    const port = planned?.hostPort ?? seen?.hostPort;
    return port ? { host: loopback(planned?.hostIp ?? seen?.hostIp), port } : undefined;
  };
  if (plan.database) {
    const p = plan.database;
    const base = {
      engine: p.engine,
      user: c.database.user,
      password: c.database.password,
      database: p.databases[0]!,
      databases: p.databases,
    };
    const hb = hostBinding(p, p.containerPort);
    if (hb) host.database = { ...base, host: hb.host, port: hb.port };
    cluster.database = { ...base, host: p.alias, port: p.containerPort };
  }
  if (plan.objectStore) {
    const p = plan.objectStore;
    const base = {
      accessKeyId: c.objectStore.accessKeyId,
      secretAccessKey: c.objectStore.secretAccessKey,
      region: S3_REGION,
      buckets: p.buckets,
    };
    const hb = hostBinding(p, p.containerPort);
    const console = p.consoleContainerPort ? hostBinding(p, p.consoleContainerPort) : undefined;
    if (hb)
      host.objectStore = {
        ...base,
        endpoint: `http://${hb.host}:${hb.port}`,
        ...(console ? { consoleUrl: `http://${console.host}:${console.port}` } : {}),
      };
    cluster.objectStore = { ...base, endpoint: `http://${p.alias}:${p.containerPort}` };
  }
  return { project: plan.project, host, cluster, ...(network ? { network } : {}) };
}

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

type Action = 'keep' | 'start' | 'recreate' | 'create';

interface Prepared {
  plan: ServicePlan;
  action: Action;
  existing?: ContainerState;
  spec: ReturnType<typeof completeSpec>['spec'];
  volumes: ServicePlan['volumes'];
}

const STEP_ID: Record<DataRole, string> = { database: 'database', objectStore: 'objectStore' };

/** Reconciles the project's data services and waits until they answer real requests. */
export async function ensureDataServices(opts: EnsureOptions): Promise<DataEndpoints> {
  const { config, root, network } = opts;
  const emit: EventSink = opts.onEvent ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const resolved = resolveDataPlan(config, root);
  const on = opts.publishOn;
  const plan = on
    ? {
        ...resolved,
        ...(resolved.database ? { database: alsoPublishOn(resolved.database, on) } : {}),
        ...(resolved.objectStore ? { objectStore: alsoPublishOn(resolved.objectStore, on) } : {}),
      }
    : resolved;
  const services = [plan.database, plan.objectStore].filter((s): s is DatabasePlan | ObjectStorePlan => !!s);
  if (services.length === 0) return endpointsOf(plan, {}, network);

  const t0 = new Map<DataRole, number>();
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
      ms: Math.round(performance.now() - (t0.get(s.role) ?? 0)),
      error: e?.message ?? String(err),
      lines: [...(e?.details ?? [])],
    });
  };

  // --- preflight: everything that can be bad input, for both services, before creating anything.
  let prepared: Prepared[];
  try {
    await engineInfo();
    if (network && !(await networkExists(network))) {
      throw badInput(`Docker network "${network}" does not exist; the data services cannot join it.`);
    }
    const os = services.find((s): s is ObjectStorePlan => s.role === 'objectStore');
    if (os && !opts.switchObjectStore) {
      const left = await otherEngineVolumes(os);
      if (left.length > 0) throw engineSwitchRefusal(os, left);
    }
    prepared = await Promise.all(services.map((s) => prepare(s, emit)));
    const problems = await portProblems(prepared);
    if (problems.length > 0) {
      throw badInput(
        problems.length === 1
          ? problems[0]!
          : `${problems.length} host ports are in use; nothing was created.`,
        problems.length === 1 ? [] : problems,
      );
    }
  } catch (err) {
    for (const s of services) fail(s, err);
    throw err;
  }

  // --- apply, both services in parallel.
  const actual: Partial<Record<DataRole, ContainerState>> = {};
  const results = await Promise.allSettled(
    prepared.map(async (p) => {
      try {
        const r = await apply(p, plan, network, timeoutMs, emit);
        actual[p.plan.role] = r.state;
        emit({
          type: 'step',
          id: STEP_ID[p.plan.role],
          phase: r.changed ? 'done' : 'skip',
          detail: r.detail,
          ms: Math.round(performance.now() - (t0.get(p.plan.role) ?? 0)),
        });
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

function describe(s: ServicePlan): string {
  return s.role === 'database'
    ? `${(s as DatabasePlan).engine} (${s.spec.image})`
    : `${OBJECT_STORE_ENGINES[(s as ObjectStorePlan).engine].title} (${s.spec.image})`;
}

async function prepare(s: ServicePlan, emit: EventSink): Promise<Prepared> {
  const image = await ensureImage(s.spec.image, s.imageKey, (ref) =>
    emit({ type: 'step', id: STEP_ID[s.role], phase: 'progress', detail: `pulling ${ref}` }),
  );
  const { spec, volumes, hash } = completeSpec(s, image);
  const existing = await inspectManaged(s.containerName, s.project);
  for (const v of volumes) {
    const have = await inspectVolume(v.name);
    if (have && !isManaged(have.labels, s.project)) {
      throw badInput(
        `volume "${v.name}" exists but was not created by devenv for project "${s.project}"; devenv will not use or change it. ` +
          `Rename or remove it ("docker volume rm ${v.name}"), or change "project" in devenv.yaml.`,
      );
    }
  }
  let action: Action;
  if (!existing) action = 'create';
  else if (existing.labels[SPEC_HASH_LABEL] !== hash) action = 'recreate';
  else action = existing.running ? 'keep' : 'start';
  return { plan: s, action, ...(existing ? { existing } : {}), spec, volumes };
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
        `host port ${port.hostPort} (${p.plan.role === 'database' ? 'database' : 'object store'}) is already in use by ${holder.text}: ${fix}, or stop that ${holder.kind}.`,
      );
    }
  }
  return problems;
}

async function createAndStart(p: Prepared, network: string | undefined): Promise<void> {
  for (const v of p.volumes) await ensureVolume(v.name, v.labels);
  await createContainer(p.spec);
  try {
    if (network) await connectNetwork(network, p.plan.containerName, [p.plan.alias]);
    await startContainer(p.plan.containerName);
  } catch (err) {
    // A container that cannot start is removed (its labelled volumes stay): nothing half-made remains.
    await removeContainer(p.plan.containerName).catch(() => {});
    throw new DevenvError(`cannot start ${p.plan.containerName}: ${(err as Error).message}`, { cause: err });
  }
}

async function apply(
  p: Prepared,
  plan: DataPlan,
  network: string | undefined,
  timeoutMs: number,
  emit: EventSink,
): Promise<{ state: ContainerState; changed: boolean; detail: string }> {
  const s = p.plan;
  const progress = (detail: string) => emit({ type: 'step', id: STEP_ID[s.role], phase: 'progress', detail });
  let changed = p.action !== 'keep';
  const notes: string[] = [];
  switch (p.action) {
    case 'create':
      progress('creating container');
      await createAndStart(p, network);
      notes.push('created');
      break;
    case 'recreate':
      progress('configuration changed: recreating the container on the same volumes');
      await stopContainer(s.containerName);
      await removeContainer(s.containerName);
      await createAndStart(p, network);
      notes.push('recreated (configuration changed)');
      break;
    case 'start':
      progress('starting the stopped container');
      try {
        if (network) await connectNetwork(network, s.containerName, [s.alias]);
        await startContainer(s.containerName);
      } catch (err) {
        // Typically a network it was attached to (an earlier cluster) is gone: recreate.
        if (!/network/i.test((err as Error).message)) throw err;
        await removeContainer(s.containerName);
        await createAndStart(p, network);
      }
      notes.push('started');
      break;
    case 'keep':
      if (network && (await connectNetwork(network, s.containerName, [s.alias]))) {
        changed = true;
        notes.push(`joined ${network}`);
      }
      break;
  }

  const what = `the ${s.role === 'database' ? 'database' : 'object store'} container "${s.containerName}"`;
  if (s.spec.healthcheck && s.spec.healthcheck.test[0] !== 'NONE') {
    progress('waiting for the healthcheck');
    await waitHealthy(s.containerName, {
      timeoutMs,
      what: `${what} (healthcheck: ${s.spec.healthcheck.test.slice(1).join(' ')})`,
    });
  }
  const state = (await inspectManaged(s.containerName, s.project))!;
  const endpoints = endpointsOf(plan, { [s.role]: state });

  if (s.role === 'database') {
    const db = s as DatabasePlan;
    const t = dbTarget(db, plan.credentials);
    progress('waiting for a query to answer');
    await waitQuery(t, endpoints.host.database, timeoutMs, what, credentialsPath(plan.project));
    const created = await createDatabases(t, db.databases);
    if (created.length) {
      changed = true;
      notes.push(`databases created: ${created.join(', ')}`);
    }
    const scripts = db.initScripts.map((name) => ({
      name,
      sql: readFileSync(join(plan.root, name), 'utf8'),
    }));
    if (scripts.length) {
      const r = await applyInitScripts(t, scripts);
      if (r.applied.length) {
        changed = true;
        notes.push(`init scripts run: ${r.applied.join(', ')}`);
      }
    }
    const hb = endpoints.host.database;
    return {
      state,
      changed,
      detail: `${db.engine} ready on ${hb ? `${hb.host}:${hb.port}` : 'no host port'}${notes.length ? ` (${notes.join('; ')})` : ' (unchanged)'}`,
    };
  }

  const os = s as ObjectStorePlan;
  const access = endpoints.host.objectStore;
  if (!access)
    throw new DevenvError(
      `${what} publishes no S3 port; its compose file must map port ${os.containerPort}.`,
    );
  progress('waiting for the S3 API to answer');
  const store = await waitS3(access, timeoutMs, what);
  try {
    const created: string[] = [];
    for (const b of new Set([...os.buckets, SNAPSHOT_BUCKET, ...(os.seed ? [os.seed.bucket] : [])])) {
      if (await store.ensureBucket(b)) created.push(b);
    }
    if (created.length) {
      changed = true;
      notes.push(`buckets created: ${created.join(', ')}`);
    }
    if (os.seed) {
      const marker = '.devenv-seed';
      if (!(await store.exists(os.seed.bucket, marker))) {
        const n = await store.uploadFolder(os.seed.bucket, join(plan.root, os.seed.folder));
        await store.put(
          os.seed.bucket,
          marker,
          `${JSON.stringify({ folder: os.seed.folder, files: n, at: new Date().toISOString() })}\n`,
          { contentType: 'application/json' },
        );
        changed = true;
        notes.push(`seeded ${n} file${n === 1 ? '' : 's'} into ${os.seed.bucket}`);
      }
    }
  } finally {
    store.close();
  }
  return {
    state,
    changed,
    detail: `${OBJECT_STORE_ENGINES[os.engine].title} ready on ${access.endpoint}${access.consoleUrl ? `, console ${access.consoleUrl}` : ''}${notes.length ? ` (${notes.join('; ')})` : ' (unchanged)'}`,
  };
}

async function waitQuery(
  t: DbTarget,
  host: DataAccess['database'],
  timeoutMs: number,
  what: string,
  credFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      await query(t, 'SELECT 1;');
      if (host) await tcpConnect(host.host, host.port);
      return;
    } catch (err) {
      if (err instanceof SqlError && err.isAuth) {
        throw new DevenvError(
          `${what} refuses the credentials in ${credFile}: ` +
            'its data volume was initialised with other ones. Run "devenv destroy" to start over (this deletes the data), ' +
            'or restore the credentials file.',
          { details: [err.message.split('\n')[0] ?? ''] },
        );
      }
      last = (err as Error).message.split('\n')[0] ?? '';
    }
    if (Date.now() > deadline) {
      throw new DevenvError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} to answer "SELECT 1"${host ? ` and port ${host.host}:${host.port} to accept connections` : ''}.`,
        { details: last ? [`last error: ${last}`] : [] },
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function tcpConnect(host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const sock = createConnection({ host, port, timeout: 3000 });
    sock.once('connect', () => {
      sock.destroy();
      resolvePromise();
    });
    sock.once('timeout', () => {
      sock.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    });
    sock.once('error', reject);
  });
}

async function waitS3(
  access: NonNullable<DataAccess['objectStore']>,
  timeoutMs: number,
  what: string,
): Promise<ObjectStore> {
  const store = await ObjectStore.connect(access);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      await store.listBuckets();
      return store;
    } catch (err) {
      if (isAuthError(err)) {
        store.close();
        throw new DevenvError(
          `${what} refuses the generated S3 keys: its data volume was initialised with other credentials. ` +
            'Run "devenv destroy" to start over (this deletes the data), or restore the credentials file.',
        );
      }
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      store.close();
      throw new DevenvError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} to answer S3 requests on ${access.endpoint}.`,
        { details: last ? [`last error: ${last}`] : [] },
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** An S3 client for the project's object store, from the host. */
export async function connectObjectStore(plan: DataPlan): Promise<ObjectStore> {
  const state = plan.objectStore
    ? await inspectManaged(plan.objectStore.containerName, plan.project)
    : undefined;
  const access = endpointsOf(plan, state ? { objectStore: state } : {}).host.objectStore;
  if (!plan.objectStore || !access) {
    throw badInput('this needs an object store: add "objectStore:" to devenv.yaml and run "devenv up".');
  }
  if (!state?.running) {
    throw new DevenvError(
      `the object store container "${plan.objectStore.containerName}" is not running; run "devenv up".`,
    );
  }
  return ObjectStore.connect(access);
}

export interface DataStatusEntry {
  role: DataRole;
  container: string;
  image: string;
  status: string;
  health?: string;
  ports: ContainerState['ports'];
}

/** The project's data containers and volumes as Docker reports them. */
export async function dataStatus(
  project: string,
): Promise<{ containers: DataStatusEntry[]; volumes: string[] }> {
  await engineInfo();
  const containers = (await listContainers(dataLabels(project))).map((c) => ({
    role: (c.labels[ROLE_LABEL] ?? 'database') as DataRole,
    container: c.name,
    image: c.image,
    status: c.status,
    ...(c.health ? { health: c.health } : {}),
    ports: c.ports,
  }));
  const volumes = (await listVolumes(dataLabels(project))).map((v) => v.name).sort();
  return { containers, volumes };
}

/** Stops the project's data containers (their volumes and the containers stay). Returns the names stopped. */
export async function stopDataServices(project: string): Promise<string[]> {
  await engineInfo();
  const running = (await listContainers(dataLabels(project))).filter((c) => c.running);
  await Promise.all(running.map((c) => stopContainer(c.name)));
  return running.map((c) => c.name);
}

/** Removes the project's data containers and volumes (devenv-labelled only). */
export async function destroyDataServices(
  project: string,
): Promise<{ containers: string[]; volumes: string[] }> {
  await engineInfo();
  const containers = await listContainers(dataLabels(project));
  await Promise.all(containers.map((c) => removeContainer(c.name)));
  const volumes = await removeVolumes(dataLabels(project));
  return { containers: containers.map((c) => c.name), volumes };
}

/**
 * Desired state of the data services: devenv.yaml + credentials + compose file in, the
 * exact container specs out (names, labels, volumes, ports, the variables passed to the
 * compose file). Pure: the caller reads the files; nothing here touches Docker or disk.
 */
import { createHash } from 'node:crypto';
import { type ComposeService, parseCompose } from '../compose/parse.ts';
import {
  DEFAULT_OBJECT_STORE_ENGINE,
  OBJECT_STORE_ENGINES,
  type ObjectStoreEngineName,
} from '../config/engines.ts';
import type { Config } from '../config/schema.ts';
import type { ContainerSpec, MountSpec, PortBinding } from '../docker/containers.ts';
import { badInput } from '../errors.ts';
import { LABEL_COMPONENT, LABEL_ROLE, LABEL_SPEC_HASH, projectLabels } from '../labels.ts';
import type { Credentials } from './credentials.ts';
import { databaseEngine } from './engines/index.ts';
import { type DataRole, DB_ALIAS, type DbEngine, MINIO_ALIAS } from './types.ts';

/** The object store engine of a config (objectStore.engine, default minio). */
export function objectStoreEngine(config: Config): ObjectStoreEngineName {
  return config.objectStore?.engine ?? DEFAULT_OBJECT_STORE_ENGINE;
}

/** The image the object store runs: objectStore.image, else the engine's pinned default. */
export function objectStoreImage(config: Config): string {
  return config.objectStore?.image ?? OBJECT_STORE_ENGINES[objectStoreEngine(config)].image;
}

export interface ComposeSource {
  text: string;
  /** Path shown in messages. */
  file: string;
  /** Directory bind-mount sources are relative to. */
  dir: string;
}

export interface PlannedPort extends PortBinding {
  /** The devenv.yaml key that sets this host port, when one does. */
  configKey?: string;
  /** `file:line:col` of the mapping in the compose file. */
  where: string;
}

export interface ServicePlan {
  role: DataRole;
  project: string;
  containerName: string;
  /** DNS alias on the cluster network. */
  alias: string;
  /** devenv.yaml key that selects the image (for messages). */
  imageKey: string;
  composeFile: string;
  /** Prefix of the volumes devenv names for it (devenv-<project>-<db|engine>). */
  volumePrefix: string;
  /** The spec without the image-dependent parts (see completeSpec). */
  spec: ContainerSpec;
  ports: PlannedPort[];
  /** Named volumes devenv creates (labelled) before the container. */
  volumes: Array<{ name: string; labels: Record<string, string> }>;
  /** The port the service listens on inside the container (5432, 3306, 9000). */
  containerPort: number;
  /** The host port of that service port, when published on a fixed port. */
  hostPort?: number;
  /** Variables passed to the compose file (contain secrets: never log). */
  vars: Record<string, string>;
}

export interface DatabasePlan extends ServicePlan {
  role: 'database';
  engine: DbEngine;
  /** Main database first, then the other configured ones. */
  databases: string[];
  initScripts: string[];
}

export interface ObjectStorePlan extends ServicePlan {
  role: 'objectStore';
  engine: ObjectStoreEngineName;
  buckets: string[];
  seed?: { folder: string; bucket: string };
  consoleContainerPort?: number;
  consoleHostPort?: number;
}

export interface DataPlan {
  project: string;
  /** Project root: init scripts and the seed folder are relative to it. */
  root: string;
  database?: DatabasePlan;
  objectStore?: ObjectStorePlan;
  credentials: Credentials;
}

/** One container per role (an engine switch recreates it); named as before engines existed. */
export function containerName(project: string, role: DataRole): string {
  return `devenv-${project}-${role === 'database' ? 'db' : 'minio'}`;
}

/** The prefix of a service's volume names: each object store engine has its own volumes. */
export function volumePrefix(project: string, role: DataRole, engine?: ObjectStoreEngineName): string {
  if (role === 'database') return `devenv-${project}-db`;
  return `devenv-${project}-${OBJECT_STORE_ENGINES[engine ?? DEFAULT_OBJECT_STORE_ENGINE].short}`;
}

/** Labels of every data object of a project (container or volume), optionally of one role. */
export function dataLabels(project: string, role?: DataRole): Record<string, string> {
  return projectLabels(project, { [LABEL_COMPONENT]: 'data', ...(role ? { [LABEL_ROLE]: role } : {}) });
}

/** The main database name: the first of database.databases, else the project name as an identifier. */
export function mainDatabase(config: Config): string {
  return config.database?.databases[0] ?? config.project.replace(/-/g, '_');
}

export function databaseImage(db: NonNullable<Config['database']>): string {
  const { repository, version } = databaseEngine(db.engine).defaults;
  return db.image ?? `${repository}:${db.version ?? version}`;
}

/** Variables devenv passes to the database compose file. */
export function databaseVars(config: Config, creds: Credentials): Record<string, string> {
  const db = config.database!;
  const defaults = databaseEngine(db.engine).defaults;
  return {
    DEVENV_PROJECT: config.project,
    DB_ENGINE: db.engine,
    DB_IMAGE: databaseImage(db),
    DB_VERSION: db.version ?? defaults.version,
    DB_PORT: String(db.port ?? defaults.port),
    DB_USER: creds.database.user,
    DB_PASSWORD: creds.database.password,
    DB_ROOT_PASSWORD: creds.database.rootPassword,
    DB_NAME: mainDatabase(config),
  };
}

/**
 * Variables devenv passes to the object store compose file: the engine-neutral S3_* set,
 * and the MINIO_* names that compose files written before engines existed use.
 */
export function objectStoreVars(config: Config, creds: Credentials): Record<string, string> {
  const os = config.objectStore!;
  const image = objectStoreImage(config);
  return {
    DEVENV_PROJECT: config.project,
    S3_ENGINE: objectStoreEngine(config),
    S3_IMAGE: image,
    S3_PORT: String(os.port),
    S3_CONSOLE_PORT: String(os.consolePort),
    S3_ACCESS_KEY: creds.objectStore.accessKeyId,
    S3_SECRET_KEY: creds.objectStore.secretAccessKey,
    MINIO_IMAGE: image,
    MINIO_PORT: String(os.port),
    MINIO_CONSOLE_PORT: String(os.consolePort),
    MINIO_ROOT_USER: creds.objectStore.accessKeyId,
    MINIO_ROOT_PASSWORD: creds.objectStore.secretAccessKey,
  };
}

export interface PlanInput {
  config: Config;
  root: string;
  credentials: Credentials;
  database?: ComposeSource;
  objectStore?: ComposeSource;
  /** Variables from the environment, used for ${VAR} that devenv does not set (compose reads the shell too). */
  env?: Record<string, string | undefined>;
}

export function planData(input: PlanInput): DataPlan {
  const { config, credentials } = input;
  const plan: DataPlan = { project: config.project, root: input.root, credentials };
  if (config.database) {
    if (!input.database) throw new Error('planData: database compose source missing');
    const vars = databaseVars(config, credentials);
    const base = planService('database', input, input.database, {
      vars,
      defaultPort: databaseEngine(config.database.engine).defaults.port,
      portKeys: { [vars.DB_PORT!]: 'database.port' },
    });
    const main = mainDatabase(config);
    plan.database = {
      ...base,
      role: 'database',
      engine: config.database.engine,
      databases: [main, ...config.database.databases.filter((d) => d !== main)],
      initScripts: config.database.initScripts,
    };
  }
  if (config.objectStore) {
    if (!input.objectStore) throw new Error('planData: objectStore compose source missing');
    const os = config.objectStore;
    const engine = objectStoreEngine(config);
    const def = OBJECT_STORE_ENGINES[engine];
    const vars = objectStoreVars(config, credentials);
    const base = planService('objectStore', input, input.objectStore, {
      vars,
      defaultPort: def.s3Port,
      portKeys: {
        [String(os.port)]: 'objectStore.port',
        [String(os.consolePort)]: 'objectStore.consolePort',
      },
      engine,
    });
    const consolePort =
      base.ports.find((p) => p.containerPort === def.consolePort) ??
      base.ports.find((p) => p.containerPort !== base.containerPort);
    plan.objectStore = {
      ...base,
      role: 'objectStore',
      engine,
      buckets: os.buckets,
      ...(os.seed ? { seed: os.seed } : {}),
      ...(consolePort ? { consoleContainerPort: consolePort.containerPort } : {}),
      ...(consolePort?.hostPort ? { consoleHostPort: consolePort.hostPort } : {}),
    };
  }
  return plan;
}

function planService(
  role: DataRole,
  input: PlanInput,
  src: ComposeSource,
  opts: {
    /** Variables passed to the compose file (devenv's; the environment fills the rest). */
    vars: Record<string, string>;
    /** The service port when the compose file maps several. */
    defaultPort: number;
    /** devenv.yaml keys by the host port they set (for messages). */
    portKeys: Record<string, string>;
    /** The object store engine (its volumes have their own prefix). */
    engine?: ObjectStoreEngineName;
  },
): ServicePlan {
  const { vars, defaultPort, portKeys } = opts;
  const project = input.config.project;
  const prefix = volumePrefix(project, role, opts.engine);
  const compose = parseCompose(src.text, src.file, src.dir, { ...(input.env ?? {}), ...vars });
  if (compose.services.length !== 1) {
    throw badInput(
      `${src.file}: defines ${compose.services.length} services (${compose.services.map((s) => s.name).join(', ')}); ` +
        `the ${role === 'database' ? 'database' : 'object store'} compose file must define exactly one.`,
    );
  }
  const svc = compose.services[0] as ComposeService;
  const volLabels = dataLabels(project, role);
  const volumes: ServicePlan['volumes'] = [];
  const mounts: MountSpec[] = svc.volumes.map((m) => {
    if (m.type === 'bind') return { ...m };
    const name = m.source ? `${prefix}-${m.source}` : anonVolumeName(prefix, m.target);
    volumes.push({ name, labels: volLabels });
    return { type: 'volume', source: name, target: m.target, readOnly: m.readOnly };
  });
  const ports: PlannedPort[] = svc.ports.map((p) => {
    const key = p.hostPort !== undefined ? portKeys[String(p.hostPort)] : undefined;
    return {
      containerPort: p.containerPort,
      protocol: p.protocol,
      ...(p.hostIp ? { hostIp: p.hostIp } : {}),
      ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}),
      ...(key ? { configKey: key } : {}),
      where: p.where,
    };
  });
  const primary = ports.find((p) => p.containerPort === defaultPort) ?? ports[0];
  const name = containerName(project, role);
  const spec: ContainerSpec = {
    name,
    image: svc.image,
    env: Object.entries(svc.environment)
      .map(([k, v]) => `${k}=${v}`)
      .sort(),
    ...(svc.command ? { cmd: svc.command } : {}),
    ports: ports.map(({ configKey: _k, where: _w, ...b }) => b),
    mounts,
    ...(svc.healthcheck ? { healthcheck: svc.healthcheck } : {}),
    labels: dataLabels(project, role),
  };
  return {
    role,
    project,
    containerName: name,
    alias: role === 'database' ? DB_ALIAS : MINIO_ALIAS,
    imageKey: `${role}.image`,
    composeFile: src.file,
    volumePrefix: prefix,
    spec,
    ports,
    volumes,
    containerPort: primary?.containerPort ?? defaultPort,
    ...(primary?.hostPort !== undefined ? { hostPort: primary.hostPort } : {}),
    vars,
  };
}

function anonVolumeName(prefix: string, target: string): string {
  return `${prefix}-anon-${createHash('sha256').update(target).digest('hex').slice(0, 12)}`;
}

/**
 * The spec as it will be created: image VOLUME paths the compose file does not mount get
 * labelled named volumes (Docker would otherwise create unlabelled anonymous ones), and
 * the spec hash (over everything that defines the container, including the image id)
 * goes into a label. A different hash on the existing container means "recreate".
 */
export function completeSpec(
  plan: ServicePlan,
  image: { id: string; volumes: string[] },
): { spec: ContainerSpec; volumes: ServicePlan['volumes']; hash: string } {
  const mounts = [...plan.spec.mounts];
  const volumes = [...plan.volumes];
  for (const target of image.volumes) {
    const norm = target.replace(/\/+$/, '') || '/';
    if (mounts.some((m) => m.target.replace(/\/+$/, '') === norm)) continue;
    const name = anonVolumeName(plan.volumePrefix, norm);
    volumes.push({ name, labels: dataLabels(plan.project, plan.role) });
    mounts.push({ type: 'volume', source: name, target: norm, readOnly: false });
  }
  const base: ContainerSpec = { ...plan.spec, mounts };
  const hash = specHash(base, image.id);
  return { spec: { ...base, labels: { ...base.labels, [LABEL_SPEC_HASH]: hash } }, volumes, hash };
}

export function specHash(spec: ContainerSpec, imageId: string): string {
  const material = JSON.stringify({
    imageId,
    image: spec.image,
    env: spec.env,
    cmd: spec.cmd ?? null,
    ports: spec.ports,
    mounts: spec.mounts,
    healthcheck: spec.healthcheck ?? null,
    labels: spec.labels,
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

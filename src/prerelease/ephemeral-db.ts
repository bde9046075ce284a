/**
 * `prerelease.database: ephemeral`: the database server runs INSIDE the prerelease
 * namespace and goes with it. Built from the SAME compose file as the dev container
 * (compose/postgres.yaml or mysql.yaml, or the project's `database.compose`), through the
 * same planner (data/plan.ts), so image, environment, command and healthcheck mean the
 * same thing in both places:
 *
 *   Secret     devenv-db-env  the server container's environment (it holds the passwords)
 *   Deployment devenv-db      1 replica, Recreate; volumes of the compose file → emptyDir;
 *                             the compose healthcheck → readiness probe
 *   Service    devenv-db      the database port
 *   ConfigMap  devenv-db-init database.initScripts at /docker-entrypoint-initdb.d (the
 *                             official images run them on first start, before Ready)
 *
 * Apps reach it as `devenv-db:<port>` through the usual `devenv-data` Secret. No shared
 * server, no admin URL, nothing to drop: deleting the namespace removes it all.
 * The image must be pullable by the cluster (`database.image`; the default is the
 * official image of the engine).
 *
 * Pure module: no I/O.
 */

import { basename } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { ComposeSource } from '../data/plan.ts';
import { type DatabasePlan, mainDatabase, planData } from '../data/plan.ts';
import type { DataAccess } from '../data/types.ts';
import type { HealthSpec } from '../docker/containers.ts';
import { badInput } from '../errors.ts';

export const EPHEMERAL_DB = 'devenv-db';
export const EPHEMERAL_DB_ENV = 'devenv-db-env';
export const EPHEMERAL_DB_INIT = 'devenv-db-init';
const COMPONENT = { 'app.kubernetes.io/name': EPHEMERAL_DB, 'app.kubernetes.io/component': 'database' };

export interface EphemeralCredentials {
  user: string;
  password: string;
  rootPassword: string;
}

export interface EphemeralDatabase {
  engine: DatabasePlan['engine'];
  database: string;
  user: string;
  image: string;
  /** The database as pods reach it (the Service), for the devenv-data Secret. */
  access: NonNullable<DataAccess['database']>;
  /** Deployment, Service and Secret, as plain manifests (rendered like devenv's other objects). */
  objects: Array<Record<string, unknown>>;
}

/**
 * The server for one namespace. Bad input (exit 2) for what a pod cannot do: a bind mount
 * of a host path. Called first with throwaway credentials (to check the compose file
 * before anything is created), then with the real ones.
 */
export function planEphemeralDatabase(
  config: Config,
  root: string,
  compose: ComposeSource,
  creds: EphemeralCredentials,
  /** database.initScripts: mounted at /docker-entrypoint-initdb.d, run by the image at first start. */
  initScripts: ReadonlyArray<{ name: string; sql: string }> = [],
): EphemeralDatabase {
  const { objectStore: _ignored, ...databaseOnly } = config;
  const plan = planData({
    config: databaseOnly as Config,
    root,
    credentials: { version: 1, database: creds, objectStore: { accessKeyId: '', secretAccessKey: '' } },
    database: compose,
  }).database!;
  const binds = plan.spec.mounts.filter((m) => m.type === 'bind');
  if (binds.length > 0) {
    throw badInput(
      `${compose.file}: bind mounts (${binds.map((m) => `${m.source}:${m.target}`).join(', ')}) cannot be used by prerelease.database "ephemeral": the database runs in a pod, without this machine's files.`,
      ['Use named volumes in the compose file, or prerelease.database: shared.'],
    );
  }
  const port = plan.containerPort;
  const database = mainDatabase(config);
  return {
    engine: plan.engine,
    database,
    user: creds.user,
    image: plan.spec.image,
    access: {
      engine: plan.engine,
      host: EPHEMERAL_DB,
      port,
      user: creds.user,
      password: creds.password,
      database,
      databases: [database],
    },
    objects: serverObjects(plan, initScripts),
  };
}

/** The compose file's volumes as pod volumes (emptyDir: the data goes with the namespace). */
interface PodVolume {
  name: string;
  target: string;
  readOnly: boolean;
}

/** ConfigMap (init scripts, when any), Secret, Deployment and Service of the server. */
function serverObjects(
  plan: DatabasePlan,
  initScripts: ReadonlyArray<{ name: string; sql: string }>,
): Array<Record<string, unknown>> {
  const env = Object.fromEntries(
    plan.spec.env.map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const volumes: PodVolume[] = plan.spec.mounts.map((m, i) => ({
    name: `data-${i}`,
    target: m.target,
    readOnly: m.readOnly,
  }));
  // The official images run /docker-entrypoint-initdb.d/*.sql in name order on an empty
  // data directory, before the server that the readiness probe checks starts listening.
  const initFiles = Object.fromEntries(
    initScripts.map((s, i) => [
      `${String(i).padStart(2, '0')}-${basename(s.name).replace(/[^-._a-zA-Z0-9]/g, '_')}`,
      s.sql,
    ]),
  );
  const hasInit = initScripts.length > 0;
  return [
    ...(hasInit
      ? [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: EPHEMERAL_DB_INIT, labels: { ...COMPONENT } },
            data: initFiles,
          },
        ]
      : []),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: EPHEMERAL_DB_ENV, labels: { ...COMPONENT } },
      type: 'Opaque',
      stringData: env,
    },
    serverDeployment(plan, volumes, hasInit),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: EPHEMERAL_DB, labels: { ...COMPONENT } },
      spec: {
        selector: { 'app.kubernetes.io/name': EPHEMERAL_DB },
        ports: [{ name: 'db', port: plan.containerPort, targetPort: 'db' }],
      },
    },
  ];
}

function serverDeployment(
  plan: DatabasePlan,
  volumes: PodVolume[],
  hasInit: boolean,
): Record<string, unknown> {
  const probe = readinessProbe(plan.spec.healthcheck);
  const container: Record<string, unknown> = {
    name: 'db',
    image: plan.spec.image,
    ...(plan.spec.cmd ? { args: plan.spec.cmd } : {}),
    ports: [{ name: 'db', containerPort: plan.containerPort }],
    envFrom: [{ secretRef: { name: EPHEMERAL_DB_ENV } }],
    ...(volumes.length > 0 || hasInit
      ? {
          volumeMounts: [
            ...volumes.map((v) => ({ name: v.name, mountPath: v.target, readOnly: v.readOnly })),
            ...(hasInit
              ? [{ name: 'init-scripts', mountPath: '/docker-entrypoint-initdb.d', readOnly: true }]
              : []),
          ],
        }
      : {}),
    ...(probe ? { readinessProbe: probe } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: EPHEMERAL_DB, labels: { ...COMPONENT } },
    spec: {
      replicas: 1,
      // Never two servers on one data directory, even for a moment.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'app.kubernetes.io/name': EPHEMERAL_DB } },
      template: {
        metadata: { labels: { ...COMPONENT } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [container],
          ...(volumes.length > 0 || hasInit
            ? {
                volumes: [
                  ...volumes.map((v) => ({ name: v.name, emptyDir: {} })),
                  ...(hasInit ? [{ name: 'init-scripts', configMap: { name: EPHEMERAL_DB_INIT } }] : []),
                ],
              }
            : {}),
        },
      },
    },
  };
}

/** Docker's healthcheck as a readiness probe (CMD → exec; CMD-SHELL → sh -c). */
export function readinessProbe(h: HealthSpec | undefined): Record<string, unknown> | undefined {
  if (!h || h.test.length === 0 || h.test[0] === 'NONE') return undefined;
  const [kind, ...rest] = h.test;
  const command = kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : h.test;
  const seconds = (ns: number | undefined, fallback: number) =>
    ns && ns > 0 ? Math.max(1, Math.round(ns / 1e9)) : fallback;
  return {
    exec: { command },
    periodSeconds: seconds(h.intervalNs, 10),
    timeoutSeconds: seconds(h.timeoutNs, 5),
    failureThreshold: 3,
  };
}

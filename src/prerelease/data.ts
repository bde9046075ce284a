/**
 * What a prerelease needs from the data services, decided before anything is created:
 * the per-prerelease database (prerelease.database: shared) on the server named by
 * DEVENV_PRERELEASE_DATABASE_URL, or a database server inside the namespace
 * (prerelease.database: ephemeral, ephemeral-db.ts); and prefixed buckets on the shared
 * object store when DEVENV_PRERELEASE_S3_* are set. Also the `devenv-data` Secret's variables, with the
 * same names as in dev (data/vars.ts), so the app reads DATABASE_URL, S3_BUCKET_UPLOADS…
 * unchanged.
 *
 * Pure module: no I/O; the environment is a parameter.
 */
import type { Config } from '../config/schema.ts';
import type { DatabaseNames } from '../data/engines/types.ts';
import type { ComposeSource } from '../data/plan.ts';
import { buildDataSecret, type SecretObject } from '../data/secret.ts';
import type { DataAccess } from '../data/types.ts';
import { bucketVar } from '../data/vars.ts';
import { badInput } from '../errors.ts';
import {
  type AdminConnection,
  assertBucketNames,
  DATABASE_HOST_ENV,
  DATABASE_URL_ENV,
  databaseNames,
  parseAdminUrl,
  prereleaseBuckets,
} from './database-plan.ts';
import { planEphemeralDatabase } from './ephemeral-db.ts';
import { type SharedS3, sharedS3FromEnv } from './shared-s3.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface SharedDatabasePlan {
  mode: 'shared';
  admin: AdminConnection;
  names: DatabaseNames;
  podHost: string;
}

/** A server in the namespace, from this compose file (planned again with the real passwords). */
export interface EphemeralDatabasePlan {
  mode: 'ephemeral';
  compose: ComposeSource;
  root: string;
}

export interface PrereleaseDataPlan {
  database?: SharedDatabasePlan | EphemeralDatabasePlan;
  objectStore?: { s3: SharedS3; buckets: string[]; byConfigName: Record<string, string> };
  /** Things deliberately not done, for the report (e.g. "no shared object store configured"). */
  notes: string[];
}

export function planPrereleaseData(
  config: Config,
  namespace: string,
  env: Env,
  /** The database compose file and project root (read by the caller): needed for "ephemeral". */
  ephemeral?: { compose: ComposeSource; root: string },
): PrereleaseDataPlan {
  const plan: PrereleaseDataPlan = { notes: [] };
  if (config.database && config.prerelease.database === 'ephemeral') {
    if (!ephemeral)
      throw new Error('planPrereleaseData: the database compose source is needed for "ephemeral"');
    // Checked now with throwaway passwords, so a bad compose file stops `up` before it creates anything.
    planEphemeralDatabase(config, ephemeral.root, ephemeral.compose, {
      user: 'x',
      password: 'x',
      rootPassword: 'x',
    });
    plan.database = { mode: 'ephemeral', ...ephemeral };
  } else if (config.database) {
    const url = env[DATABASE_URL_ENV];
    if (!url) {
      throw badInput(
        `${DATABASE_URL_ENV} is not set: prerelease.database "shared" needs the shared database server's admin URL.`,
        ['e.g. postgres://admin:password@db.internal:5432/postgres (a CI secret; never printed)'],
      );
    }
    const admin = parseAdminUrl(url);
    if (admin.engine !== config.database.engine) {
      throw badInput(
        `${DATABASE_URL_ENV} points to a ${admin.engine} server, but devenv.yaml says database.engine: ${config.database.engine}.`,
      );
    }
    plan.database = {
      mode: 'shared',
      admin,
      names: databaseNames(admin.engine, namespace),
      podHost: env[DATABASE_HOST_ENV] || admin.host,
    };
  }
  const buckets = config.objectStore?.buckets ?? [];
  if (config.objectStore) {
    const s3 = sharedS3FromEnv(env);
    if (!s3) {
      plan.notes.push(
        'no shared object store: DEVENV_PRERELEASE_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY not set; buckets skipped',
      );
    } else {
      assertBucketNames(namespace, buckets);
      const prefixed = prereleaseBuckets(namespace, buckets);
      plan.objectStore = {
        s3,
        buckets: prefixed,
        byConfigName: Object.fromEntries(buckets.map((b, i) => [b, prefixed[i]!])),
      };
    }
  }
  return plan;
}

/**
 * The `devenv-data` Secret for the namespace: connection variables as pods see them.
 * Bucket variables keep the names of devenv.yaml's buckets (S3_BUCKET_UPLOADS) and hold
 * the prefixed bucket names.
 */
export function prereleaseDataSecret(
  project: string,
  namespace: string,
  plan: PrereleaseDataPlan,
  /** The database as pods reach it (shared: see sharedDatabaseAccess; ephemeral: the Service). */
  db: DataAccess['database'] | undefined,
): SecretObject | undefined {
  const access: DataAccess = {};
  if (db) access.database = db;
  if (plan.objectStore) {
    const { s3, buckets } = plan.objectStore;
    access.objectStore = {
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      region: s3.region,
      buckets,
    };
  }
  if (!access.database && !access.objectStore) return undefined;
  const secret = buildDataSecret(project, access, namespace);
  if (plan.objectStore) {
    for (const b of plan.objectStore.buckets) delete secret.stringData[bucketVar(b)];
    for (const [name, prefixed] of Object.entries(plan.objectStore.byConfigName))
      secret.stringData[bucketVar(name)] = prefixed;
  }
  return secret;
}

/** The shared server's per-prerelease database as pods reach it. */
export function sharedDatabaseAccess(
  d: SharedDatabasePlan,
  password: string,
): NonNullable<DataAccess['database']> {
  return {
    engine: d.admin.engine,
    host: d.podHost,
    port: d.admin.port,
    user: d.names.user,
    password,
    database: d.names.database,
    databases: [d.names.database],
  };
}

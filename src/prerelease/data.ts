/**
 * What a prerelease needs from the shared data services, decided before anything is
 * created: the per-prerelease database (prerelease.database: shared) on the server named
 * by DEVENV_PRERELEASE_DATABASE_URL, and prefixed buckets on the shared object store when
 * DEVENV_PRERELEASE_S3_* are set. Also the `devenv-data` Secret's variables, with the
 * same names as in dev (data/vars.ts), so the app reads DATABASE_URL, S3_BUCKET_UPLOADS…
 * unchanged.
 *
 * Pure module: no I/O; the environment is a parameter.
 */
import type { Config } from '../config/schema.ts';
import { buildDataSecret, type SecretObject } from '../data/secret.ts';
import type { DataAccess } from '../data/types.ts';
import { bucketVar } from '../data/vars.ts';
import { badInput, DevenvError, EXIT_NOT_AVAILABLE } from '../errors.ts';
import {
  type AdminConnection,
  assertBucketNames,
  DATABASE_HOST_ENV,
  DATABASE_URL_ENV,
  type DatabaseNames,
  databaseNames,
  parseAdminUrl,
  prereleaseBuckets,
} from './database-plan.ts';
import { type SharedS3, sharedS3FromEnv } from './shared-s3.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface PrereleaseDataPlan {
  database?: { admin: AdminConnection; names: DatabaseNames; podHost: string };
  objectStore?: { s3: SharedS3; buckets: string[]; byConfigName: Record<string, string> };
  /** Things deliberately not done, for the report (e.g. "no shared object store configured"). */
  notes: string[];
}

export function planPrereleaseData(config: Config, namespace: string, env: Env): PrereleaseDataPlan {
  const plan: PrereleaseDataPlan = { notes: [] };
  if (config.database) {
    if (config.prerelease.database === 'ephemeral') {
      throw new DevenvError(
        'prerelease.database "ephemeral" (a database inside the namespace) is not available yet; use "shared".',
        { exitCode: EXIT_NOT_AVAILABLE },
      );
    }
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
  password: string | undefined,
): SecretObject | undefined {
  const access: DataAccess = {};
  if (plan.database && password !== undefined) {
    const { admin, names, podHost } = plan.database;
    access.database = {
      engine: admin.engine,
      host: podHost,
      port: admin.port,
      user: names.user,
      password,
      database: names.database,
      databases: [names.database],
    };
  }
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

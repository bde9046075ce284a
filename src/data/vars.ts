/**
 * Connection variables for applications: one function builds them for both sides (host
 * and cluster), so `devenv env` and the in-cluster Secret always agree on names.
 * Pure: no I/O.
 */
import { databaseEngine } from './engines/index.ts';
import type { DataAccess, DatabaseEndpoint } from './types.ts';

export const MASK = '****';

/** Variable names whose values are secrets (masked unless asked). */
export const SECRET_VARS = new Set(['DB_PASSWORD', 'S3_SECRET_ACCESS_KEY', 'DATABASE_URL']);

export function databaseUrl(db: DatabaseEndpoint, password: string = db.password): string {
  const scheme = databaseEngine(db.engine).urlScheme;
  const user = encodeURIComponent(db.user);
  const pw = password === MASK ? MASK : encodeURIComponent(password);
  return `${scheme}://${user}:${pw}@${db.host}:${db.port}/${encodeURIComponent(db.database)}`;
}

/** "user-uploads" -> "S3_BUCKET_USER_UPLOADS". */
export function bucketVar(bucket: string): string {
  return `S3_BUCKET_${bucket.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * The variables, in a stable order. With `mask`, secret values read "****" (and the
 * password inside DATABASE_URL too), so the output is safe to paste into a bug report.
 */
export function connectionVars(access: DataAccess, opts: { mask?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const db = access.database;
  if (db) {
    out.DATABASE_URL = databaseUrl(db, opts.mask ? MASK : db.password);
    out.DB_ENGINE = db.engine;
    out.DB_HOST = db.host;
    out.DB_PORT = String(db.port);
    out.DB_USER = db.user;
    out.DB_PASSWORD = opts.mask ? MASK : db.password;
    out.DB_NAME = db.database;
  }
  const os = access.objectStore;
  if (os) {
    out.S3_ENDPOINT = os.endpoint;
    out.S3_REGION = os.region;
    out.S3_FORCE_PATH_STYLE = 'true';
    out.S3_ACCESS_KEY_ID = os.accessKeyId;
    out.S3_SECRET_ACCESS_KEY = opts.mask ? MASK : os.secretAccessKey;
    out.S3_BUCKETS = os.buckets.join(',');
    for (const b of os.buckets) out[bucketVar(b)] = b;
    if (os.consoleUrl) out.S3_CONSOLE_URL = os.consoleUrl;
  }
  return out;
}

/** `KEY=value` lines, single-quoted where a shell or dotenv parser would need it. */
export function formatDotenv(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${/^[A-Za-z0-9_./:@,*+-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`}`)
    .join('\n');
}

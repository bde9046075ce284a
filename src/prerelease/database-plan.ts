/**
 * A database per prerelease on the shared database server (`prerelease.database: shared`).
 * The server's admin connection comes from DEVENV_PRERELEASE_DATABASE_URL
 * (postgres://… or mysql://…); devenv creates one database and one login user per
 * prerelease namespace, with a random password, and drops both on `down` / `gc`.
 *
 * Names are derived from the namespace (so `down` and `gc` need no stored state and can
 * only ever drop names inside the prefix): "-" becomes "_", and a name longer than the
 * engine allows is shortened and suffixed with a hash of the whole.
 *
 * Pure module: no I/O. The SQL is built here and run by shared-db.ts.
 */
import { createHash } from 'node:crypto';
import { DATABASE_ENGINE_LIST, databaseEngine, engineForScheme } from '../data/engines/index.ts';
import type { DatabaseNames, ServerConnection } from '../data/engines/types.ts';
import type { DbEngine } from '../data/types.ts';
import { badInput } from '../errors.ts';

export const DATABASE_URL_ENV = 'DEVENV_PRERELEASE_DATABASE_URL';
/** Host pods use for the shared server, when it differs from the admin URL's host. */
export const DATABASE_HOST_ENV = 'DEVENV_PRERELEASE_DATABASE_HOST';

/** The shared server's admin connection (`database`: the engine's default when absent). */
export interface AdminConnection extends ServerConnection {
  engine: DbEngine;
  /** The URL as given (contains the password: never print it). */
  url: string;
}

/** Parses the admin URL; bad input (exit 2) for a scheme no engine accepts. */
export function parseAdminUrl(url: string): AdminConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badInput(
      `${DATABASE_URL_ENV} is not a URL (expected postgres://user:password@host:port/db or mysql://…).`,
    );
  }
  const scheme = u.protocol.replace(/:$/, '');
  const engine = engineForScheme(scheme);
  if (!engine) {
    const known = DATABASE_ENGINE_LIST.map((e) => `${e.adminSchemes[0]}://`).join(' or ');
    throw badInput(`${DATABASE_URL_ENV} must start with ${known} (got ${scheme}://).`);
  }
  if (!u.hostname) throw badInput(`${DATABASE_URL_ENV} names no host.`);
  if (!u.username) throw badInput(`${DATABASE_URL_ENV} names no user.`);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    engine: engine.name,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number.parseInt(u.port, 10) : engine.defaults.port,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(db ? { database: db } : {}),
    url,
  };
}

function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9)}_${hash}`;
}

/** The database and user of a prerelease namespace ("prerelease-nightly-1" → "prerelease_nightly_1"). */
export function databaseNames(engine: DbEngine, namespace: string): DatabaseNames {
  const base = namespace.replace(/-/g, '_');
  const limits = databaseEngine(engine).nameLimits;
  return { database: shorten(base, limits.database), user: shorten(base, limits.user) };
}

/** True when both names lie inside the prefix (the only names `down` / `gc` may drop). */
export function namesInPrefix(names: DatabaseNames, prefix: string): boolean {
  const p = `${prefix.replace(/-/g, '_')}_`;
  return names.database.startsWith(p) && names.user.startsWith(p) && names.database.length > p.length;
}

/** The comment devenv puts on a database it created, where the engine has comments (checked before dropping). */
export function databaseComment(namespace: string): string {
  return `devenv prerelease ${namespace}`;
}

/** Statements that create (or re-password) the user, then create the database it owns. */
export function createStatements(
  engine: DbEngine,
  names: DatabaseNames,
  password: string,
  opts: { userExists: boolean; databaseExists: boolean; namespace: string },
): string[] {
  return databaseEngine(engine).createDatabaseAndUser(names, password, {
    userExists: opts.userExists,
    databaseExists: opts.databaseExists,
    comment: databaseComment(opts.namespace),
  });
}

/** Statements that drop the database and then its user (both absent: no-ops). */
export function dropStatements(engine: DbEngine, names: DatabaseNames): string[] {
  return databaseEngine(engine).dropDatabaseAndUser(names);
}

/** Prefixed bucket names on the shared object store: `<namespace>-<bucket>`. */
export function prereleaseBuckets(namespace: string, buckets: readonly string[]): string[] {
  return buckets.map((b) => `${namespace}-${b}`);
}

/** Bad input when a prefixed bucket name would exceed S3's 63 characters. */
export function assertBucketNames(namespace: string, buckets: readonly string[]): void {
  const long = prereleaseBuckets(namespace, buckets).filter((b) => b.length > 63);
  if (long.length > 0) {
    throw badInput(
      `prerelease bucket name${long.length === 1 ? '' : 's'} too long for S3 (at most 63 characters): ${long.join(', ')}`,
      ['Use a shorter --name or prerelease.namespacePrefix.'],
    );
  }
}

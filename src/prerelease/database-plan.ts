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
import type { DbEngine } from '../data/types.ts';
import { badInput } from '../errors.ts';

export const DATABASE_URL_ENV = 'DEVENV_PRERELEASE_DATABASE_URL';
/** Host pods use for the shared server, when it differs from the admin URL's host. */
export const DATABASE_HOST_ENV = 'DEVENV_PRERELEASE_DATABASE_HOST';

export interface AdminConnection {
  engine: DbEngine;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Database the admin connects to (postgres: default "postgres"). */
  database?: string;
  /** The URL as given (contains the password: never print it). */
  url: string;
}

/** Parses the admin URL; bad input (exit 2) for anything but postgres:// / mysql://. */
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
  const engine: DbEngine | undefined =
    scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : scheme === 'mysql' ? 'mysql' : undefined;
  if (!engine)
    throw badInput(`${DATABASE_URL_ENV} must start with postgres:// or mysql:// (got ${scheme}://).`);
  if (!u.hostname) throw badInput(`${DATABASE_URL_ENV} names no host.`);
  if (!u.username) throw badInput(`${DATABASE_URL_ENV} names no user.`);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    engine,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number.parseInt(u.port, 10) : engine === 'postgres' ? 5432 : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(db ? { database: db } : {}),
    url,
  };
}

const LIMITS: Record<DbEngine, { database: number; user: number }> = {
  postgres: { database: 63, user: 63 },
  mysql: { database: 64, user: 32 },
};

function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9)}_${hash}`;
}

export interface DatabaseNames {
  database: string;
  user: string;
}

/** The database and user of a prerelease namespace ("prerelease-nightly-1" → "prerelease_nightly_1"). */
export function databaseNames(engine: DbEngine, namespace: string): DatabaseNames {
  const base = namespace.replace(/-/g, '_');
  return { database: shorten(base, LIMITS[engine].database), user: shorten(base, LIMITS[engine].user) };
}

/** True when both names lie inside the prefix (the only names `down` / `gc` may drop). */
export function namesInPrefix(names: DatabaseNames, prefix: string): boolean {
  const p = `${prefix.replace(/-/g, '_')}_`;
  return names.database.startsWith(p) && names.user.startsWith(p) && names.database.length > p.length;
}

export function quoteIdent(engine: DbEngine, name: string): string {
  return engine === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

export function quoteLiteral(engine: DbEngine, s: string): string {
  const body = engine === 'mysql' ? s.replace(/\\/g, '\\\\').replace(/'/g, "''") : s.replace(/'/g, "''");
  return `'${body}'`;
}

/** The comment devenv puts on a Postgres database it created (checked before dropping). */
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
  const db = quoteIdent(engine, names.database);
  const pw = quoteLiteral(engine, password);
  if (engine === 'postgres') {
    const user = quoteIdent(engine, names.user);
    return [
      opts.userExists
        ? `ALTER ROLE ${user} WITH LOGIN PASSWORD ${pw}`
        : `CREATE ROLE ${user} WITH LOGIN PASSWORD ${pw}`,
      ...(opts.databaseExists ? [] : [`CREATE DATABASE ${db} OWNER ${user}`]),
      `COMMENT ON DATABASE ${db} IS ${quoteLiteral(engine, databaseComment(opts.namespace))}`,
    ];
  }
  const user = `${quoteLiteral(engine, names.user)}@'%'`;
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${pw}`,
    `ALTER USER ${user} IDENTIFIED BY ${pw}`,
    `GRANT ALL PRIVILEGES ON ${db}.* TO ${user}`,
  ];
}

/** Statements that drop the database and then its user (both absent: no-ops). */
export function dropStatements(engine: DbEngine, names: DatabaseNames): string[] {
  const db = quoteIdent(engine, names.database);
  if (engine === 'postgres') {
    return [`DROP DATABASE IF EXISTS ${db}`, `DROP ROLE IF EXISTS ${quoteIdent(engine, names.user)}`];
  }
  return [`DROP DATABASE IF EXISTS ${db}`, `DROP USER IF EXISTS ${quoteLiteral(engine, names.user)}@'%'`];
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

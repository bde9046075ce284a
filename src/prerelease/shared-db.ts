/**
 * The per-prerelease database on the shared server, through real clients: `pg` for
 * Postgres, `mysql2` for MySQL (loaded only when used). Creates the database and its
 * login user (idempotent: a second `up` re-sets the password it was given), and drops
 * both on `down` / `gc`.
 *
 * Guards before dropping: the names are derived from the namespace and must lie inside
 * the prefix (database-plan.ts); on Postgres the database must also carry devenv's
 * comment for that namespace, so a same-named database someone else made is left alone.
 * The admin password and the generated one are never printed.
 */
import type { DbEngine } from '../data/types.ts';
import { DevenvError } from '../errors.ts';
import {
  type AdminConnection,
  createStatements,
  type DatabaseNames,
  databaseComment,
  dropStatements,
} from './database-plan.ts';

interface Sql {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

async function open(admin: AdminConnection, opts: { multipleStatements?: boolean } = {}): Promise<Sql> {
  const where = `${admin.engine}://${admin.host}:${admin.port}`;
  try {
    if (admin.engine === 'postgres') {
      const pg = (await import('pg')).default;
      const client = new pg.Client({
        host: admin.host,
        port: admin.port,
        user: admin.user,
        password: admin.password,
        database: admin.database ?? 'postgres',
        connectionTimeoutMillis: 15_000,
      });
      await client.connect();
      return {
        async query(sql, params) {
          return (await client.query(sql, params as unknown[] | undefined)).rows as Array<
            Record<string, unknown>
          >;
        },
        close: () => client.end(),
      };
    }
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({
      host: admin.host,
      port: admin.port,
      user: admin.user,
      password: admin.password,
      ...(admin.database ? { database: admin.database } : {}),
      connectTimeout: 15_000,
      ...(opts.multipleStatements ? { multipleStatements: true } : {}),
    });
    return {
      async query(sql, params) {
        const [rows] = await conn.query(sql, params);
        return (Array.isArray(rows) ? rows : []) as Array<Record<string, unknown>>;
      },
      close: () => conn.end(),
    };
  } catch (err) {
    throw new DevenvError(
      `cannot connect to the shared database server ${where}: ${(err as Error).message}`,
      {
        cause: err,
        details: ['The admin connection comes from DEVENV_PRERELEASE_DATABASE_URL.'],
      },
    );
  }
}

async function exists(sql: Sql, engine: DbEngine, names: DatabaseNames) {
  if (engine === 'postgres') {
    const u = await sql.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [names.user]);
    const d = await sql.query(
      "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
      [names.database],
    );
    return {
      user: u.length > 0,
      database: d.length > 0,
      comment: d[0]?.comment as string | null | undefined,
    };
  }
  const u = await sql.query("SELECT 1 FROM mysql.user WHERE user = ? AND host = '%'", [names.user]);
  const d = await sql.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [
    names.database,
  ]);
  return { user: u.length > 0, database: d.length > 0, comment: undefined };
}

/** Creates (or updates the password of) the user and creates its database. True when the database was new. */
export async function ensurePrereleaseDatabase(
  admin: AdminConnection,
  names: DatabaseNames,
  password: string,
  namespace: string,
): Promise<boolean> {
  const sql = await open(admin);
  try {
    const e = await exists(sql, admin.engine, names);
    if (admin.engine === 'postgres' && e.database && e.comment !== databaseComment(namespace)) {
      throw new DevenvError(
        `database "${names.database}" exists on the shared server but was not created by devenv for ${namespace}; devenv leaves it alone.`,
      );
    }
    for (const s of createStatements(admin.engine, names, password, {
      userExists: e.user,
      databaseExists: e.database,
      namespace,
    })) {
      await sql.query(s);
    }
    return !e.database;
  } finally {
    await sql.close().catch(() => undefined);
  }
}

export interface DropResult {
  database: 'dropped' | 'absent' | 'refused';
  user: 'dropped' | 'absent';
  reason?: string;
}

/** Drops the database (closing its connections first) and its user. */
export async function dropPrereleaseDatabase(
  admin: AdminConnection,
  names: DatabaseNames,
  namespace: string,
): Promise<DropResult> {
  const sql = await open(admin);
  try {
    const e = await exists(sql, admin.engine, names);
    if (admin.engine === 'postgres' && e.database && e.comment !== databaseComment(namespace)) {
      return {
        database: 'refused',
        user: 'absent',
        reason: `database "${names.database}" lacks devenv's comment for ${namespace}; left alone (and its user)`,
      };
    }
    if (admin.engine === 'postgres' && e.database) {
      // Pods may still hold connections while the namespace terminates: end them first.
      await sql.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [names.database],
      );
    }
    for (const s of dropStatements(admin.engine, names)) await sql.query(s);
    return { database: e.database ? 'dropped' : 'absent', user: e.user ? 'dropped' : 'absent' };
  } finally {
    await sql.close().catch(() => undefined);
  }
}

/**
 * `database.initScripts` on a NEW prerelease database, in order, as its own user (the
 * same rights the app has), each script in one round trip. On failure the database and
 * user are dropped again, so the next `up` starts clean and runs the scripts again;
 * the error names the script and the server's message.
 */
export async function runInitScripts(
  admin: AdminConnection,
  names: DatabaseNames,
  password: string,
  namespace: string,
  scripts: ReadonlyArray<{ name: string; sql: string }>,
): Promise<void> {
  if (scripts.length === 0) return;
  const sql = await open(
    { ...admin, user: names.user, password, database: names.database },
    { multipleStatements: true },
  );
  let failed: { name: string; message: string } | undefined;
  try {
    for (const s of scripts) {
      try {
        await sql.query(s.sql);
      } catch (err) {
        failed = { name: s.name, message: (err as Error).message };
        break;
      }
    }
  } finally {
    await sql.close().catch(() => undefined);
  }
  if (failed) {
    await dropPrereleaseDatabase(admin, names, namespace).catch(() => undefined);
    throw new DevenvError(
      `init script ${failed.name} failed on the prerelease database ${names.database}: ${failed.message}`,
      { details: ['The database was dropped again; fix the script and run "devenv prerelease up" again.'] },
    );
  }
}

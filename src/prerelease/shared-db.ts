/**
 * The per-prerelease database on the shared server, through the engine's Node driver
 * (data/engines/: `pg` for Postgres, `mysql2` for MySQL, loaded only when used). Creates the database and its
 * login user (idempotent: a second `up` re-sets the password it was given), and drops
 * both on `down` / `gc`.
 *
 * Guards before dropping: the names are derived from the namespace and must lie inside
 * the prefix (database-plan.ts); on Postgres the database must also carry devenv's
 * comment for that namespace, so a same-named database someone else made is left alone.
 * The admin password and the generated one are never printed.
 */
import { databaseEngine } from '../data/engines/index.ts';
import type {
  DatabaseEngine,
  DatabaseNames,
  ServerConnection,
  ServerObjects,
  SqlSession,
} from '../data/engines/types.ts';
import { DevenvError } from '../errors.ts';
import { type AdminConnection, databaseComment } from './database-plan.ts';

async function open(
  engine: DatabaseEngine,
  c: ServerConnection,
  opts: { multipleStatements?: boolean } = {},
): Promise<SqlSession> {
  try {
    return await engine.connect(c, opts);
  } catch (err) {
    throw new DevenvError(
      `cannot connect to the shared database server ${engine.name}://${c.host}:${c.port}: ${(err as Error).message}`,
      {
        cause: err,
        details: ['The admin connection comes from DEVENV_PRERELEASE_DATABASE_URL.'],
      },
    );
  }
}

/**
 * Runs `fn` on an admin session with what exists for `names`, and closes the session.
 * `foreign`: a same-named database that devenv did not make for this namespace (engines
 * that mark their databases only; elsewhere the prefix is the only guard).
 */
async function withAdmin<T>(
  admin: AdminConnection,
  names: DatabaseNames,
  namespace: string,
  fn: (sql: SqlSession, e: ServerObjects & { foreign: boolean }, engine: DatabaseEngine) => Promise<T>,
): Promise<T> {
  const engine = databaseEngine(admin.engine);
  const sql = await open(engine, admin);
  try {
    const e = await engine.inspect(sql, names);
    const foreign = engine.marksDatabases && e.database && e.comment !== databaseComment(namespace);
    return await fn(sql, { ...e, foreign }, engine);
  } finally {
    await sql.close().catch(() => undefined);
  }
}

/** Creates (or updates the password of) the user and creates its database. True when the database was new. */
export function ensurePrereleaseDatabase(
  admin: AdminConnection,
  names: DatabaseNames,
  password: string,
  namespace: string,
): Promise<boolean> {
  return withAdmin(admin, names, namespace, async (sql, e, engine) => {
    if (e.foreign) {
      throw new DevenvError(
        `database "${names.database}" exists on the shared server but was not created by devenv for ${namespace}; devenv leaves it alone.`,
      );
    }
    for (const s of engine.createDatabaseAndUser(names, password, {
      userExists: e.user,
      databaseExists: e.database,
      comment: databaseComment(namespace),
    })) {
      await sql.query(s);
    }
    return !e.database;
  });
}

export interface DropResult {
  database: 'dropped' | 'absent' | 'refused';
  user: 'dropped' | 'absent';
  reason?: string;
}

/** Drops the database (closing its connections first where the engine requires) and its user. */
export function dropPrereleaseDatabase(
  admin: AdminConnection,
  names: DatabaseNames,
  namespace: string,
): Promise<DropResult> {
  return withAdmin(admin, names, namespace, async (sql, e, engine) => {
    if (e.foreign) {
      return {
        database: 'refused',
        user: 'absent',
        reason: `database "${names.database}" lacks devenv's comment for ${namespace}; left alone (and its user)`,
      };
    }
    if (e.database) await engine.closeSessions?.(sql, names.database);
    for (const s of engine.dropDatabaseAndUser(names)) await sql.query(s);
    return { database: e.database ? 'dropped' : 'absent', user: e.user ? 'dropped' : 'absent' };
  });
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
    databaseEngine(admin.engine),
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

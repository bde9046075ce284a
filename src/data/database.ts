/**
 * Database operations, run INSIDE the database container with the engine's own client
 * (psql / mysql, pg_dump / mysqldump), so the host needs no client tools and the
 * versions always match the server. What differs per engine (commands, SQL, which user)
 * is the engine module's (engines/); this file is the same for all of them.
 *
 * The command builders are pure (unit-tested); the operations call src/docker/exec.ts.
 */
import { createHash } from 'node:crypto';
import { execRun } from '../docker/exec.ts';
import { DevenvError } from '../errors.ts';
import { DATABASE_ENGINE_LIST, databaseEngine } from './engines/index.ts';
import type { ClientCommand, ClientOptions, DbTarget, DumpCommand } from './engines/types.ts';
import type { DbEngine } from './types.ts';

/** The interactive / scripted client, connected over TCP to the server in its own container. */
export function clientCommand(t: DbTarget, opts: ClientOptions = {}): ClientCommand {
  return databaseEngine(t.engine).client(t, opts);
}

/** A quoted string literal (names are validated as plain identifiers by the config schema). */
export function quoteString(engine: DbEngine, s: string): string {
  return databaseEngine(engine).quoteLiteral(s);
}

/** Runs SQL through the client (statements on stdin); rows come back tab-separated. */
export async function query(
  t: DbTarget,
  sql: string,
  opts: Omit<ClientOptions, 'batch'> = {},
): Promise<string[][]> {
  const c = clientCommand(t, { ...opts, batch: true });
  const r = await execRun(t.container, c.cmd, { env: c.env, stdin: sql });
  if (r.exitCode !== 0) throw new SqlError(r.stderr.trim() || `exit code ${r.exitCode}`, r.exitCode);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** A statement the client ran failed (its message is the server's, exit code the client's). */
export class SqlError extends Error {
  override readonly name = 'SqlError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
  /** The server refused the credentials (not "not ready yet"). */
  get isAuth(): boolean {
    return DATABASE_ENGINE_LIST.some((e) => e.authFailure.test(this.message));
  }
}

/** Creates the databases that do not exist yet (MySQL: and grants them to the app user). Returns the created ones. */
export async function createDatabases(t: DbTarget, names: string[]): Promise<string[]> {
  const engine = databaseEngine(t.engine);
  const rows = await query(t, engine.listDatabasesSql, engine.serverSession);
  const have = new Set(rows.map((r) => r[0]));
  const missing = names.filter((n) => !have.has(n));
  const sql = engine.createDatabasesSql(missing, names, t.user);
  if (sql) await query(t, sql, engine.serverSession);
  return missing;
}

export interface InitScript {
  /** As written in devenv.yaml (relative to the project root): the tracking key with the hash. */
  name: string;
  sql: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Runs each init script once, in order, in the main database. A script is identified by
 * name AND content hash: an unchanged script is never re-run; an edited one counts as a
 * new script and runs (once). Stops at the first failing script, naming it.
 */
export async function applyInitScripts(
  t: DbTarget,
  scripts: InitScript[],
): Promise<{ applied: string[]; skipped: string[] }> {
  if (scripts.length === 0) return { applied: [], skipped: [] };
  const engine = databaseEngine(t.engine);
  const session = engine.initSession;
  await query(t, engine.metaTableSql, session);
  const rows = await query(t, 'SELECT name, sha256 FROM devenv_meta.applied_scripts;', session);
  const done = new Set(rows.map((r) => `${r[0]}\0${r[1]?.trim()}`));
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const s of scripts) {
    const hash = sha256(s.sql);
    if (done.has(`${s.name}\0${hash}`)) {
      skipped.push(s.name);
      continue;
    }
    const c = engine.client(t, session);
    const r = await execRun(t.container, c.cmd, { env: c.env, stdin: s.sql });
    if (r.exitCode !== 0) {
      throw new DevenvError(
        `init script ${s.name} failed (exit code ${r.exitCode}); fix it and run "devenv up" again.`,
        { details: r.stderr.trim().split('\n').slice(-8) },
      );
    }
    await query(
      t,
      `INSERT INTO devenv_meta.applied_scripts (name, sha256) VALUES (${engine.quoteLiteral(s.name)}, '${hash}');`,
      session,
    );
    applied.push(s.name);
  }
  return { applied, skipped };
}

/**
 * The snapshot's dump commands: one per database for Postgres (each after a `\connect`
 * header), one for all databases for MySQL. Dumps are plain SQL that drop and recreate
 * objects, so a restore brings a database back to the snapshot's content.
 */
export function dumpCommands(t: DbTarget, databases: string[]): DumpCommand[] {
  return databaseEngine(t.engine).dumpCommands(t, databases);
}

/** The client that reads a dump on stdin. */
export function restoreCommand(t: DbTarget): ClientCommand {
  return databaseEngine(t.engine).restoreCommand(t);
}

/**
 * Database operations, run INSIDE the database container with the engine's own client
 * (psql / mysql, pg_dump / mysqldump), so the host needs no client tools and the
 * versions always match the server. Passwords go through the exec environment
 * (PGPASSWORD / MYSQL_PWD), never through argv.
 *
 * The command builders are pure (unit-tested); the operations call src/docker/exec.ts.
 */
import { createHash } from 'node:crypto';
import { execRun } from '../docker/exec.ts';
import { DevenvError } from '../errors.ts';
import type { DbEngine } from './types.ts';

export interface DbTarget {
  container: string;
  engine: DbEngine;
  /** The server port inside the container. */
  port: number;
  user: string;
  password: string;
  /** MySQL root password (Postgres: the app user is the superuser, as in the official image). */
  rootPassword: string;
  /** Main database. */
  database: string;
}

export interface ClientCommand {
  cmd: string[];
  env: string[];
}

/** The interactive / scripted client, connected over TCP to the server in its own container. */
export function clientCommand(
  t: DbTarget,
  opts: { database?: string; admin?: boolean; batch?: boolean } = {},
): ClientCommand {
  const db = opts.database ?? t.database;
  if (t.engine === 'postgres') {
    return {
      cmd: [
        'psql',
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        ...(opts.batch ? ['-q', '-t', '-A', '-F', '\t'] : []),
        '-h',
        '127.0.0.1',
        '-p',
        String(t.port),
        '-U',
        t.user,
        '-d',
        db,
      ],
      env: [`PGPASSWORD=${t.password}`],
    };
  }
  const admin = opts.admin === true;
  return {
    cmd: [
      'mysql',
      '-h',
      '127.0.0.1',
      '-P',
      String(t.port),
      '-u',
      admin ? 'root' : t.user,
      ...(opts.batch ? ['-N', '-B'] : []),
      ...(db ? ['-D', db] : []),
    ],
    env: [`MYSQL_PWD=${admin ? t.rootPassword : t.password}`],
  };
}

/** A quoted identifier for CREATE DATABASE (names are validated as plain identifiers by the config schema). */
export function quoteIdent(engine: DbEngine, name: string): string {
  return engine === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

export function quoteString(engine: DbEngine, s: string): string {
  const body = engine === 'mysql' ? s.replace(/\\/g, '\\\\').replace(/'/g, "''") : s.replace(/'/g, "''");
  return `'${body}'`;
}

/** Runs SQL through the client (statements on stdin); rows come back tab-separated. */
export async function query(
  t: DbTarget,
  sql: string,
  opts: { database?: string; admin?: boolean } = {},
): Promise<string[][]> {
  const c = clientCommand(t, { ...opts, batch: true });
  const r = await execRun(t.container, c.cmd, { env: c.env, stdin: sql });
  if (r.exitCode !== 0) throw new SqlError(r.stderr.trim() || `exit code ${r.exitCode}`, r.exitCode);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

export class SqlError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'SqlError';
    this.exitCode = exitCode;
  }
  /** The server refused the credentials (not "not ready yet"). */
  get isAuth(): boolean {
    return /password authentication failed|Access denied for user/i.test(this.message);
  }
}

/** Creates the databases that do not exist yet (MySQL: and grants them to the app user). Returns the created ones. */
export async function createDatabases(t: DbTarget, names: string[]): Promise<string[]> {
  const created: string[] = [];
  if (t.engine === 'postgres') {
    const rows = await query(t, 'SELECT datname FROM pg_database;', { database: 'postgres' });
    const have = new Set(rows.map((r) => r[0]));
    for (const n of names) {
      if (have.has(n)) continue;
      await query(t, `CREATE DATABASE ${quoteIdent('postgres', n)};`, { database: 'postgres' });
      created.push(n);
    }
    return created;
  }
  const rows = await query(t, 'SHOW DATABASES;', { admin: true, database: '' });
  const have = new Set(rows.map((r) => r[0]));
  let sql = '';
  for (const n of names) {
    if (!have.has(n)) created.push(n);
    sql += `CREATE DATABASE IF NOT EXISTS ${quoteIdent('mysql', n)};\n`;
    sql += `GRANT ALL PRIVILEGES ON ${quoteIdent('mysql', n)}.* TO ${quoteString('mysql', t.user)}@'%';\n`;
  }
  if (sql) await query(t, sql, { admin: true, database: '' });
  return created;
}

export interface InitScript {
  /** As written in devenv.yaml (relative to the project root): the tracking key with the hash. */
  name: string;
  sql: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** DDL of the tracking table `devenv_meta.applied_scripts` (schema in Postgres, database in MySQL). */
export function metaTableSql(engine: DbEngine): string {
  return engine === 'postgres'
    ? 'CREATE SCHEMA IF NOT EXISTS devenv_meta;\n' +
        'CREATE TABLE IF NOT EXISTS devenv_meta.applied_scripts (name text NOT NULL, sha256 char(64) NOT NULL, ' +
        'applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, sha256));\n'
    : 'CREATE DATABASE IF NOT EXISTS devenv_meta;\n' +
        'CREATE TABLE IF NOT EXISTS devenv_meta.applied_scripts (name VARCHAR(255) NOT NULL, sha256 CHAR(64) NOT NULL, ' +
        'applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (name, sha256));\n';
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
  const admin = t.engine === 'mysql';
  await query(t, metaTableSql(t.engine), { admin });
  const rows = await query(t, 'SELECT name, sha256 FROM devenv_meta.applied_scripts;', { admin });
  const done = new Set(rows.map((r) => `${r[0]}\0${r[1]?.trim()}`));
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const s of scripts) {
    const hash = sha256(s.sql);
    if (done.has(`${s.name}\0${hash}`)) {
      skipped.push(s.name);
      continue;
    }
    const c = clientCommand(t, { admin });
    const r = await execRun(t.container, c.cmd, { env: c.env, stdin: s.sql });
    if (r.exitCode !== 0) {
      throw new DevenvError(
        `init script ${s.name} failed (exit code ${r.exitCode}); fix it and run "devenv up" again.`,
        {
          details: r.stderr.trim().split('\n').slice(-8),
        },
      );
    }
    await query(
      t,
      `INSERT INTO devenv_meta.applied_scripts (name, sha256) VALUES (${quoteString(t.engine, s.name)}, '${hash}');`,
      { admin },
    );
    applied.push(s.name);
  }
  return { applied, skipped };
}

/**
 * Dump commands, one per database for Postgres (the snapshot concatenates them with
 * `\connect` lines), one for all databases for MySQL (mysqldump --databases writes the
 * CREATE DATABASE / USE lines itself). Dumps are plain SQL that drop and recreate
 * objects, so a restore brings a database back to the snapshot's content.
 */
export function dumpCommands(t: DbTarget, databases: string[]): Array<ClientCommand & { database?: string }> {
  if (t.engine === 'postgres') {
    return databases.map((db) => ({
      database: db,
      cmd: [
        'pg_dump',
        '--clean',
        '--if-exists',
        '--no-owner',
        '--no-privileges',
        '-h',
        '127.0.0.1',
        '-p',
        String(t.port),
        '-U',
        t.user,
        '-d',
        db,
      ],
      env: [`PGPASSWORD=${t.password}`],
    }));
  }
  return [
    {
      cmd: [
        'mysqldump',
        '-h',
        '127.0.0.1',
        '-P',
        String(t.port),
        '-u',
        'root',
        '--single-transaction',
        '--routines',
        '--triggers',
        '--events',
        '--add-drop-table',
        '--databases',
        ...databases,
      ],
      env: [`MYSQL_PWD=${t.rootPassword}`],
    },
  ];
}

/** The client that reads a dump on stdin. */
export function restoreCommand(t: DbTarget): ClientCommand {
  if (t.engine === 'postgres') return clientCommand(t, { database: t.database });
  return clientCommand(t, { admin: true, database: '' });
}

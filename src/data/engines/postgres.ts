/**
 * Postgres: psql / pg_dump in the dev container (the app user is the superuser, as in the
 * official image), the `pg` driver on a shared prerelease server. Databases devenv creates
 * there carry a comment, so a same-named database someone else made is left alone.
 */
import { DATABASE_ENGINES } from '../../config/engines.ts';
import type { DatabaseEngine, DbTarget, SqlSession } from './types.ts';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Host, port, user and database arguments shared by psql and pg_dump. */
const connArgs = (t: DbTarget, db: string): string[] => [
  '-h',
  '127.0.0.1',
  '-p',
  String(t.port),
  '-U',
  t.user,
  '-d',
  db,
];

export const postgres: DatabaseEngine = {
  name: 'postgres',
  defaults: DATABASE_ENGINES.postgres,
  compose: 'postgres',
  urlScheme: 'postgresql',
  adminSchemes: ['postgres', 'postgresql'],
  nameLimits: { database: 63, user: 63 },
  authFailure: /password authentication failed/i,
  quoteIdent,
  quoteLiteral,

  client(t, opts = {}) {
    return {
      cmd: [
        'psql',
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        ...(opts.batch ? ['-q', '-t', '-A', '-F', '\t'] : []),
        ...connArgs(t, opts.database ?? t.database),
      ],
      env: [`PGPASSWORD=${t.password}`],
    };
  },
  serverSession: { database: 'postgres' },
  listDatabasesSql: 'SELECT datname FROM pg_database;',
  createDatabasesSql: (missing) => missing.map((n) => `CREATE DATABASE ${quoteIdent(n)};\n`).join(''),
  metaTableSql:
    'CREATE SCHEMA IF NOT EXISTS devenv_meta;\n' +
    'CREATE TABLE IF NOT EXISTS devenv_meta.applied_scripts (name text NOT NULL, sha256 char(64) NOT NULL, ' +
    'applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, sha256));\n',
  initSession: {},
  /** One dump per database; the snapshot puts a `\connect` line before each. */
  dumpCommands(t, databases) {
    return databases.map((db) => ({
      database: db,
      header: `\n\\connect ${quoteIdent(db)}\n`,
      cmd: ['pg_dump', '--clean', '--if-exists', '--no-owner', '--no-privileges', ...connArgs(t, db)],
      env: [`PGPASSWORD=${t.password}`],
    }));
  },
  restoreCommand(t) {
    return this.client(t, { database: t.database });
  },

  async connect(c) {
    const pg = (await import('pg')).default;
    const client = new pg.Client({
      host: c.host,
      port: c.port,
      user: c.user,
      password: c.password,
      database: c.database ?? 'postgres',
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
  },
  async inspect(sql, names) {
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
  },
  marksDatabases: true,
  createDatabaseAndUser(names, password, opts) {
    const db = quoteIdent(names.database);
    const user = quoteIdent(names.user);
    const pw = quoteLiteral(password);
    return [
      opts.userExists
        ? `ALTER ROLE ${user} WITH LOGIN PASSWORD ${pw}`
        : `CREATE ROLE ${user} WITH LOGIN PASSWORD ${pw}`,
      ...(opts.databaseExists ? [] : [`CREATE DATABASE ${db} OWNER ${user}`]),
      `COMMENT ON DATABASE ${db} IS ${quoteLiteral(opts.comment)}`,
    ];
  },
  dropDatabaseAndUser(names) {
    return [
      `DROP DATABASE IF EXISTS ${quoteIdent(names.database)}`,
      `DROP ROLE IF EXISTS ${quoteIdent(names.user)}`,
    ];
  },
  /** Pods may still hold connections while the namespace terminates: Postgres will not drop a database in use. */
  async closeSessions(sql: SqlSession, database: string) {
    await sql.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
  },
};

/**
 * What differs between database engines, as ONE interface: each engine is one module
 * (postgres.ts, mysql.ts) and callers ask `databaseEngine(name)` (index.ts) instead of
 * branching on the name. The names, titles, default images and ports are the table in
 * config/engines.ts; an engine module reads them from there (`defaults`).
 *
 * Two places run SQL:
 * - the dev container, through the engine's own client inside it (psql / mysql,
 *   pg_dump / mysqldump; passwords through the exec environment, never argv);
 * - the shared prerelease server, through the engine's Node driver (pg / mysql2, loaded
 *   only when used), as the admin of DEVENV_PRERELEASE_DATABASE_URL.
 */
import type { DATABASE_ENGINES } from '../../config/engines.ts';
import type { DbEngine } from '../types.ts';

/** A database server running in a dev container, and devenv's credentials for it. */
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

export interface ClientOptions {
  /** Database to connect to ('' for none); default the main one. */
  database?: string;
  /** As the server's root user (engines whose app user is not a superuser). */
  admin?: boolean;
  /** Quiet, tab-separated rows without headers (for `query`). */
  batch?: boolean;
}

export interface DumpCommand extends ClientCommand {
  /** The one database this command dumps (engines that dump one database per command). */
  database?: string;
  /** Text the snapshot writes before this command's output (e.g. a `\connect` line). */
  header?: string;
}

/** A prerelease's database and login user on a shared server. */
export interface DatabaseNames {
  database: string;
  user: string;
}

/** An admin connection to a shared server. */
export interface ServerConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Database to connect to; the engine's default when absent. */
  database?: string;
}

/** A driver session: rows as objects; `params` bind `$1` (Postgres) or `?` (MySQL). */
export interface SqlSession {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** What exists on a shared server for one prerelease. */
export interface ServerObjects {
  user: boolean;
  database: boolean;
  /** The database's comment, on engines that mark their databases (`marksDatabases`). */
  comment?: string | null;
}

export interface DatabaseEngine {
  readonly name: DbEngine;
  /** Title, official image repository, default version and server port (config/engines.ts). */
  readonly defaults: (typeof DATABASE_ENGINES)[DbEngine];
  /** devenv's compose file for it: compose/<compose>.yaml. */
  readonly compose: string;
  /** Scheme of DATABASE_URL for apps. */
  readonly urlScheme: string;
  /** Schemes accepted in an admin URL (the first is the one messages name). */
  readonly adminSchemes: readonly string[];
  /** Longest database and user name the server accepts. */
  readonly nameLimits: { readonly database: number; readonly user: number };
  /** The server's message for refused credentials (as opposed to "not ready yet"). */
  readonly authFailure: RegExp;
  quoteIdent(name: string): string;
  quoteLiteral(s: string): string;

  // --- in the dev container, through the engine's client
  /** The interactive / scripted client, over TCP to the server in its own container. */
  client(t: DbTarget, opts?: ClientOptions): ClientCommand;
  /** Where server-level statements (list and create databases) run. */
  readonly serverSession: ClientOptions;
  /** Lists the databases (first column). */
  readonly listDatabasesSql: string;
  /** Creates the `missing` databases of `all` and gives them to `user` ('' when nothing to do). */
  createDatabasesSql(missing: string[], all: string[], user: string): string;
  /** DDL of the tracking table `devenv_meta.applied_scripts`. */
  readonly metaTableSql: string;
  /** Where init scripts and the tracking table run. */
  readonly initSession: ClientOptions;
  /** Dump commands for a snapshot; plain SQL that drops and recreates what it restores. */
  dumpCommands(t: DbTarget, databases: string[]): DumpCommand[];
  /** The client that reads a dump on stdin. */
  restoreCommand(t: DbTarget): ClientCommand;

  // --- on a shared prerelease server, through the engine's Node driver
  connect(c: ServerConnection, opts?: { multipleStatements?: boolean }): Promise<SqlSession>;
  /** Whether the prerelease's user and database exist (and the database's comment). */
  inspect(sql: SqlSession, names: DatabaseNames): Promise<ServerObjects>;
  /**
   * True when the engine marks the databases devenv creates with `comment` and so can
   * tell them from same-named ones someone else made (Postgres: COMMENT ON DATABASE).
   */
  readonly marksDatabases: boolean;
  /** Statements that create (or re-password) the user, then create the database it owns. */
  createDatabaseAndUser(
    names: DatabaseNames,
    password: string,
    opts: { userExists: boolean; databaseExists: boolean; comment: string },
  ): string[];
  /** Statements that drop the database and then its user (both absent: no-ops). */
  dropDatabaseAndUser(names: DatabaseNames): string[];
  /** Ends other sessions on a database about to be dropped, where the server requires it. */
  closeSessions?(sql: SqlSession, database: string): Promise<void>;
}

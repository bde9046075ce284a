/**
 * MySQL (and MariaDB, which speaks the same): mysql / mysqldump in the dev container, as
 * root where the app user lacks the rights (creating databases, the devenv_meta database,
 * dumps of every database at once); the `mysql2` driver on a shared prerelease server.
 * MySQL has no database comments, so devenv's guard there is the name prefix alone.
 */
import { DATABASE_ENGINES } from '../../config/engines.ts';
import type { DatabaseEngine } from './types.ts';

const quoteIdent = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
const quoteLiteral = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export const mysql: DatabaseEngine = {
  name: 'mysql',
  defaults: DATABASE_ENGINES.mysql,
  compose: 'mysql',
  urlScheme: 'mysql',
  adminSchemes: ['mysql'],
  nameLimits: { database: 64, user: 32 },
  authFailure: /Access denied for user/i,
  quoteIdent,
  quoteLiteral,

  client(t, opts = {}) {
    const db = opts.database ?? t.database;
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
  },
  serverSession: { admin: true, database: '' },
  listDatabasesSql: 'SHOW DATABASES;',
  /** Every database again (IF NOT EXISTS), so the grant to the app user is always in place. */
  createDatabasesSql: (_missing, all, user) =>
    all
      .map(
        (n) =>
          `CREATE DATABASE IF NOT EXISTS ${quoteIdent(n)};\n` +
          `GRANT ALL PRIVILEGES ON ${quoteIdent(n)}.* TO ${quoteLiteral(user)}@'%';\n`,
      )
      .join(''),
  metaTableSql:
    'CREATE DATABASE IF NOT EXISTS devenv_meta;\n' +
    'CREATE TABLE IF NOT EXISTS devenv_meta.applied_scripts (name VARCHAR(255) NOT NULL, sha256 CHAR(64) NOT NULL, ' +
    'applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (name, sha256));\n',
  // devenv_meta is a database of its own, on which the app user has no rights.
  initSession: { admin: true },
  /** One dump of every database (--databases writes the CREATE DATABASE / USE lines itself). */
  dumpCommands(t, databases) {
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
  },
  restoreCommand(t) {
    return this.client(t, { admin: true, database: '' });
  },

  async connect(c, opts = {}) {
    const driver = await import('mysql2/promise');
    const conn = await driver.createConnection({
      host: c.host,
      port: c.port,
      user: c.user,
      password: c.password,
      ...(c.database ? { database: c.database } : {}),
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
  },
  async inspect(sql, names) {
    const u = await sql.query("SELECT 1 FROM mysql.user WHERE user = ? AND host = '%'", [names.user]);
    const d = await sql.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [
      names.database,
    ]);
    return { user: u.length > 0, database: d.length > 0, comment: undefined };
  },
  marksDatabases: false,
  createDatabaseAndUser(names, password) {
    const db = quoteIdent(names.database);
    const user = `${quoteLiteral(names.user)}@'%'`;
    const pw = quoteLiteral(password);
    return [
      `CREATE DATABASE IF NOT EXISTS ${db}`,
      `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${pw}`,
      `ALTER USER ${user} IDENTIFIED BY ${pw}`,
      `GRANT ALL PRIVILEGES ON ${db}.* TO ${user}`,
    ];
  },
  dropDatabaseAndUser(names) {
    return [
      `DROP DATABASE IF EXISTS ${quoteIdent(names.database)}`,
      `DROP USER IF EXISTS ${quoteLiteral(names.user)}@'%'`,
    ];
  },
};

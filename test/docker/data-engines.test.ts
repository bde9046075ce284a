// The database and object store outside the cluster, against the real Docker engine, once
// per database engine: Postgres with MinIO, and a MySQL-compatible database (MariaDB image,
// `engine: mysql`) with SeaweedFS (`objectStore.engine: seaweedfs`), so snapshots to
// devenv-snapshots and `devenv env` run on both object store engines. The same steps and
// assertions run on both; what differs (client library, SQL, shell, error texts) is a
// row of the engines table.
// The local test images are selected through CONFIGURATION (database.image /
// objectStore.image in a devenv.yaml written to a temp dir), like a project would.
//
// Needs: the docker tier, devenv-test/postgres:15, devenv-test/minio:latest,
// devenv-test/mariadb:10.11 and devenv-test/seaweedfs:latest (bash test/images/build.sh).
// DEVENV_TEST_DOCKERD_RESTART=1 (set by .ci/run) also restarts dockerd once to prove the
// data survives it; that disrupts other Docker users, so it is off by default.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { destroyDataServices, stopDataServices } from '../../src/data/destroy.ts';
import type { DataEndpoints } from '../../src/data/types.ts';
import { inspectContainer } from '../../src/docker/containers.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import type { ProgressEvent, StepEvent } from '../../src/events.ts';
import { projectLabels } from '../../src/labels.ts';
import { runCli } from '../support/cli.ts';
import {
  cleanupDataTest,
  ensureTestNetwork,
  expectRestoreUndoable,
  runOnNetwork,
  stepPhases as steps,
  upData,
} from '../support/data.ts';
import { freePort } from '../support/fixture.ts';
import { until } from '../support/poll.ts';

const ok = inject('dockerAvailable');

type Row = Record<string, unknown>;
type Db = NonNullable<DataEndpoints['host']['database']>;

/** What differs between the two database engines; everything else is the same test. */
interface Engine {
  title: string;
  /** `database.engine` in devenv.yaml (and in the endpoints, the URL scheme's source). */
  engine: 'postgres' | 'mysql';
  /** Short name in the project and temp dir names. */
  tag: string;
  dbImage: string;
  /** `objectStore.engine`, or undefined for the default (MinIO). */
  s3Engine?: string;
  s3Image: string;
  /** The object store's data volume, after `devenv-<project>-`. */
  s3Volume: string;
  clusterPort: number;
  /** One query on a new connection from the host (the app user unless `as` says otherwise). */
  query: (db: Db, sql: string, as?: { user: string; password: string }) => Promise<Row[]>;
  /** One query through a connection URL, as `devenv env` prints it. */
  queryUrl: (url: string, sql: string) => Promise<Row[]>;
  countSql: string;
  databasesSql: string;
  databaseColumn: string;
  wrongPassword: RegExp;
  missingTable: RegExp;
  /** The client in the database image, run from another container: argv and env. */
  clientOnNetwork: (db: Db, sql: string) => { cmd: string[]; env: string[] };
  shell: string;
  url: RegExp;
  /** Who may read devenv_meta (the root user for MySQL: the app user has no grant there). */
  metaUser: (creds: { database: { user: string; password: string; rootPassword?: string } }) => {
    user: string;
    password: string;
  };
}

/** Where and as whom to connect: the endpoint's credentials unless `as` says otherwise. */
const connection = (db: Db, as?: { user: string; password: string }) => ({
  host: db.host,
  port: db.port,
  user: db.user,
  password: db.password,
  database: db.database,
  ...as,
});

const pgQuery = async (config: pg.ClientConfig, sql: string): Promise<Row[]> => {
  const c = new pg.Client(config);
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

const myQuery = async (config: mysql.ConnectionOptions | string, sql: string): Promise<Row[]> => {
  const c = await mysql.createConnection(config as mysql.ConnectionOptions);
  try {
    return (await c.query(sql))[0] as Row[];
  } finally {
    await c.end();
  }
};

const ENGINES: Engine[] = [
  {
    title: 'Postgres + MinIO',
    engine: 'postgres',
    tag: 'pg',
    dbImage: process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15',
    s3Image: process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest',
    s3Volume: 'minio-data',
    clusterPort: 5432,
    query: (db, sql, as) => pgQuery(connection(db, as), sql),
    queryUrl: (url, sql) => pgQuery({ connectionString: url }, sql),
    countSql: 'SELECT count(*)::int AS n FROM items',
    databasesSql: 'SELECT datname FROM pg_database',
    databaseColumn: 'datname',
    wrongPassword: /password authentication failed/,
    missingTable: /does not exist/,
    clientOnNetwork: (db, sql) => ({
      cmd: ['psql', '-h', db.host, '-p', String(db.port), '-U', db.user, '-d', db.database, '-tAc', sql],
      env: [`PGPASSWORD=${db.password}`],
    }),
    shell: 'psql',
    url: /^DATABASE_URL=postgresql:\/\/devenv:\*\*\*\*@127\.0\.0\.1:\d+\/shop$/m,
    metaUser: (creds) => creds.database,
  },
  {
    title: 'MySQL (MariaDB) + SeaweedFS',
    engine: 'mysql',
    tag: 'my',
    dbImage: process.env.DEVENV_TEST_MARIADB_IMAGE ?? 'devenv-test/mariadb:10.11',
    s3Engine: 'seaweedfs',
    s3Image: process.env.DEVENV_TEST_SEAWEEDFS_IMAGE ?? 'devenv-test/seaweedfs:latest',
    s3Volume: 'seaweedfs-data',
    clusterPort: 3306,
    query: (db, sql, as) => myQuery(connection(db, as), sql),
    queryUrl: (url, sql) => myQuery(url, sql),
    countSql: 'SELECT count(*) AS n FROM items',
    databasesSql: 'SHOW DATABASES',
    databaseColumn: 'Database',
    wrongPassword: /Access denied/,
    missingTable: /doesn't exist/,
    clientOnNetwork: (db, sql) => ({
      cmd: [
        'mysql',
        '-h',
        db.host,
        '-P',
        String(db.port),
        '-u',
        db.user,
        '-N',
        '-B',
        '-D',
        db.database,
        '-e',
        sql,
      ],
      env: [`MYSQL_PWD=${db.password}`],
    }),
    shell: 'mysql',
    url: /^DATABASE_URL=mysql:\/\/devenv:\*\*\*\*@127\.0\.0\.1:\d+\/shop$/m,
    metaUser: (creds) => ({ user: 'root', password: creds.database.rootPassword as string }),
  },
];

describe.skipIf(!ok).each(ENGINES)('data services: $title', (e) => {
  const PROJECT = `t-${e.tag}-${Math.random().toString(36).slice(2, 8)}`;
  const NETWORK = `${PROJECT}-net`;
  const DB = `devenv-${PROJECT}-db`;
  const S3 = `devenv-${PROJECT}-minio`;
  let dir: string;
  let stateDir: string;
  const ports: Record<string, number> = {};
  let ep: DataEndpoints;
  const firstEvents: ProgressEvent[] = [];

  async function writeConfig(dbPort: number): Promise<void> {
    await writeFile(
      join(dir, 'devenv.yaml'),
      [
        'apiVersion: devenv.dev/v1alpha1',
        `project: ${PROJECT}`,
        'database:',
        `  engine: ${e.engine}`,
        `  image: ${e.dbImage}`,
        `  port: ${dbPort}`,
        '  databases: [shop, analytics]',
        '  initScripts: [db/01-schema.sql]',
        'objectStore:',
        ...(e.s3Engine ? [`  engine: ${e.s3Engine}`] : []),
        `  image: ${e.s3Image}`,
        `  port: ${ports.s3}`,
        `  consolePort: ${ports.console}`,
        '  buckets: [uploads]',
        '',
      ].join('\n'),
    );
  }

  const up = (events: ProgressEvent[] = []) => upData(dir, NETWORK, events);

  /** The CLI in a child process, as a user runs it. */
  const cli = (args: string[], input?: string) =>
    runCli(args, {
      cwd: dir,
      env: { ...process.env, DEVENV_STATE_DIR: stateDir, NO_COLOR: '1' },
      timeoutMs: 120_000,
      input,
    });

  /** Rows of one query, from the host through the published port. */
  const rows = (sql: string) => e.query(ep.host.database!, sql);
  const names = async () => (await rows('SELECT name FROM items ORDER BY id')).map((r) => String(r.name));
  const count = async () => (await rows(e.countSql))[0]?.n;
  const readCreds = () =>
    JSON.parse(readFileSync(join(stateDir, 'projects', PROJECT, 'credentials.json'), 'utf8'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `devenv-${e.tag}-`));
    stateDir = join(dir, '.state');
    process.env.DEVENV_STATE_DIR = stateDir;
    ports.db = await freePort();
    ports.s3 = await freePort();
    ports.console = await freePort();
    await mkdir(join(dir, 'db'));
    await writeFile(
      join(dir, 'db/01-schema.sql'),
      "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO items VALUES (1, 'apple'), (2, 'pear');\n",
    );
    await writeConfig(ports.db);
    await ensureTestNetwork(NETWORK, PROJECT);
    ep = await up(firstEvents);
  });

  afterAll(async () => {
    if (!ok) return;
    await cleanupDataTest(PROJECT, dir);
  });

  it('starts both services and reports typed step events, never a secret', () => {
    expect(steps(firstEvents, 'database')).toEqual(['start', 'done']);
    expect(steps(firstEvents, 'objectStore')).toEqual(['start', 'done']);
    const done = firstEvents.find(
      (ev) => ev.type === 'step' && ev.id === 'database' && ev.phase === 'done',
    ) as StepEvent;
    expect(done.detail).toMatch(
      new RegExp(
        `^${e.engine} ready on 127\\.0\\.0\\.1:\\d+ \\(created; databases created: analytics; init scripts run: db/01-schema\\.sql\\)$`,
      ),
    );
    expect(done.ms).toBeGreaterThan(0);
    // Never a secret in an event.
    const all = JSON.stringify(firstEvents);
    expect(all).not.toContain(ep.host.database!.password);
    expect(all).not.toContain(ep.host.objectStore!.secretAccessKey);
  });

  it('answers queries from the host with the generated credentials; wrong ones are refused', async () => {
    expect(ep.host.database).toMatchObject({
      host: '127.0.0.1',
      port: ports.db,
      database: 'shop',
      engine: e.engine,
    });
    expect(await names()).toEqual(['apple', 'pear']);
    // The configured extra database exists (and the app user was granted it).
    expect((await rows(e.databasesSql)).map((r) => r[e.databaseColumn])).toEqual(
      expect.arrayContaining(['shop', 'analytics']),
    );
    // A wrong password is refused (the server really checks).
    const db = ep.host.database!;
    await expect(e.query(db, 'SELECT 1', { user: db.user, password: 'wrong' })).rejects.toThrow(
      e.wrongPassword,
    );
  });

  it('answers from another container on the cluster network, through the alias devenv-db', async () => {
    expect(ep.cluster.database).toMatchObject({ host: 'devenv-db', port: e.clusterPort });
    const { cmd, env } = e.clientOnNetwork(ep.cluster.database!, 'SELECT count(*) FROM items');
    const r = await runOnNetwork(PROJECT, NETWORK, e.dbImage, cmd, env);
    expect(r.out.trim()).toBe('2');
    expect(r.code).toBe(0);
  });

  it('stores the credentials once, mode 0600, under the project state dir', () => {
    const file = join(stateDir, 'projects', PROJECT, 'credentials.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).database.password).toBe(ep.host.database!.password);
  });

  it('is idempotent: a second up changes no container and runs no init script again', async () => {
    const before = await Promise.all([DB, S3].map((n) => inspectContainer(n)));
    const events: ProgressEvent[] = [];
    await up(events);
    const after = await Promise.all([DB, S3].map((n) => inspectContainer(n)));
    expect(after.map((c) => [c!.id, c!.startedAt])).toEqual(before.map((c) => [c!.id, c!.startedAt]));
    expect(steps(events, 'database')).toEqual(['start', 'skip']);
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    const applied = await e.query(
      ep.host.database!,
      'SELECT name FROM devenv_meta.applied_scripts',
      e.metaUser(readCreds()),
    );
    expect(applied).toEqual([{ name: 'db/01-schema.sql' }]);
  });

  it('devenv env prints host variables with secrets masked unless --show-secrets', async () => {
    const masked = await cli(['env']);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toContain(`DB_PORT=${ports.db}\n`);
    expect(masked.stdout).toContain('DB_PASSWORD=****\n');
    expect(masked.stdout).toContain('S3_SECRET_ACCESS_KEY=****\n');
    expect(masked.stdout).toContain('S3_BUCKET_UPLOADS=uploads\n');
    expect(masked.stdout).toMatch(e.url);
    expect(masked.stdout + masked.stderr).not.toContain(ep.host.database!.password);

    const shown = await cli(['env', '--json', '--show-secrets']);
    expect(shown.code).toBe(0);
    const vars = JSON.parse(shown.stdout);
    expect(vars.DB_PASSWORD).toBe(ep.host.database!.password);
    // The printed URL really connects.
    expect(await e.queryUrl(vars.DATABASE_URL, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    // The S3 variables an app reads reach the object store as they are.
    const s3c = new S3Client({
      endpoint: vars.S3_ENDPOINT,
      region: vars.S3_REGION,
      forcePathStyle: vars.S3_FORCE_PATH_STYLE === 'true',
      credentials: { accessKeyId: vars.S3_ACCESS_KEY_ID, secretAccessKey: vars.S3_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    try {
      const buckets = (await s3c.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort();
      expect(buckets).toEqual(['devenv-snapshots', vars.S3_BUCKET_UPLOADS]);
    } finally {
      s3c.destroy();
    }
  });

  it(`devenv db shell runs ${e.shell} in the container (stdin piped)`, async () => {
    const r = await cli(['db', 'shell'], 'SELECT name FROM items WHERE id = 2;\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('pear');
    expect(r.code).toBe(0);
  });

  it('snapshot -> drop table -> restore brings the rows back', async () => {
    const snap = await cli(['db', 'snapshot', 'before-drop']);
    expect(snap.stderr).toBe('');
    expect(snap.stdout).toMatch(/before-drop: shop, analytics -> s3:\/\/devenv-snapshots\//);
    expect(snap.code).toBe(0);

    const again = await cli(['db', 'snapshot', 'before-drop']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);

    expect((await cli(['db', 'snapshots'])).stdout).toMatch(/^before-drop\s+\d/m);

    await rows('DROP TABLE items');
    await expect(rows('SELECT 1 FROM items')).rejects.toThrow(e.missingTable);

    const restored = await cli(['db', 'restore', 'before-drop']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(await names()).toEqual(['apple', 'pear']);

    const missing = await cli(['db', 'restore', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no snapshot named "nope".*before-drop/);
  });

  it('a wrong restore can be undone: restore saves the current state first and names it', async () => {
    await expectRestoreUndoable({ cli, names, exec: (sql) => rows(sql) });
  });

  it('keeps rows across down -> up (the stopped container is started again)', async () => {
    await rows("INSERT INTO items VALUES (3, 'plum')");
    const id = (await inspectContainer(DB))!.id;
    expect((await stopDataServices(PROJECT)).sort()).toEqual([DB, S3]);
    expect((await inspectContainer(DB))!.running).toBe(false);
    const events: ProgressEvent[] = [];
    ep = await up(events);
    expect(
      (events.find((ev) => ev.type === 'step' && ev.id === 'database' && ev.phase === 'done') as StepEvent)
        .detail,
    ).toMatch(/started/);
    expect((await inspectContainer(DB))!.id).toBe(id);
    expect(await count()).toBe(3);
    // The object store's data survived too: the snapshots are still listed.
    expect((await cli(['db', 'snapshots'])).stdout).toMatch(/^before-drop\s+\d/m);
  });

  it('recreates the container on a config change, on the SAME data volume', async () => {
    const before = (await inspectContainer(DB))!;
    ports.db2 = await freePort();
    await writeConfig(ports.db2);
    const events: ProgressEvent[] = [];
    ep = await up(events);
    const after = (await inspectContainer(DB))!;
    expect(after.id).not.toBe(before.id);
    expect(after.labels['dev.devenv/spec-hash']).not.toBe(before.labels['dev.devenv/spec-hash']);
    expect(ep.host.database!.port).toBe(ports.db2);
    // The object store's spec did not change: untouched.
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    expect(await count()).toBe(3);
  });

  it.skipIf(process.env.DEVENV_TEST_DOCKERD_RESTART !== '1')(
    'keeps rows across a dockerd restart (DEVENV_TEST_DOCKERD_RESTART=1)',
    async () => {
      await restartDockerd();
      ep = await up();
      expect(await count()).toBe(3);
    },
    300_000,
  );

  it('destroy removes the containers and the labelled volumes, and only them', async () => {
    expect((await listVolumes(projectLabels(PROJECT))).length).toBeGreaterThanOrEqual(2);
    const r = await destroyDataServices(PROJECT);
    expect(r.containers.sort()).toEqual([DB, S3]);
    expect(r.volumes.sort()).toEqual([`devenv-${PROJECT}-db-data`, `devenv-${PROJECT}-${e.s3Volume}`]);
    expect(await inspectContainer(DB)).toBeUndefined();
    expect(await listVolumes(projectLabels(PROJECT))).toEqual([]);
  });
});

/**
 * Restarts the Docker engine the way a laptop reboot or a daemon update would: stop the
 * dockerd whose pid is in /var/run/docker.pid (by pid, never by name), start a new one
 * detached, wait until it answers.
 */
async function restartDockerd(): Promise<void> {
  const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 120; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const { spawn } = await import('node:child_process');
  const { openSync } = await import('node:fs');
  const log = openSync('/var/log/dockerd.log', 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  const { engineInfo } = await import('../../src/docker/engine.ts');
  await until('dockerd to come back', () => engineInfo(2000).then(() => true), {
    timeoutMs: 60_000,
    retryOnError: true,
  });
}

// MySQL-compatible database (MariaDB image, `engine: mysql`) and SeaweedFS
// (`objectStore.engine: seaweedfs`) outside the cluster, against the real Docker engine.
// The Postgres suite runs the same database steps with MinIO, so snapshots to
// devenv-snapshots and `devenv env` run on both object store engines.
// The local test images are selected through CONFIGURATION (database.image /
// objectStore.image in a devenv.yaml written to a temp dir), like a project would.
//
// Needs: the docker tier, devenv-test/mariadb:10.11 and devenv-test/seaweedfs:latest
// (bash test/images/build.sh). DEVENV_TEST_DOCKERD_RESTART=1 (set by .ci/run) also
// restarts dockerd once to prove the data survives it; that disrupts other Docker users,
// so it is off by default.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { destroyDataServices, ensureDataServices, stopDataServices } from '../../src/data/index.ts';
import type { DataEndpoints } from '../../src/data/types.ts';
import { inspectContainer, listContainers, removeContainer } from '../../src/docker/containers.ts';
import { devenvLabels } from '../../src/docker/labels.ts';
import { ensureNetwork, removeNetworks } from '../../src/docker/networks.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import type { ProgressEvent, StepEvent } from '../../src/events.ts';
import { expectRestoreUndoable, runOnNetwork as runOnNetworkAs, stepPhases } from '../support/data.ts';
import { freePort } from '../support/fixture.ts';

const ok = inject('dockerAvailable');
const REPO = join(import.meta.dirname, '../..');
const PROJECT = `t-my-${Math.random().toString(36).slice(2, 8)}`;
const NETWORK = `${PROJECT}-net`;
const DB_IMAGE = process.env.DEVENV_TEST_MARIADB_IMAGE ?? 'devenv-test/mariadb:10.11';
const S3_IMAGE = process.env.DEVENV_TEST_SEAWEEDFS_IMAGE ?? 'devenv-test/seaweedfs:latest';

let dir: string;
let stateDir: string;
const ports: Record<string, number> = {};

async function writeConfig(dbPort: number): Promise<void> {
  await writeFile(
    join(dir, 'devenv.yaml'),
    [
      'apiVersion: devenv.dev/v1alpha1',
      `project: ${PROJECT}`,
      'database:',
      '  engine: mysql',
      `  image: ${DB_IMAGE}`,
      `  port: ${dbPort}`,
      '  databases: [shop, analytics]',
      '  initScripts: [db/01-schema.sql]',
      'objectStore:',
      '  engine: seaweedfs',
      `  image: ${S3_IMAGE}`,
      `  port: ${ports.s3}`,
      `  consolePort: ${ports.console}`,
      '  buckets: [uploads]',
      '',
    ].join('\n'),
  );
}

async function up(events: ProgressEvent[] = []): Promise<DataEndpoints> {
  const { config, root } = loadConfig(join(dir, 'devenv.yaml'));
  return ensureDataServices({
    config,
    root,
    network: NETWORK,
    onEvent: (e) => events.push(e),
    timeoutMs: 120_000,
  });
}

/** The CLI in a child process, as a user runs it. */
function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO, 'devenv'), ...args],
      { cwd: dir, env: { ...process.env, DEVENV_STATE_DIR: stateDir, NO_COLOR: '1' }, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

async function connect(ep: DataEndpoints, over: Partial<mysql.ConnectionOptions> = {}) {
  const db = ep.host.database!;
  return mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    ...over,
  });
}

/** Rows of one query, from the host through the published port. */
async function rows(ep: DataEndpoints, sql: string): Promise<Record<string, unknown>[]> {
  const c = await connect(ep);
  try {
    return (await c.query(sql))[0] as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const runOnNetwork = (image: string, cmd: string[], env: string[]) =>
  runOnNetworkAs(PROJECT, NETWORK, image, cmd, env);
const steps = stepPhases;

describe.skipIf(!ok)('data services: MySQL (MariaDB) + SeaweedFS', () => {
  let ep: DataEndpoints;
  const firstEvents: ProgressEvent[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-my-'));
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
    await ensureNetwork(NETWORK, devenvLabels(PROJECT, { 'dev.devenv/component': 'test' }));
    ep = await up(firstEvents);
  });

  afterAll(async () => {
    if (!ok) return;
    for (const c of await listContainers(devenvLabels(PROJECT))) await removeContainer(c.name);
    await destroyDataServices(PROJECT).catch(() => {});
    await removeNetworks(devenvLabels(PROJECT)).catch(() => {});
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts both services and reports typed step events, never a secret', () => {
    expect(steps(firstEvents, 'database')).toEqual(['start', 'done']);
    expect(steps(firstEvents, 'objectStore')).toEqual(['start', 'done']);
    const done = firstEvents.find(
      (e) => e.type === 'step' && e.id === 'database' && e.phase === 'done',
    ) as StepEvent;
    expect(done.detail).toMatch(
      /^mysql ready on 127\.0\.0\.1:\d+ \(created; databases created: analytics; init scripts run: db\/01-schema\.sql\)$/,
    );
    const all = JSON.stringify(firstEvents);
    expect(all).not.toContain(ep.host.database!.password);
  });

  it('answers queries from the host with the generated credentials; wrong ones are refused', async () => {
    expect(ep.host.database).toMatchObject({
      host: '127.0.0.1',
      port: ports.db,
      database: 'shop',
      engine: 'mysql',
    });
    expect((await rows(ep, 'SELECT name FROM items ORDER BY id')).map((r) => r.name)).toEqual([
      'apple',
      'pear',
    ]);
    // The app user was granted the extra database.
    expect((await rows(ep, 'SHOW DATABASES')).map((r) => r.Database)).toEqual(
      expect.arrayContaining(['shop', 'analytics']),
    );
    await expect(connect(ep, { password: 'wrong' })).rejects.toThrow(/Access denied/);
  });

  it('answers from another container on the cluster network, through the alias devenv-db', async () => {
    expect(ep.cluster.database).toMatchObject({ host: 'devenv-db', port: 3306 });
    const db = ep.cluster.database!;
    const r = await runOnNetwork(
      DB_IMAGE,
      [
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
        'SELECT count(*) FROM items',
      ],
      [`MYSQL_PWD=${db.password}`],
    );
    expect(r.out.trim()).toBe('2');
    expect(r.code).toBe(0);
  });

  it('stores the credentials once, mode 0600', () => {
    const file = join(stateDir, 'projects', PROJECT, 'credentials.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).database.password).toBe(ep.host.database!.password);
  });

  it('is idempotent: a second up changes no container and runs no init script again', async () => {
    const names = [`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`];
    const before = await Promise.all(names.map((n) => inspectContainer(n)));
    const events: ProgressEvent[] = [];
    await up(events);
    const after = await Promise.all(names.map((n) => inspectContainer(n)));
    expect(after.map((c) => [c!.id, c!.startedAt])).toEqual(before.map((c) => [c!.id, c!.startedAt]));
    expect(steps(events, 'database')).toEqual(['start', 'skip']);
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    const c = await connect(ep, { user: 'root', password: readCreds().database.rootPassword });
    try {
      const [applied] = await c.query('SELECT name FROM devenv_meta.applied_scripts');
      expect(applied).toEqual([{ name: 'db/01-schema.sql' }]);
    } finally {
      await c.end();
    }
  });

  it('devenv env: mysql:// URL, secrets masked by default', async () => {
    const masked = await cli(['env']);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toMatch(/^DATABASE_URL=mysql:\/\/devenv:\*\*\*\*@127\.0\.0\.1:\d+\/shop$/m);
    expect(masked.stdout).toContain('DB_PASSWORD=****\n');
    expect(masked.stdout).not.toContain(ep.host.database!.password);
    const vars = JSON.parse((await cli(['env', '--json', '--show-secrets'])).stdout);
    const c = await mysql.createConnection(vars.DATABASE_URL);
    expect((await c.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }]);
    await c.end();
    // The S3 variables an app reads reach the object store (SeaweedFS here) as they are.
    expect(masked.stdout).toContain('S3_SECRET_ACCESS_KEY=****\n');
    const s3c = new S3Client({
      endpoint: vars.S3_ENDPOINT,
      region: vars.S3_REGION,
      forcePathStyle: vars.S3_FORCE_PATH_STYLE === 'true',
      credentials: { accessKeyId: vars.S3_ACCESS_KEY_ID, secretAccessKey: vars.S3_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const buckets = (await s3c.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort();
    expect(buckets).toEqual(['devenv-snapshots', vars.S3_BUCKET_UPLOADS]);
    s3c.destroy();
  });

  it('devenv db shell runs mysql in the container (stdin piped)', async () => {
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
    expect((await cli(['db', 'snapshots'])).stdout).toMatch(/^before-drop\s+\d/m);

    await rows(ep, 'DROP TABLE items');
    await expect(rows(ep, 'SELECT 1 FROM items')).rejects.toThrow(/doesn't exist/);

    const restored = await cli(['db', 'restore', 'before-drop']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect((await rows(ep, 'SELECT name FROM items ORDER BY id')).map((r) => r.name)).toEqual([
      'apple',
      'pear',
    ]);
  });

  it('a wrong restore can be undone: restore saves the current state first and names it', async () => {
    await expectRestoreUndoable({
      cli,
      names: async () => (await rows(ep, 'SELECT name FROM items ORDER BY id')).map((r) => String(r.name)),
      exec: (sql) => rows(ep, sql),
    });
  });

  it('keeps rows across down -> up', async () => {
    await rows(ep, "INSERT INTO items VALUES (3, 'plum')");
    const id = (await inspectContainer(`devenv-${PROJECT}-db`))!.id;
    expect((await stopDataServices(PROJECT)).sort()).toEqual([
      `devenv-${PROJECT}-db`,
      `devenv-${PROJECT}-minio`,
    ]);
    expect((await inspectContainer(`devenv-${PROJECT}-db`))!.running).toBe(false);
    ep = await up();
    expect((await inspectContainer(`devenv-${PROJECT}-db`))!.id).toBe(id);
    expect(await rows(ep, 'SELECT count(*) AS n FROM items')).toEqual([{ n: 3 }]);
    // The object store's data survived too: the snapshots are still listed.
    expect((await cli(['db', 'snapshots'])).stdout).toMatch(/^before-drop\s+\d/m);
  });

  it.skipIf(process.env.DEVENV_TEST_DOCKERD_RESTART !== '1')(
    'keeps rows across a dockerd restart (DEVENV_TEST_DOCKERD_RESTART=1)',
    async () => {
      await restartDockerd();
      ep = await up();
      expect(await rows(ep, 'SELECT count(*) AS n FROM items')).toEqual([{ n: 3 }]);
    },
    300_000,
  );

  it('destroy removes the containers and the labelled volumes', async () => {
    const r = await destroyDataServices(PROJECT);
    expect(r.containers.sort()).toEqual([`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`]);
    expect(r.volumes.sort()).toEqual([`devenv-${PROJECT}-db-data`, `devenv-${PROJECT}-seaweedfs-data`]);
    expect(await listVolumes(devenvLabels(PROJECT))).toEqual([]);
  });
});

function readCreds() {
  return JSON.parse(readFileSync(join(stateDir, 'projects', PROJECT, 'credentials.json'), 'utf8'));
}

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
  for (let i = 0; i < 120; i++) {
    try {
      await engineInfo(2000);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error('dockerd did not come back within 60 s');
}

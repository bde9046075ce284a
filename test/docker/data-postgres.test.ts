// Postgres (and MinIO for snapshots) outside the cluster, against the real Docker engine.
// The local test images are selected through CONFIGURATION (database.image /
// objectStore.image in a devenv.yaml written to a temp dir), like a project would.
//
// Needs: the docker tier, devenv-test/postgres:15 and devenv-test/minio:latest
// (bash test/images/build.sh). DEVENV_TEST_DOCKERD_RESTART=1 (set by .ci/run) also
// restarts dockerd once to prove the data survives it; that disrupts other Docker users,
// so it is off by default.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
const PROJECT = `t-pg-${Math.random().toString(36).slice(2, 8)}`;
const NETWORK = `${PROJECT}-net`;
const PG_IMAGE = process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15';
const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';

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
      '  engine: postgres',
      `  image: ${PG_IMAGE}`,
      `  port: ${dbPort}`,
      '  databases: [shop, analytics]',
      '  initScripts: [db/01-schema.sql]',
      'objectStore:',
      `  image: ${MINIO_IMAGE}`,
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

async function withClient<T>(ep: DataEndpoints, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const db = ep.host.database!;
  const c = new pg.Client({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const runOnNetwork = (image: string, cmd: string[], env: string[]) =>
  runOnNetworkAs(PROJECT, NETWORK, image, cmd, env);
const steps = stepPhases;

describe.skipIf(!ok)('data services: Postgres + MinIO', () => {
  let ep: DataEndpoints;
  const firstEvents: ProgressEvent[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-pg-'));
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

  it('starts both services in parallel and reports typed step events', () => {
    expect(steps(firstEvents, 'database')).toEqual(['start', 'done']);
    expect(steps(firstEvents, 'objectStore')).toEqual(['start', 'done']);
    const done = firstEvents.find(
      (e) => e.type === 'step' && e.id === 'database' && e.phase === 'done',
    ) as StepEvent;
    expect(done.detail).toMatch(/created/);
    expect(done.detail).toMatch(/init scripts run: db\/01-schema\.sql/);
    expect(done.ms).toBeGreaterThan(0);
    // Never a secret in an event.
    const all = JSON.stringify(firstEvents);
    expect(all).not.toContain(ep.host.database!.password);
    expect(all).not.toContain(ep.host.objectStore!.secretAccessKey);
  });

  it('answers queries from the host on the configured port, with the generated credentials', async () => {
    expect(ep.host.database).toMatchObject({ host: '127.0.0.1', port: ports.db, database: 'shop' });
    const rows = await withClient(
      ep,
      async (c) => (await c.query('SELECT name FROM items ORDER BY id')).rows,
    );
    expect(rows.map((r) => r.name)).toEqual(['apple', 'pear']);
    // The configured extra database exists.
    const dbs = await withClient(ep, async (c) => (await c.query('SELECT datname FROM pg_database')).rows);
    expect(dbs.map((r) => r.datname)).toEqual(expect.arrayContaining(['shop', 'analytics']));
    // A wrong password is refused (the server really checks).
    const bad = new pg.Client({
      ...ep.host.database!,
      password: 'wrong',
      database: 'shop',
      user: ep.host.database!.user,
    });
    await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('answers from another container on the cluster network, through the alias devenv-db', async () => {
    expect(ep.cluster.database).toMatchObject({ host: 'devenv-db', port: 5432 });
    const db = ep.cluster.database!;
    const r = await runOnNetwork(
      PG_IMAGE,
      [
        'psql',
        '-h',
        db.host,
        '-p',
        String(db.port),
        '-U',
        db.user,
        '-d',
        db.database,
        '-tAc',
        'SELECT count(*) FROM items',
      ],
      [`PGPASSWORD=${db.password}`],
    );
    expect(r.out.trim()).toBe('2');
    expect(r.code).toBe(0);
  });

  it('stores the credentials once, mode 0600, under the project state dir', () => {
    const file = join(stateDir, 'projects', PROJECT, 'credentials.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const c = JSON.parse(readFileSync(file, 'utf8'));
    expect(c.database.password).toBe(ep.host.database!.password);
  });

  it('is idempotent: a second up changes no container and runs no init script again', async () => {
    const before = await Promise.all(
      [`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`].map((n) => inspectContainer(n)),
    );
    const events: ProgressEvent[] = [];
    await up(events);
    const after = await Promise.all(
      [`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`].map((n) => inspectContainer(n)),
    );
    expect(after.map((c) => [c!.id, c!.startedAt])).toEqual(before.map((c) => [c!.id, c!.startedAt]));
    expect(steps(events, 'database')).toEqual(['start', 'skip']);
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    const applied = await withClient(
      ep,
      async (c) => (await c.query('SELECT name FROM devenv_meta.applied_scripts')).rows,
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
    expect(masked.stdout).toMatch(/^DATABASE_URL=postgresql:\/\/devenv:\*\*\*\*@127\.0\.0\.1:\d+\/shop$/m);
    expect(masked.stdout + masked.stderr).not.toContain(ep.host.database!.password);

    const shown = await cli(['env', '--json', '--show-secrets']);
    expect(shown.code).toBe(0);
    const vars = JSON.parse(shown.stdout);
    expect(vars.DB_PASSWORD).toBe(ep.host.database!.password);
    // The printed URL really connects.
    const c = new pg.Client({ connectionString: vars.DATABASE_URL });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
  });

  it('devenv db shell runs psql in the container (stdin piped)', async () => {
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

    const list = await cli(['db', 'snapshots']);
    expect(list.stdout).toMatch(/^before-drop\s+\d/m);

    await withClient(ep, (c) => c.query('DROP TABLE items'));
    await expect(withClient(ep, (c) => c.query('SELECT 1 FROM items'))).rejects.toThrow(/does not exist/);

    const restored = await cli(['db', 'restore', 'before-drop']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    const rows = await withClient(
      ep,
      async (c) => (await c.query('SELECT name FROM items ORDER BY id')).rows,
    );
    expect(rows.map((r) => r.name)).toEqual(['apple', 'pear']);

    const missing = await cli(['db', 'restore', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no snapshot named "nope".*before-drop/);
  });

  it('a wrong restore can be undone: restore saves the current state first and names it', async () => {
    await expectRestoreUndoable({
      cli,
      names: () =>
        withClient(ep, async (c) =>
          (await c.query('SELECT name FROM items ORDER BY id')).rows.map((r) => r.name),
        ),
      exec: (sql) => withClient(ep, (c) => c.query(sql)),
    });
  });

  it('keeps rows across down -> up (the stopped container is started again)', async () => {
    await withClient(ep, (c) => c.query("INSERT INTO items VALUES (3, 'plum')"));
    const id = (await inspectContainer(`devenv-${PROJECT}-db`))!.id;
    const stopped = await stopDataServices(PROJECT);
    expect(stopped.sort()).toEqual([`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`]);
    expect((await inspectContainer(`devenv-${PROJECT}-db`))!.running).toBe(false);
    const events: ProgressEvent[] = [];
    ep = await up(events);
    expect(
      (events.find((e) => e.type === 'step' && e.id === 'database' && e.phase === 'done') as StepEvent)
        .detail,
    ).toMatch(/started/);
    expect((await inspectContainer(`devenv-${PROJECT}-db`))!.id).toBe(id);
    const rows = await withClient(
      ep,
      async (c) => (await c.query('SELECT count(*)::int AS n FROM items')).rows,
    );
    expect(rows[0].n).toBe(3);
  });

  it('recreates the container on a config change, on the SAME data volume', async () => {
    const before = (await inspectContainer(`devenv-${PROJECT}-db`))!;
    ports.db2 = await freePort();
    await writeConfig(ports.db2);
    const events: ProgressEvent[] = [];
    ep = await up(events);
    const after = (await inspectContainer(`devenv-${PROJECT}-db`))!;
    expect(after.id).not.toBe(before.id);
    expect(after.labels['dev.devenv/spec-hash']).not.toBe(before.labels['dev.devenv/spec-hash']);
    expect(ep.host.database!.port).toBe(ports.db2);
    // MinIO's spec did not change: untouched.
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    const rows = await withClient(
      ep,
      async (c) => (await c.query('SELECT count(*)::int AS n FROM items')).rows,
    );
    expect(rows[0].n).toBe(3);
  });

  it.skipIf(process.env.DEVENV_TEST_DOCKERD_RESTART !== '1')(
    'keeps rows across a dockerd restart (DEVENV_TEST_DOCKERD_RESTART=1)',
    async () => {
      await restartDockerd();
      ep = await up();
      const rows = await withClient(
        ep,
        async (c) => (await c.query('SELECT count(*)::int AS n FROM items')).rows,
      );
      expect(rows[0].n).toBe(3);
    },
    300_000,
  );

  it('destroy removes the containers and the labelled volumes, and only them', async () => {
    expect((await listVolumes(devenvLabels(PROJECT))).length).toBeGreaterThanOrEqual(2);
    const r = await destroyDataServices(PROJECT);
    expect(r.containers.sort()).toEqual([`devenv-${PROJECT}-db`, `devenv-${PROJECT}-minio`]);
    expect(r.volumes.sort()).toEqual([`devenv-${PROJECT}-db-data`, `devenv-${PROJECT}-minio-data`]);
    expect(await inspectContainer(`devenv-${PROJECT}-db`)).toBeUndefined();
    expect(await listVolumes(devenvLabels(PROJECT))).toEqual([]);
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

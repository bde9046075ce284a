// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose ${VAR} syntax in a test compose file
// Bad input and a missing engine, for the data services: each gives its message and exit
// code, and nothing is created (no container, no volume) when the input is bad.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ensureCredentials } from '../../src/data/credentials.ts';
import { destroyDataServices } from '../../src/data/destroy.ts';
import { ensureDataServices } from '../../src/data/lifecycle.ts';
import { listContainers, removeContainer } from '../../src/docker/containers.ts';
import { DOCKER_DOWN_FIX, docker } from '../../src/docker/engine.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import { DevenvError } from '../../src/errors.ts';
import { projectLabels } from '../../src/labels.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/fixture.ts';

const ok = inject('dockerAvailable');
const PROJECT = `t-err-${Math.random().toString(36).slice(2, 8)}`;
const PG_IMAGE = process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15';
const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';
const BASE_IMAGE = process.env.DEVENV_TEST_BASE_IMAGE ?? 'devenv-test/base:bookworm';

let dir: string;

async function project(name: string, lines: string[]): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(
    join(d, 'devenv.yaml'),
    ['apiVersion: devenv.dev/v1alpha1', `project: ${PROJECT}`, ...lines, ''].join('\n'),
  );
  return d;
}

/** A project whose Postgres is defined by the compose file ops/db.yaml (`compose`, one line each). */
async function composeProject(name: string, compose: string[]): Promise<string> {
  const d = await project(name, [
    'database:',
    '  engine: postgres',
    `  image: ${PG_IMAGE}`,
    `  port: ${await freePort()}`,
    '  compose: ops/db.yaml',
  ]);
  await mkdir(join(d, 'ops'));
  await writeFile(join(d, 'ops/db.yaml'), compose.join('\n'));
  return d;
}

async function upIn(d: string): Promise<DevenvError> {
  const { config, root } = loadConfig(join(d, 'devenv.yaml'));
  try {
    await ensureDataServices({ config, root, timeoutMs: 60_000 });
  } catch (err) {
    return err as DevenvError;
  }
  throw new Error('ensureDataServices should have failed');
}

const cli = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  runCli(args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, timeoutMs: 60_000 });

/** Nothing of the project exists in Docker (apart from what a test made itself). */
async function nothingCreated(): Promise<void> {
  const containers = (await listContainers(projectLabels(PROJECT))).filter(
    (c) => c.labels['dev.devenv/component'] === 'data',
  );
  expect(containers.map((c) => c.name)).toEqual([]);
  expect(await listVolumes(projectLabels(PROJECT))).toEqual([]);
}

describe.skipIf(!ok)('data services: bad input and a missing engine', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-err-'));
    process.env.DEVENV_STATE_DIR = join(dir, '.state');
  });

  afterAll(async () => {
    if (!ok) return;
    for (const c of await listContainers(projectLabels(PROJECT))) await removeContainer(c.name);
    await destroyDataServices(PROJECT).catch(() => {});
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a host port held by a process: exit 2, names the port, the holder and the config key', async () => {
    const holder: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      const d = await project('port-process', [
        'database:',
        '  engine: postgres',
        `  image: ${PG_IMAGE}`,
        `  port: ${port}`,
        'objectStore:',
        `  image: ${MINIO_IMAGE}`,
        `  port: ${await freePort()}`,
        `  consolePort: ${await freePort()}`,
      ]);
      const err = await upIn(d);
      expect(err).toBeInstanceOf(DevenvError);
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain(
        `host port ${port} (database) is already in use by process ${process.pid}`,
      );
      expect(err.message).toContain('set database.port in devenv.yaml to a free port');
      // Nothing was created for EITHER service: the checks run before anything starts.
      await nothingCreated();
    } finally {
      holder.close();
    }
  });

  it('a host port held by another container: names the container and objectStore.port', async () => {
    const port = await freePort();
    const d0 = await docker();
    const blocker = await d0.createContainer({
      name: `${PROJECT}-blocker`,
      Image: BASE_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: projectLabels(PROJECT, { 'dev.devenv/component': 'test' }),
      ExposedPorts: { '80/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await blocker.start();
    try {
      const d = await project('port-container', [
        'objectStore:',
        `  image: ${MINIO_IMAGE}`,
        `  port: ${port}`,
        `  consolePort: ${await freePort()}`,
      ]);
      const err = await upIn(d);
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(
        `host port ${port} (object store) is already in use by container "${PROJECT}-blocker": set objectStore.port in devenv.yaml to a free port, or stop that container.`,
      );
      await nothingCreated();
    } finally {
      await blocker.remove({ force: true, v: true });
    }
  });

  it('an unsupported compose key: exit 2 with file:line:col and the key, from up and from the CLI', async () => {
    const d = await composeProject('bad-compose', [
      'services:',
      '  db:',
      '    image: ${DB_IMAGE}',
      '    environment: {POSTGRES_PASSWORD: "${DB_PASSWORD}"}',
      '    restart: unless-stopped',
      '',
    ]);
    const err = await upIn(d);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual([
      expect.stringMatching(
        /ops\/db\.yaml:5:5: unsupported key "restart" in services\.db: devenv honours only image, environment, ports, volumes, command, healthcheck$/,
      ),
    ]);
    await nothingCreated();

    const r = await cli(d, ['env'], { DEVENV_STATE_DIR: join(dir, '.state') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ops\/db\.yaml:5:5: unsupported key "restart"/);
  });

  it('an image that is not present and cannot be pulled: exit 2 naming the image and the key', async () => {
    const d = await project('no-image', [
      'database:',
      '  engine: postgres',
      '  image: devenv-test/does-not-exist:never',
      `  port: ${await freePort()}`,
    ]);
    const err = await upIn(d);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(
      /^image "devenv-test\/does-not-exist:never" is not on this machine and cannot be pulled \(.+\)\. Set database\.image in devenv\.yaml/,
    );
    await nothingCreated();
  });

  it('Docker not running: a one-line error with the remedy, exit 1 (CLI with DOCKER_HOST at a dead socket)', async () => {
    const d = await project('docker-down', ['database:', '  engine: postgres', `  image: ${PG_IMAGE}`]);
    ensureCredentials(PROJECT); // as after a first `devenv up`
    for (const args of [
      ['db', 'shell'],
      ['db', 'snapshots'],
    ]) {
      const r = await cli(d, args, {
        DEVENV_STATE_DIR: join(dir, '.state'),
        DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
      });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: Docker engine not reachable \(ENOENT .*no-docker\.sock\)\. /);
      expect(lines[0]).toContain(DOCKER_DOWN_FIX);
    }
  });

  it('readiness times out with a message naming what it waited for', async () => {
    const d = await composeProject('never-healthy', [
      'services:',
      '  db:',
      '    image: ${DB_IMAGE}',
      '    environment: {POSTGRES_USER: "${DB_USER}", POSTGRES_PASSWORD: "${DB_PASSWORD}", POSTGRES_DB: "${DB_NAME}"}',
      '    ports: ["127.0.0.1:${DB_PORT}:5432"]',
      '    volumes: [data:/var/lib/postgresql/data]',
      '    healthcheck: {test: ["CMD", "false"], interval: 1s, retries: 1000}',
      'volumes:',
      '  data:',
      '',
    ]);
    const { config, root } = loadConfig(join(d, 'devenv.yaml'));
    const err = await ensureDataServices({ config, root, timeoutMs: 4000 }).then(
      () => undefined,
      (e: DevenvError) => e,
    );
    expect(err).toBeInstanceOf(DevenvError);
    expect(err!.exitCode).toBe(1);
    expect(err!.message).toBe(
      `timed out after 4 s waiting for the database container "devenv-${PROJECT}-db" (healthcheck: false) to be healthy.`,
    );
    // What was created carries the project's labels (destroy can remove it).
    const made = await listContainers(projectLabels(PROJECT, { 'dev.devenv/component': 'data' }));
    expect(made.map((c) => c.name)).toEqual([`devenv-${PROJECT}-db`]);
    await destroyDataServices(PROJECT);
    await nothingCreated();
  });

  it('a same-named volume devenv did not create is refused, not adopted', async () => {
    const d0 = await docker();
    const name = `devenv-${PROJECT}-db-data`;
    await d0.createVolume({ Name: name });
    try {
      const d = await project('foreign-volume', [
        'database:',
        '  engine: postgres',
        `  image: ${PG_IMAGE}`,
        `  port: ${await freePort()}`,
      ]);
      const err = await upIn(d);
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(new RegExp(`^volume "${name}" exists but was not created by devenv`));
      await nothingCreated();
    } finally {
      await d0.getVolume(name).remove();
    }
  });
});

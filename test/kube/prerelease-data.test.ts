// A database and buckets per prerelease, against REAL servers: Postgres
// (devenv-test/postgres:15) and MinIO (devenv-test/minio) containers stand in for the
// shared database server and object store, published on the node's address so that pods of
// the real test cluster reach them. `up` creates the database, a login user with a random
// password and prefixed buckets, and hands them to pods in the devenv-data Secret; the test
// Job checks the app really reaches its database; `down` drops database, user and buckets.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ObjectStore } from '../../src/data/s3.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { readObject } from '../../src/kube/objects.ts';
import { readLive, TEST_REGISTRY as registry } from '../support/kube.ts';
import {
  imagesAvailable,
  MINIO_IMAGE,
  PG_IMAGE,
  S3_KEY,
  S3_SECRET,
  type SharedServers,
  startSharedServers,
} from '../support/shared-servers.ts';

const kubeconfig = inject('kubeconfig');
const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'prerelease');
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const name = `data-${runId}`;
const ns = `prerelease-${name}`;
const dbName = ns.replace(/-/g, '_');

function devenv(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'devenv'), '-c', join(fixture, 'devenv.data.yaml'), ...args],
      { cwd: fixture, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

const haveImages = await imagesAvailable(PG_IMAGE, MINIO_IMAGE);

describe.skipIf(!kubeconfig || !haveImages)('prerelease data on real Postgres and MinIO servers', () => {
  let client: KubeClient;
  let servers: SharedServers;
  let env: Record<string, string> = {};
  let adminUrl = '';
  let ADMIN_PW = '';
  /** The password `up` generated for the prerelease's database user (from devenv-data). */
  let dbPassword = '';
  /** Every output of devenv in this file, for the secrets check. */
  const outputs: string[] = [];
  const query = (sql: string, params: unknown[] = []) => servers.query(sql, params);
  /** `prerelease up --build` of the fixture as `name`, with the shared servers' environment. */
  const prUp = () =>
    devenv(
      [
        'prerelease',
        'up',
        '--context',
        'devenv-test',
        '--kubeconfig',
        kubeconfig as string,
        '--name',
        name,
        '--build',
        '--registry',
        registry,
      ],
      env,
    );

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
    servers = await startSharedServers(client, { label: 'prerelease-data', minio: true });
    ({ env, adminUrl, adminPassword: ADMIN_PW } = servers);
  }, 120_000);

  afterAll(async () => {
    await client?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await servers?.stop();
  }, 60_000);

  const store = () =>
    ObjectStore.connect({
      endpoint: env.DEVENV_PRERELEASE_S3_ENDPOINT!,
      accessKeyId: S3_KEY,
      secretAccessKey: S3_SECRET,
      region: 'us-east-1',
    });

  it('up: creates the database, its user and the prefixed bucket; pods get them through devenv-data', async () => {
    const r = await prUp();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`database ${dbName} (user ${dbName}) on the shared server`);
    expect(r.stdout).toContain(`buckets: ${ns}-uploads`);
    // The admin password never reaches the output.
    expect(r.stdout).not.toContain(ADMIN_PW);

    const rows = await query(
      "SELECT d.datname, r.rolname AS owner, shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
      [dbName],
    );
    expect(rows).toEqual([{ datname: dbName, owner: dbName, comment: `devenv prerelease ${ns}` }]);

    const secret = await readLive(client, 'v1', 'Secret', ns, 'devenv-data');
    const data = Object.fromEntries(
      Object.entries(secret?.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    );
    expect(data).toMatchObject({
      DB_NAME: dbName,
      DB_USER: dbName,
      DB_HOST: env.DEVENV_PRERELEASE_DATABASE_HOST,
      S3_BUCKET_UPLOADS: `${ns}-uploads`,
      S3_ENDPOINT: env.DEVENV_PRERELEASE_S3_ENDPOINT,
    });
    expect(data.DB_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    dbPassword = data.DB_PASSWORD!;
    outputs.push(r.stdout, r.stderr);
    // The generated user logs in with the generated password, and only to its database.
    const port = new URL(adminUrl).port;
    const app = new pg.Client({
      host: '127.0.0.1',
      port: Number(port),
      user: dbName,
      password: data.DB_PASSWORD,
      database: dbName,
    });
    await app.connect();
    expect((await app.query('SELECT current_database() AS db')).rows[0].db).toBe(dbName);
    await app.end();

    const s3 = await store();
    expect(await s3.listBuckets()).toContain(`${ns}-uploads`);
    await s3.put(`${ns}-uploads`, 'hello.txt', 'hi');
    s3.close();
  });

  it('up again keeps the password pods already have', async () => {
    const before = await readLive(client, 'v1', 'Secret', ns, 'devenv-data');
    const r = await prUp();
    expect(r.code).toBe(0);
    const after = await readLive(client, 'v1', 'Secret', ns, 'devenv-data');
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(r.stdout).toContain('0 created, 0 updated');
  });

  it('test: the Job reaches the app, and the app its prerelease database', async () => {
    const artifacts = join(tmpdir(), `devenv-prerelease-data-${runId}`);
    const r = await devenv(
      ['prerelease', 'test', '--kubeconfig', kubeconfig as string, '--name', name, '--artifacts', artifacts],
      env,
    );
    expect(r.stdout).toContain('3 tests, 0 failures');
    expect(r.code).toBe(0);
    outputs.push(r.stdout, r.stderr);

    // Secrets in CI: what the job uploads (the artifacts folder) and what it prints hold no
    // secret value: not the generated database password, not the shared server's admin
    // password, not the object store's secret key.
    const files = readdirSync(artifacts, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name));
    try {
      const texts = files.map((f) => ({ f, text: readFileSync(f, 'utf8') }));
      // The check reads what was collected: pod logs, events and status.json name the namespace.
      expect(files.map((f) => f.slice(artifacts.length + 1))).toEqual(
        expect.arrayContaining(['status.json', 'events.json', 'events.txt', 'junit.xml']),
      );
      expect(files.some((f) => f.includes('/pods/'))).toBe(true);
      expect(texts.find((t) => t.f.endsWith('status.json'))!.text).toContain(ns);
      const secrets: Record<string, string> = {
        'generated database password': dbPassword,
        'admin password': ADMIN_PW,
        'object store secret key': env.DEVENV_PRERELEASE_S3_SECRET_KEY!,
      };
      for (const [what, value] of Object.entries(secrets)) {
        expect(value.length, what).toBeGreaterThanOrEqual(8);
        const leaks = [
          ...texts.filter((t) => t.text.includes(value)).map((t) => t.f),
          ...outputs.filter((o) => o.includes(value)).map(() => 'devenv output'),
        ];
        expect(leaks, `${what} found in`).toEqual([]);
      }
    } finally {
      rmSync(artifacts, { recursive: true, force: true });
    }
  });

  it('down: namespace, database, user and bucket are gone', async () => {
    const r = await devenv(['prerelease', 'down', '--kubeconfig', kubeconfig as string, '--name', name], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`dropped database ${dbName}, user ${dbName}, buckets ${ns}-uploads`);
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeUndefined();
    expect(await query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).toEqual([]);
    expect(await query('SELECT 1 FROM pg_roles WHERE rolname = $1', [dbName])).toEqual([]);
    const s3 = await store();
    expect(await s3.listBuckets()).not.toContain(`${ns}-uploads`);
    s3.close();
  });

  it('down needs the admin URL when the namespace has a database, and deletes nothing without it', async () => {
    const r = await prUp();
    expect(r.code).toBe(0);
    const refused = await devenv(
      ['prerelease', 'down', '--kubeconfig', kubeconfig as string, '--name', name],
      {
        ...env,
        DEVENV_PRERELEASE_DATABASE_URL: '',
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('DEVENV_PRERELEASE_DATABASE_URL is not set');
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeDefined();
    const down = await devenv(
      ['prerelease', 'down', '--kubeconfig', kubeconfig as string, '--name', name],
      env,
    );
    expect(down.code).toBe(0);
  });

  it('leaves alone a same-named database devenv did not create', async () => {
    const other = `prerelease_handmade_${runId}`;
    await query(`CREATE DATABASE "${other}"`);
    const r = await devenv(
      ['prerelease', 'down', '--kubeconfig', kubeconfig as string, '--name', `handmade-${runId}`],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`lacks devenv's comment`);
    expect(await query('SELECT 1 FROM pg_database WHERE datname = $1', [other])).toHaveLength(1);
    await query(`DROP DATABASE "${other}"`);
  });
});

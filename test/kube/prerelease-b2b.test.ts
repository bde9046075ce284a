// The full prerelease cycle on fixtures/b2b — three namespaces of production manifests
// (back: api + cache + NetworkPolicy; b2b: portal; front-web: storefront), collapsed into
// ONE prerelease namespace on the real test cluster, through the real CLI:
//   up → pods Ready in the prefixed, labelled namespace (cross-namespace DNS names followed)
//   → the fixture's own test Job passes → artifacts: JUnit, pod logs, events, status.json
//   → down → namespace AND database gone.
// Twice: with the database on a shared Postgres server (a real Postgres container standing
// in for it), and with prerelease.database: ephemeral (a server inside the namespace).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { readObject } from '../../src/kube/objects.ts';
import { expectTestStatus } from '../support/cluster-project.ts';
import { cliEnv, prepareFixture, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';
import { readLive, TEST_REGISTRY as registry } from '../support/kube.ts';
import {
  imagesAvailable,
  PG_IMAGE,
  type SharedServers,
  startSharedServers,
} from '../support/shared-servers.ts';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const haveImages = await imagesAvailable(PG_IMAGE, 'devenv-test/python:3.11');
const APPS = ['api', 'cache', 'portal', 'storefront'];

/** A copy of fixtures/b2b for the shared test cluster as the prerelease cluster. */
async function b2bCopy(edit: (doc: YAML.Document) => void = () => undefined) {
  const { dir, file } = await prepareFixture('b2b');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  // The test cluster plays the shared cluster: named as prerelease.context, not allow-listed for dev.
  doc.deleteIn(['cluster', 'allowContexts']);
  doc.setIn(['prerelease', 'context'], TEST_CONTEXT);
  edit(doc);
  writeFileSync(file, doc.toString());
  return { dir, file };
}

interface Pod {
  metadata: { name: string; labels: Record<string, string> };
  status: { conditions?: Array<{ type: string; status: string }> };
}

/**
 * The rows of the fixture's init script, read with the credentials devenv gave the pods
 * (the devenv-data Secret). The ephemeral server is reached on its Service's ClusterIP
 * (routed from this host by kube-proxy, once it has programmed the new Service).
 */
async function productsInDatabase(client: KubeClient, ns: string, mode: 'shared' | 'ephemeral') {
  const secret = await readLive(client, 'v1', 'Secret', ns, 'devenv-data');
  const data = (secret?.data ?? {}) as Record<string, string>;
  const v = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString();
  let host = v('DB_HOST');
  if (mode === 'ephemeral') {
    const svc = await readLive(client, 'v1', 'Service', ns, 'devenv-db');
    host = (svc as { spec?: { clusterIP?: string } })?.spec?.clusterIP ?? host;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({
      host,
      port: Number(v('DB_PORT')),
      user: v('DB_USER'),
      password: v('DB_PASSWORD'),
      database: v('DB_NAME'),
      connectionTimeoutMillis: 3000,
    });
    try {
      await c.connect();
      return (await c.query('SELECT sku FROM products ORDER BY sku')).rows.map((r) => r.sku as string);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

function cycle(mode: 'shared' | 'ephemeral') {
  const name = `b2b-${mode.slice(0, 3)}-${runId}`;
  const ns = `prerelease-${name}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const artifacts = mkdtempSync(join(tmpdir(), 'devenv-b2b-artifacts-'));
  let client: KubeClient;
  let servers: SharedServers | undefined;
  let file = '';
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const cli = (...args: string[]) =>
    runDevenv(file, ['prerelease', ...args, '--context', TEST_CONTEXT, '--name', name], env);

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string, context: TEST_CONTEXT });
    if (mode === 'shared') {
      servers = await startSharedServers(client, { label: 'prerelease-b2b' });
      ({ dir, file } = await b2bCopy());
      env = { ...cliEnv(kubeconfig as string, state), ...servers.env };
    } else {
      // The cluster pulls the server's image from its registry, like any other image.
      const image = `${registry}/devenv-test/postgres:15`;
      await run('docker', ['tag', PG_IMAGE, image]);
      await run('docker', ['push', image]);
      ({ dir, file } = await b2bCopy((doc) => {
        doc.setIn(['database', 'image'], image);
        doc.setIn(['prerelease', 'database'], 'ephemeral');
      }));
      // No shared server at all.
      env = { ...cliEnv(kubeconfig as string, state), DEVENV_PRERELEASE_DATABASE_URL: '' };
    }
  }, 180_000);

  afterAll(async () => {
    await client?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await servers?.stop();
    for (const d of [dir, state, artifacts]) if (d) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('up: builds, pushes and deploys all three namespaces into one; every pod Ready', async () => {
    const r = cli('up', '--build', '--registry', registry, '--force');
    expect(r.code, r.out).toBe(0);
    expect(r.stderr).toBe('');
    // Cross-namespace names were pointed into the one namespace, and said so.
    expect(r.stdout).toContain(
      `Deployment portal containers[portal].env[API_URL]: http://api.back.svc.cluster.local:8080 → http://api.${ns}.svc.cluster.local:8080`,
    );
    expect(r.stdout).toContain('Job itest not applied: integration tests');
    // back's "every namespace may reach me" policy now covers the whole namespace: said, not hidden.
    expect(r.stdout).toContain('NetworkPolicy allow-from-all-namespaces admits traffic from every namespace');
    expect(r.stdout).toMatch(
      mode === 'shared'
        ? new RegExp(
            `database ${ns.replace(/-/g, '_')} \\(user ${ns.replace(/-/g, '_')}\\) on the shared server`,
          )
        : new RegExp(`database b2b \\(user devenv\\) on an ephemeral server in ${ns}`),
    );

    const nsObj = await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns });
    expect(nsObj?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'b2b',
      'dev.devenv/env': 'prerelease',
      'dev.devenv/prerelease': 'true',
    });
    expect(nsObj?.metadata.annotations?.['dev.devenv/expires-at']).toBeTruthy();
    const pods = await client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
    for (const app of APPS) {
      const pod = pods.items.find((p) => p.metadata.labels['app.kubernetes.io/name'] === app);
      expect(pod, app).toBeDefined();
      expect(pod!.status.conditions?.find((c) => c.type === 'Ready')?.status, app).toBe('True');
      expect(pod!.metadata.labels['dev.devenv/env']).toBe('prerelease');
    }
    if (mode === 'ephemeral') {
      const db = pods.items.find((p) => p.metadata.labels['app.kubernetes.io/name'] === 'devenv-db');
      expect(db?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    // database.initScripts ran on the prerelease database, as the app's own user.
    expect(await productsInDatabase(client, ns, mode)).toEqual(['B2B-001', 'B2B-002']);
    // Ingress hosts of its own, never the manifests' hosts, on the shared cluster.
    const ingress = await readLive(client, 'networking.k8s.io/v1', 'Ingress', ns, 'storefront');
    expect((ingress as { spec?: { rules?: Array<{ host?: string }> } })?.spec?.rules?.[0]?.host).toBe(
      `shop-${ns}.prerelease.b2b.example.com`,
    );
    // The tests are not run by up.
    expect(
      await readObject(client, { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'itest' }),
    ).toBeUndefined();
    if (servers) {
      const db = ns.replace(/-/g, '_');
      expect(await servers.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).toHaveLength(1);
    }
  });

  it('up again changes nothing', () => {
    const r = cli('up', '--build', '--registry', registry, '--force');
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/0 created, 0 updated, \d+ unchanged, 0 pruned/);
  });

  it("test: the fixture's Job passes through storefront → api → cache and database; artifacts collected", () => {
    const junit = join(artifacts, 'junit.xml');
    const out = join(artifacts, 'run');
    const r = cli('test', '--artifacts', out, '--junit', junit, '--timeout', '5m');
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain(`tests PASSED in ${ns}`);
    expect(r.stdout).toContain('4 tests, 0 failures');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites tests="4" failures="0"');
    expect(xml).toContain('name="storefront serves through the API"');
    const pods = readdirSync(join(out, 'pods'));
    const itest = pods.find((p) => p.startsWith('itest-'))!;
    const log = readFileSync(join(out, 'pods', itest, 'itest.log'), 'utf8');
    expect(log).toContain('PASS api reaches its cache and its database');
    expect(log).toContain('PASS portal serves through the API');
    for (const app of APPS)
      expect(
        pods.some((p) => p.startsWith(`${app}-`)),
        app,
      ).toBe(true);
    const api = pods.find((p) => p.startsWith('api-'))!;
    expect(readFileSync(join(out, 'pods', api, 'api.log'), 'utf8')).toContain('GET /api/info');
    expect(readFileSync(join(out, 'events.txt'), 'utf8')).toMatch(/Scheduled|Started|SuccessfulCreate/);
    expectTestStatus(out, {
      namespace: ns,
      mode: 'job',
      result: 'passed',
      exitCode: 0,
      junit: { tests: 4, failures: 0 },
      jobs: [{ name: 'itest', outcome: 'passed' }],
    });
  });

  it('down: the namespace and the database are gone', async () => {
    const r = cli('down');
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain(`deleted namespace ${ns}`);
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeUndefined();
    if (servers) {
      const db = ns.replace(/-/g, '_');
      expect(r.stdout).toContain(`dropped database ${db}, user ${db}`);
      expect(await servers.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).toEqual([]);
      expect(await servers.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [db])).toEqual([]);
    } else {
      // The ephemeral server went with its namespace; no shared server was ever needed.
      expect(r.stdout).not.toMatch(/dropped database|no database dropped/);
    }
    expect(existsSync(join(artifacts, 'junit.xml'))).toBe(true);
  });
}

describe.skipIf(!kubeconfig || !haveImages)('prerelease full cycle on fixtures/b2b, shared database', () => {
  cycle('shared');
});

describe.skipIf(!kubeconfig || !haveImages)(
  'prerelease full cycle on fixtures/b2b, ephemeral database',
  () => {
    cycle('ephemeral');
  },
);

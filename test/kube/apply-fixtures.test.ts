// The fixtures, end to end on the REAL test cluster, through the manifests and kube parts:
// devenv.yaml → images built offline (BASE_IMAGE=devenv-test/python:3.11) and pushed to the
// test registry → manifests loaded, rendered, reconciled → every rollout Ready → the apps
// answer through their Services (api → Redis cache included) → a second reconcile writes
// nothing. b2b runs twice: as a dev deploy across its three namespaces, and as a
// prerelease deploy into one namespace.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { reconcile } from '../../src/kube/apply.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { deleteNamespace } from '../../src/kube/namespaces.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import { loadManifests } from '../../src/manifests/load.ts';
import { renderManifests } from '../../src/manifests/render.ts';
import {
  type DeployEnv,
  ownerLabels,
  type RenderedObject,
  type SourceDoc,
} from '../../src/manifests/types.ts';
import { PYTHON_IMAGE as baseImage, newRunId, TEST_REGISTRY as registry } from '../support/kube.ts';
import { startSharedServers } from '../support/shared-servers.ts';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const root = resolve(import.meta.dirname, '..', '..');
const runId = newRunId();

/** Builds every service of a fixture as production would, but FROM the local base image. */
async function buildImages(dir: string, config: Config): Promise<Record<string, string>> {
  const images: Record<string, string> = {};
  for (const svc of config.services) {
    const repo = svc.image ?? `${config.project}/${svc.name}`;
    const ref = `${registry}/${repo}:${runId}`;
    const args = Object.entries({ ...svc.buildArgs, BASE_IMAGE: baseImage }).flatMap(([k, v]) => [
      '--build-arg',
      `${k}=${v}`,
    ]);
    const context = join(dir, svc.context);
    await run('docker', ['build', '-q', ...args, '-f', join(context, svc.dockerfile), '-t', ref, context], {
      maxBuffer: 16 * 1024 * 1024,
    });
    await run('docker', ['push', ref]);
    images[repo] = ref;
  }
  return images;
}

/**
 * Loads and renders every service's manifests, plus the data services' Secret in each
 * namespace, rendered like a manifest (as the up engine does), so that it is applied
 * before the workloads that read it.
 */
async function renderFixture(
  dir: string,
  config: Config,
  images: Record<string, string>,
  opts: {
    project: string;
    env: DeployEnv;
    namespace?: string;
    defaultNamespace?: string;
    ingressDomain?: string;
  },
  dataNamespaces: string[],
  /** DATABASE_URL for the data Secret (default: an address where nothing listens). */
  databaseUrl = 'postgresql://app:secret@127.0.0.1:1/app',
) {
  const docs: SourceDoc[] = [];
  for (const svc of config.services) docs.push(...(await loadManifests(svc.manifests, { root: dir })));
  dataNamespaces.forEach((namespace, index) => {
    docs.push({
      file: '<devenv:data-secret>',
      index,
      doc: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'devenv-data', namespace },
        // By default nothing listens there: those apps only need the variable.
        stringData: { DATABASE_URL: databaseUrl },
      },
    });
  });
  return renderManifests({ docs, images, dataSecret: 'devenv-data', ...opts });
}

async function serviceGet(client: KubeClient, namespace: string, name: string, path: string) {
  const svc = await client.request<{ spec: { clusterIP: string; ports: Array<{ port: number }> } }>(
    'GET',
    `/api/v1/namespaces/${namespace}/services/${name}`,
  );
  const url = `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}${path}`;
  // Until kube-proxy has programmed a Service created a moment ago, its ClusterIP leads to
  // the default route (refused, or another server's 404): ask until a 200 answer or 30 s
  // pass; the last answer is returned either way. Every path asked for here answers 200.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000), headers: { connection: 'close' } });
      const answer = { status: res.status, body: await res.text() };
      if (answer.status === 200 || Date.now() > deadline) return answer;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const kinds = (objects: RenderedObject[]) =>
  objects.map((o) => `${o.id.kind} ${o.id.namespace}/${o.id.name}`).sort();

describe.skipIf(!kubeconfig)('fixtures on the real test cluster', () => {
  let client: KubeClient;
  const cleanup: Array<{ ns: string; project: string; env: DeployEnv }> = [];
  const pushed: string[] = [];
  const stopServers: Array<() => Promise<void>> = [];

  beforeAll(() => {
    client = connect({ kubeconfig: kubeconfig as string });
  });

  afterAll(async () => {
    for (const c of cleanup) {
      await deleteNamespace(client, c.ns, { project: c.project, env: c.env }).catch(() => undefined);
    }
    for (const ref of pushed) await run('docker', ['rmi', ref]).catch(() => undefined);
    for (const stop of stopServers) await stop();
  }, 120_000);

  it('pyapp: builds, deploys and answers with its version; DATABASE_URL arrives through envFrom', async () => {
    const dir = join(root, 'fixtures', 'pyapp');
    const { config } = loadConfig(join(dir, 'devenv.yaml'));
    const images = await buildImages(dir, config);
    pushed.push(...Object.values(images));
    const project = `fx-pyapp-${runId}`;
    const ns = `fx-pyapp-${runId}`;
    cleanup.push({ ns, project, env: 'dev' });

    // A real Postgres beside the cluster, published where pods reach this machine (the node's
    // address), as devenv's database is for an existing cluster: the app must answer db=ok.
    const db = await startSharedServers(client, { label: `fx-pyapp-${runId}` });
    stopServers.push(db.stop);
    const url = new URL(db.adminUrl);
    url.hostname = db.env.DEVENV_PRERELEASE_DATABASE_HOST!;
    const rendered = await renderFixture(
      dir,
      config,
      images,
      { project, env: 'dev', defaultNamespace: ns },
      [ns],
      url.toString(),
    );
    expect(kinds(rendered.objects)).toEqual([
      `Deployment ${ns}/web`,
      `Ingress ${ns}/web`,
      `Secret ${ns}/devenv-data`,
      `Service ${ns}/web`,
    ]);
    expect(rendered.imagesUsed).toEqual(['pyapp/web']);

    const first = await reconcile({ client, objects: rendered.objects, project, env: 'dev' });
    expect(first).toMatchObject({ created: 4, conflicts: [] });
    await waitForRollouts({ client, objects: rendered.objects, timeoutMs: 180_000 });

    const version = readFileSync(join(dir, 'app', 'version.py'), 'utf8').match(/VERSION = "(.+)"/)![1];
    const res = await serviceGet(client, ns, 'web', '/');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(new RegExp(`^pyapp ${version!.replace(/\./g, '\\.')} db=ok$`, 'm'));
    expect((await serviceGet(client, ns, 'web', '/healthz')).status).toBe(200);

    const again = await reconcile({ client, objects: rendered.objects, project, env: 'dev' });
    expect(again.writes).toBe(0);
  }, 400_000);

  it('b2b (dev): three namespaces, the network policy in back, api reaches the Redis cache', async () => {
    // A copy whose namespaces are unique to this run (the test cluster is shared).
    const dir = mkdtempSync(join(tmpdir(), 'devenv-fx-b2b-'));
    cpSync(join(root, 'fixtures', 'b2b'), dir, { recursive: true });
    const rename = (n: string) => `${n}-${runId}`;
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    for (const f of walk(join(dir, 'k8s'))) {
      let text = readFileSync(f, 'utf8');
      for (const n of ['back', 'b2b', 'front-web']) {
        text = text
          .replace(new RegExp(`(namespace|  name): ${n}\\n`, 'g'), `$1: ${rename(n)}\n`)
          .replace(new RegExp(`\\.${n}\\.svc\\.`, 'g'), `.${rename(n)}.svc.`);
      }
      writeFileSync(f, text);
    }
    try {
      const { config } = loadConfig(join(dir, 'devenv.yaml'));
      const images = await buildImages(dir, config);
      pushed.push(...Object.values(images));
      const project = `fx-b2b-${runId}`;
      const [back, b2b, front] = ['back', 'b2b', 'front-web'].map(rename) as [string, string, string];
      cleanup.push(...[back, b2b, front].map((ns) => ({ ns, project, env: 'dev' as const })));

      const rendered = await renderFixture(
        dir,
        config,
        images,
        { project, env: 'dev', defaultNamespace: back },
        [back, b2b, front],
      );
      expect(rendered.namespaces).toEqual([b2b, back, front].sort());
      expect(kinds(rendered.objects)).toEqual(
        [
          `Namespace /${back}`,
          `Secret ${back}/devenv-data`,
          `Secret ${b2b}/devenv-data`,
          `Secret ${front}/devenv-data`,
          `Namespace /${b2b}`,
          `Namespace /${front}`,
          `NetworkPolicy ${back}/allow-from-all-namespaces`,
          `Deployment ${back}/api`,
          `Service ${back}/api`,
          `Deployment ${back}/cache`,
          `Service ${back}/cache`,
          `Deployment ${b2b}/portal`,
          `Service ${b2b}/portal`,
          `Ingress ${b2b}/portal`,
          `Deployment ${front}/storefront`,
          `Service ${front}/storefront`,
          `Ingress ${front}/storefront`,
        ].sort(),
      );
      expect(rendered.imagesUsed).toEqual(['b2b/api', 'b2b/cache', 'b2b/portal', 'b2b/storefront']);

      const first = await reconcile({ client, objects: rendered.objects, project, env: 'dev' });
      expect(first).toMatchObject({ created: 17, updated: 0, conflicts: [] });
      const rollout = await waitForRollouts({ client, objects: rendered.objects, timeoutMs: 240_000 });
      expect(rollout.ready.sort()).toEqual(
        [
          `Deployment ${back}/api`,
          `Deployment ${back}/cache`,
          `Deployment ${b2b}/portal`,
          `Deployment ${front}/storefront`,
        ].sort(),
      );

      // The api reaches its cache once kube-proxy has programmed the cache's new ClusterIP.
      expect(await cacheAnswer(client, back)).toBe('PONG');
      const info1 = JSON.parse((await serviceGet(client, back, 'api', '/api/info')).body);
      expect(info1).toMatchObject({
        service: 'api',
        version: '1.0.0',
        cache: 'PONG',
        // DATABASE_URL arrived (nothing listens at that address in this test).
        database: expect.objectContaining({ name: 'app', reachable: false }),
      });
      const info2 = JSON.parse((await serviceGet(client, back, 'api', '/api/info')).body);
      expect(info2.hits).toBe(info1.hits + 1);

      const again = await reconcile({ client, objects: rendered.objects, project, env: 'dev' });
      expect(again).toMatchObject({ writes: 0, unchanged: 17 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 500_000);

  it('b2b (prerelease): everything in one labelled namespace, the source namespaces dropped', async () => {
    const dir = join(root, 'fixtures', 'b2b');
    const { config } = loadConfig(join(dir, 'devenv.yaml'));
    const images = await buildImages(dir, config); // cached layers: fast
    pushed.push(...Object.values(images));
    const project = `fx-b2bpre-${runId}`;
    const ns = `devenv-pre-${runId}`;
    cleanup.push({ ns, project, env: 'prerelease' });

    const rendered = await renderFixture(
      dir,
      config,
      images,
      { project, env: 'prerelease', namespace: ns, ingressDomain: config.prerelease.ingressDomain! },
      [ns],
    );
    // The source Namespaces, and the integration-test Job (`prerelease test` runs it).
    expect(rendered.dropped.map((d) => `${d.kind}/${d.name}`).sort()).toEqual([
      'Job/itest',
      'Namespace/b2b',
      'Namespace/back',
      'Namespace/front-web',
    ]);
    expect(rendered.namespaces).toEqual([ns]);
    expect(new Set(rendered.objects.map((o) => o.id.namespace))).toEqual(new Set([ns]));

    const r = await reconcile({
      client,
      objects: rendered.objects,
      project,
      env: 'prerelease',
      namespaces: [ns],
      namespaceLabels: { 'dev.devenv/expires': '2099-01-01T00-00-00Z' },
    });
    expect(r).toMatchObject({ created: 12, conflicts: [] });
    const live = await client.request<{ metadata: { labels: Record<string, string> } }>(
      'GET',
      `/api/v1/namespaces/${ns}`,
    );
    expect(live.metadata.labels).toMatchObject({
      ...ownerLabels(project, 'prerelease'),
      'dev.devenv/expires': '2099-01-01T00-00-00Z',
    });
    await waitForRollouts({ client, objects: rendered.objects, timeoutMs: 240_000 });
    expect(await cacheAnswer(client, ns)).toBe('PONG');
    expect(
      (await reconcile({ client, objects: rendered.objects, project, env: 'prerelease', namespaces: [ns] }))
        .writes,
    ).toBe(0);
  }, 500_000);
});

/**
 * The API's view of its cache. A Service created a moment ago may not be programmed by
 * kube-proxy yet (its ClusterIP then leads nowhere useful), so ask until it answers PONG
 * or 30 s pass; the last answer is returned either way.
 */
async function cacheAnswer(client: Parameters<typeof serviceGet>[0], ns: string): Promise<string> {
  let last = '';
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    last = String(JSON.parse((await serviceGet(client, ns, 'api', '/api/info')).body).cache);
    if (last === 'PONG') return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

/**
 * `devenv` on real k3d, through the CLI only, as a user runs it: project A (fixtures/pyapp)
 * goes through up → second up → status → reload → down/up with its data → destroy; while
 * A runs, project B (fixtures/b2b) is created through a `kill -9` during cluster
 * creation, comes up beside A, and is destroyed without touching A. The node image is real
 * k3s where the engine has it, else the k3s-compatible stand-in (test/k3d/build.sh; the
 * run's summary line says which).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import {
  docker,
  dockerNames,
  getVia,
  type K3dProject,
  kubectl,
  prepareK3dProject,
  until,
} from '../support/e2e.ts';
import { DEVENV } from '../support/fixture.ts';

const e2e = inject('e2e');
const suffix = process.pid.toString(36);
const kind = e2e?.standin ? 'k3s-compatible stand-in node image, not k3s' : 'real k3s';

describe.skipIf(e2e === null)(`devenv on real k3d (${kind})`, () => {
  let a: K3dProject;
  let b: K3dProject;
  const foreign = `e2e-foreign-${suffix}`;

  beforeAll(async () => {
    if (!e2e) return;
    // pyapp with an object store beside its database (set through configuration), so down
    // and up are checked to keep objects as well as rows.
    a = await prepareK3dProject('pyapp', e2e, `e2ea${suffix}`, {
      objectStore: { image: 'devenv-test/minio:latest', buckets: ['e2e-uploads'] },
    });
    b = await prepareK3dProject('b2b', e2e, `e2eb${suffix}`);
    // Objects WITHOUT devenv's labels: destroy must leave them.
    docker(['volume', 'create', foreign]);
    docker(['network', 'create', foreign]);
    docker(['create', '--name', foreign, e2e.pythonImage, 'true']);
  });
  afterAll(() => {
    for (const p of [a, b]) if (p) p.run(['destroy', '--yes']);
    for (const args of [
      ['rm', '-f', '-v', foreign],
      ['volume', 'rm', '-f', foreign],
      ['network', 'rm', foreign],
    ])
      try {
        docker(args);
      } catch {
        // already gone: the destroy test reports it
      }
  });

  const status = (p: K3dProject) => {
    const r = p.run(['status', '--json']);
    expect(r.code, r.out).toBe(0);
    return JSON.parse(r.stdout);
  };
  const currentContext = (p: K3dProject) => YAML.parse(readFileSync(p.kubeconfig, 'utf8'))['current-context'];
  const answers = (p: K3dProject, host: string, want: (body: string) => boolean, ms = 60_000) =>
    until(ms, async () => {
      const g = await getVia(p.ports.http, host);
      return g.status === 200 && want(g.body) ? g : undefined;
    });

  it('a host port the config needs is taken: up exits non-zero before creating anything, naming port and holder', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(a.ports.http, '0.0.0.0', () => r()));
    try {
      const r = a.run(['up', '--no-tui', '--no-watch']);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(`host port ${a.ports.http}`);
      expect(r.out).toContain(`process ${process.pid}`);
      expect(r.out).toContain('cluster.httpPort');
      expect(dockerNames('network', `label=dev.devenv/project=${a.project}`)).toEqual([]);
      expect(dockerNames('container', `label=k3d.cluster=${a.project}`)).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it('up creates 1 server + 2 agents, pushes through the k3d registry, and the app answers through the load balancer', async () => {
    const r = a.run(['up', '--no-tui', '--no-watch']);
    expect(r.code, r.out).toBe(0);
    const nodes = JSON.parse(kubectl(a, ['get', 'nodes', '-o', 'json'])).items as Array<{
      metadata: { name: string };
    }>;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual([
      `k3d-${a.project}-agent-0`,
      `k3d-${a.project}-agent-1`,
      `k3d-${a.project}-server-0`,
    ]);
    const pods = JSON.parse(
      kubectl(a, ['get', 'pods', '-n', a.project, '-l', 'app.kubernetes.io/name=web', '-o', 'json']),
    ).items;
    expect(pods).toHaveLength(1);
    expect(pods[0].spec.containers[0].image).toMatch(new RegExp(`^localhost:${a.ports.registry}/pyapp/web:`));
    expect(pods[0].status.containerStatuses[0].ready).toBe(true);
    // The registry the host pushed to is the one the node pulled from (through the mirror).
    const catalog = (await (await fetch(`http://127.0.0.1:${a.ports.registry}/v2/_catalog`)).json()) as {
      repositories: string[];
    };
    expect(catalog.repositories).toContain('pyapp/web');
    const res = await answers(a, 'pyapp.localhost', () => true);
    expect(res?.body).toMatch(/1\.0\.0/);
    expect(currentContext(a)).toBe('users-context');
    // Every port the cluster publishes on the host listens on loopback only (docker's view).
    const published = [
      ...dockerNames('container', `label=k3d.cluster=${a.project}`),
      `k3d-${a.project}-registry`,
    ];
    const bindings = [...new Set(published)].flatMap((c) =>
      docker(['port', c])
        .split('\n')
        .filter(Boolean)
        .map((l) => `${c} ${l}`),
    );
    expect(bindings.length).toBeGreaterThanOrEqual(4); // HTTP, HTTPS, Kubernetes API, registry
    for (const b of bindings) expect(b).toMatch(/-> 127\.0\.0\.1:\d+$/);
  });

  it('a second up makes no write', () => {
    const r = a.run(['up', '--no-tui', '--no-watch']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/nothing to change/);
    expect(r.out).not.toMatch(/\b[1-9]\d* (created|updated|deleted)\b/);
  });

  it('status --json reports the k3d cluster and every workload', () => {
    const s = status(a);
    expect(s.cluster.state).toBe('running');
    const web = s.services.find((x: { name: string }) => x.name === 'web');
    expect(web.workloads.length).toBeGreaterThan(0);
    expect(web.workloads.every((w: { ready: boolean }) => w.ready)).toBe(true);
    expect(currentContext(a)).toBe('users-context');
  });

  it('reload: an edit rebuilds, pushes through the k3d registry and rolls out; the new version answers', async () => {
    const file = join(a.dir, 'app', 'version.py');
    const text = readFileSync(file, 'utf8');
    const next = text.replace(/VERSION\s*=\s*"[^"]*"/, `VERSION = "e2e-${suffix}"`);
    expect(next).not.toBe(text);
    writeFileSync(file, next);
    const r = a.run(['reload', 'web']);
    expect(r.code, r.out).toBe(0);
    const res = await answers(a, 'pyapp.localhost', (body) => body.includes(`e2e-${suffix}`), 30_000);
    expect(res?.body).toContain(`e2e-${suffix}`);
  });

  it('kill -9 of up during cluster creation, then up again: completes, no duplicates', async () => {
    const child = spawn(process.execPath, [DEVENV, '-c', b.file, 'up', '--no-tui', '--no-watch'], {
      env: b.env,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    // Killed once k3d has started creating the cluster's containers.
    const seen = await until(120_000, () =>
      dockerNames('container', `label=k3d.cluster=${b.project}`).length > 0 ? true : undefined,
    );
    expect(seen).toBe(true);
    child.kill('SIGKILL');
    await exited;
    const r = b.run(['up', '--no-tui', '--no-watch']);
    expect(r.code, r.out).toBe(0);
    const names = dockerNames('container', `label=k3d.cluster=${b.project}`);
    expect(names.filter((n) => n.endsWith('-server-0'))).toHaveLength(1);
    expect(names.filter((n) => n.includes('registry'))).toHaveLength(1);
    expect(status(b).cluster.state).toBe('running');
    // The agents run the project's pods, from images pulled through the k3d registry's mirror.
    const pods = JSON.parse(kubectl(b, ['get', 'pods', '-A', '-o', 'json'])).items as Array<{
      spec: { nodeName: string; containers: Array<{ image: string }> };
    }>;
    const onAgents = pods.filter(
      (p) =>
        p.spec.nodeName.includes('-agent-') &&
        p.spec.containers.some((c) => c.image.startsWith(`localhost:${b.ports.registry}/`)),
    );
    expect(onAgents.length, JSON.stringify(pods.map((p) => p.spec.nodeName))).toBeGreaterThan(0);
    const shop = await answers(b, 'shop.b2b.localhost', () => true);
    expect(shop?.status).toBe(200);
  });

  it('two projects side by side: destroy of one leaves the other running', async () => {
    expect(status(a).cluster.state).toBe('running');
    const r = b.run(['destroy', '--yes']);
    expect(r.code, r.out).toBe(0);
    expect(dockerNames('container', `label=k3d.cluster=${b.project}`)).toEqual([]);
    expect(status(a).cluster.state).toBe('running');
    expect((await getVia(a.ports.http, 'pyapp.localhost')).status).toBe(200);
  });

  it('down stops the cluster and the data containers and keeps the data; the next up reads it back', async () => {
    const env = a.run(['env', '--json', '--show-secrets']);
    expect(env.code, env.out).toBe(0);
    const url = JSON.parse(env.stdout).DATABASE_URL as string;
    const write = new pg.Client({ connectionString: url });
    await write.connect();
    await write.query('CREATE TABLE IF NOT EXISTS e2e_keep (v text)');
    await write.query('INSERT INTO e2e_keep VALUES ($1)', [`row-${suffix}`]);
    await write.end();
    const vars = JSON.parse(env.stdout) as Record<string, string>;
    const s3 = new S3Client({
      endpoint: vars.S3_ENDPOINT,
      region: vars.S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: vars.S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: vars.S3_SECRET_ACCESS_KEY ?? '',
      },
    });
    await s3.send(new PutObjectCommand({ Bucket: 'e2e-uploads', Key: 'kept.txt', Body: `object-${suffix}` }));

    const d = a.run(['down']);
    expect(d.code, d.out).toBe(0);
    expect(status(a).cluster.state).toBe('stopped');
    expect(
      docker(['ps', '--filter', `label=dev.devenv/project=${a.project}`, '--format', '{{.Names}}']),
    ).toBe('');
    expect(currentContext(a)).toBe('users-context');

    const u = a.run(['up', '--no-tui', '--no-watch']);
    expect(u.code, u.out).toBe(0);
    const read = new pg.Client({ connectionString: url });
    await read.connect();
    const rows = await read.query('SELECT v FROM e2e_keep');
    await read.end();
    expect(rows.rows.map((x) => x.v)).toContain(`row-${suffix}`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'e2e-uploads', Key: 'kept.txt' }));
    expect(await got.Body?.transformToString()).toBe(`object-${suffix}`);
    const res = await answers(a, 'pyapp.localhost', (body) => body.includes(`e2e-${suffix}`));
    expect(res?.body).toContain(`e2e-${suffix}`);
  });

  it('destroy --yes leaves nothing of the project, and everything that is not its own', () => {
    const r = a.run(['destroy', '--yes']);
    expect(r.code, r.out).toBe(0);
    for (const filter of [`label=dev.devenv/project=${a.project}`, `label=k3d.cluster=${a.project}`]) {
      expect(dockerNames('container', filter)).toEqual([]);
      expect(dockerNames('volume', filter)).toEqual([]);
      expect(dockerNames('network', filter)).toEqual([]);
    }
    expect(docker(['images', '--filter', `label=dev.devenv/project=${a.project}`, '-q'])).toBe('');
    const kc = YAML.parse(readFileSync(a.kubeconfig, 'utf8'));
    expect(kc['current-context']).toBe('users-context');
    const entries = [...(kc.contexts ?? []), ...(kc.clusters ?? []), ...(kc.users ?? [])];
    expect(entries.map((x: { name: string }) => x.name).filter((n: string) => n.includes(a.project))).toEqual(
      [],
    );
    expect(listOrEmpty(join(a.stateDir, 'projects', a.project))).toEqual([]);
    // What the test created without devenv's labels survives.
    expect(dockerNames('container', `name=${foreign}`)).toEqual([foreign]);
    expect(dockerNames('volume', `name=${foreign}`)).toEqual([foreign]);
    expect(dockerNames('network', `name=${foreign}`)).toEqual([foreign]);
    expect(status(a).cluster.state).toBe('absent');
  });
});

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * `devenv up` end to end on the real test cluster, through the CLI, the way a user with an
 * existing dev cluster runs it: the context is allow-listed in devenv.yaml and named with
 * --context. Fixtures are copied to a temp dir and their config adjusted (local base and
 * database images, a free database port) through configuration only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliEnv, prepareFixture, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const CONTEXT = TEST_CONTEXT;

async function prepare(fixture: string, project: string): Promise<string> {
  return (await prepareFixture(fixture, { project })).dir;
}

function devenv(dir: string, args: string[], stateDir: string) {
  return runDevenv(join(dir, 'devenv.yaml'), args, cliEnv(kubeconfig ?? '', stateDir));
}

function kubectl(args: string[]): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig!, ...args], { encoding: 'utf8' });
}

/**
 * GET until a 200 answer (30 s at most; the last answer is returned). Until kube-proxy has
 * programmed a new Service, its ClusterIP leads to the default route; a fresh connection
 * per attempt (connection: close) so a stale one is not reused.
 */
async function httpGet(url: string): Promise<string> {
  let last = 'no answer';
  for (let i = 0; i < 60; i++) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000), headers: { connection: 'close' } });
      last = `${r.status} ${await r.text()}`;
      if (r.status === 200) return last;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

const UP = ['up', '--no-watch', '--context', CONTEXT];

describe.skipIf(!kubeconfig)('devenv up on the real test cluster: pyapp', () => {
  const project = `pyapp${Date.now().toString(36).slice(-5)}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  let dir = '';

  beforeAll(async () => {
    dir = await prepare('pyapp', project);
  });
  afterAll(() => {
    if (dir) devenv(dir, ['destroy', '--yes', '--context', CONTEXT], state);
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('comes up: data service, build, apply, rollout; the Service answers', async () => {
    const r = devenv(dir, UP, state);
    expect(r.out).toContain('devenv is up');
    expect(r.code, r.out).toBe(0);
    const ip = kubectl(['-n', project, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const body = await httpGet(`http://${ip}:80/`);
    expect(body).toMatch(/^200 /);
    // The pod reached the database container through cluster.dataHost (published there
    // because the target is an existing cluster), and up said so.
    expect(body).toMatch(/ db=ok$/m);
    expect(r.out).toMatch(
      /data ports published on 127\.0\.0\.1 and \d+\.\d+\.\d+\.\d+ \(cluster\.dataHost\)/,
    );
    const labels = JSON.parse(kubectl(['-n', project, 'get', 'deploy', 'web', '-o', 'json'])).metadata.labels;
    expect(labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': project,
      'dev.devenv/env': 'dev',
    });
    // The data Secret is there, attached through envFrom.
    expect(kubectl(['-n', project, 'get', 'secret', 'devenv-data', '-o', 'name']).trim()).toBe(
      'secret/devenv-data',
    );
  });

  it('a second up makes no write to the API and changes no container', () => {
    const before = execFileSync(
      'docker',
      ['ps', '-q', '--filter', `label=dev.devenv/project=${project}`, '--format', '{{.ID}} {{.CreatedAt}}'],
      {
        encoding: 'utf8',
      },
    );
    const r = devenv(dir, UP, state);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/0 created, 0 updated/);
    expect(r.out).toContain('nothing to change');
    const after = execFileSync(
      'docker',
      ['ps', '-q', '--filter', `label=dev.devenv/project=${project}`, '--format', '{{.ID}} {{.CreatedAt}}'],
      {
        encoding: 'utf8',
      },
    );
    expect(after).toBe(before);
  });

  it('leaves an unlabelled object of the same name alone and reports it', () => {
    kubectl(['-n', project, 'create', 'configmap', 'settings', '--from-literal=owner=someone-else']);
    writeFileSync(
      join(dir, 'k8s', 'settings.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  owner: devenv\n',
    );
    const r = devenv(dir, UP, state);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/left alone: ConfigMap .*settings/);
    expect(kubectl(['-n', project, 'get', 'cm', 'settings', '-o', 'jsonpath={.data.owner}'])).toBe(
      'someone-else',
    );
    unlinkSync(join(dir, 'k8s', 'settings.yaml'));
  });

  it('removing a manifest prunes exactly that object', () => {
    writeFileSync(
      join(dir, 'k8s', 'extra.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: "1"\n',
    );
    expect(devenv(dir, UP, state).code).toBe(0);
    expect(kubectl(['-n', project, 'get', 'cm', 'extra', '-o', 'name']).trim()).toBe('configmap/extra');
    unlinkSync(join(dir, 'k8s', 'extra.yaml'));
    const r = devenv(dir, UP, state);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/1 pruned/);
    expect(
      spawnSync('kubectl', ['--kubeconfig', kubeconfig!, '-n', project, 'get', 'cm', 'extra']).status,
    ).not.toBe(0);
    // Everything else is still there, including the unlabelled ConfigMap.
    expect(kubectl(['-n', project, 'get', 'deploy', 'web', '-o', 'name']).trim()).toBe('deployment.apps/web');
    expect(kubectl(['-n', project, 'get', 'cm', 'settings', '-o', 'name']).trim()).toBe('configmap/settings');
  });

  it('a bad manifest gives file, object and reason, exit 2, and changes nothing', () => {
    writeFileSync(
      join(dir, 'k8s', 'broken.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n',
    );
    const r = devenv(dir, UP, state);
    unlinkSync(join(dir, 'k8s', 'broken.yaml'));
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/broken\.yaml:\d+:\d+/);
    expect(r.out).toMatch(/name/);
  });

  it('refuses a context that is not allow-listed', () => {
    const r = devenv(dir, ['up', '--no-watch', '--context', 'prod-eu'], state);
    expect(r.code).toBe(2);
    expect(r.out).toContain('refusing to deploy to kube context "prod-eu"');
  });
});

describe.skipIf(!kubeconfig)(
  'devenv up on the real test cluster: b2b (three namespaces, cache, network policy)',
  () => {
    const project = 'b2b';
    const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
    let dir = '';
    beforeAll(async () => {
      dir = await prepare('b2b', project);
    });
    afterAll(() => {
      if (dir) devenv(dir, ['destroy', '--yes', '--context', CONTEXT], state);
      rmSync(dir, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    });

    it('comes up in namespaces b2b, back and front-web; the Services answer', async () => {
      const r = devenv(dir, UP, state);
      expect(r.code, r.out).toBe(0);
      for (const ns of ['b2b', 'back', 'front-web']) {
        const svcs = JSON.parse(kubectl(['-n', ns, 'get', 'svc', '-o', 'json'])).items as Array<{
          metadata: { name: string };
          spec: { clusterIP: string; ports: Array<{ port: number }> };
        }>;
        expect(svcs.length).toBeGreaterThan(0);
        const web = svcs.find((s) => s.spec.ports.some((p) => p.port === 80));
        if (web) expect(await httpGet(`http://${web.spec.clusterIP}:80/`)).toMatch(/^200 /);
      }
      expect(kubectl(['-n', 'back', 'get', 'networkpolicy', '-o', 'name'])).toContain('networkpolicy');
      // The integration-test Job is built for, but not run by, a dev up.
      expect(r.out).toContain('Job itest not applied: integration tests');
      expect(kubectl(['-n', 'b2b', 'get', 'jobs', '-o', 'name']).trim()).toBe('');
    });

    it('a second up makes no write', () => {
      const r = devenv(dir, UP, state);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('nothing to change');
    });
  },
);

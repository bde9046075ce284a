// The full prerelease cycle on the REAL test cluster (API server, controllers, scheduler,
// kubelet + containerd), through the real CLI: up (image built and pushed to the cluster's
// registry) → pods Ready in the prefixed, labelled namespace → test Job passes → artifacts
// (JUnit, pod logs, events, status.json) → down → namespace gone. Then a failing test Job:
// non-zero exit, artifacts still collected, namespace still removed by down.
//
// Fixture: test/fixtures/prerelease (FROM devenv-test/python:3.11; context devenv-test).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { readObject } from '../../src/kube/objects.ts';
import { expectTestStatus } from '../support/cluster-project.ts';
import { readLive, TEST_REGISTRY as registry } from '../support/kube.ts';

const kubeconfig = inject('kubeconfig');
const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'prerelease');
const runId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function devenv(config: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'devenv'), '-c', join(fixture, config), ...args], {
      cwd: fixture,
      env: { ...process.env, NO_COLOR: '1', USER: 'kube-test', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const common = () => ['--context', 'devenv-test', '--kubeconfig', kubeconfig as string];
/** `prerelease up --build` of `config` as `name`, its images pushed to the test registry. */
const prUp = (config: string, name: string) =>
  devenv(config, ['prerelease', 'up', ...common(), '--name', name, '--build', '--registry', registry]);
/** `prerelease test` of `config` as `name`, then `args`. */
const prTest = (config: string, name: string, ...args: string[]) =>
  devenv(config, ['prerelease', 'test', ...common(), '--name', name, ...args]);

describe.skipIf(!kubeconfig)('prerelease up → test → down on the real test cluster', () => {
  let client: KubeClient;
  const artifactsRoot = mkdtempSync(join(tmpdir(), 'devenv-prerelease-artifacts-'));
  const passName = `ok-${runId}`;
  const failName = `bad-${runId}`;
  const passNs = `prerelease-${passName}`;
  const failNs = `prerelease-${failName}`;

  beforeAll(() => {
    client = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
  });

  afterAll(async () => {
    for (const ns of [passNs, failNs]) {
      await client?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    }
    rmSync(artifactsRoot, { recursive: true, force: true });
  }, 60_000);

  it('up: builds, pushes and deploys into the prefixed, labelled namespace; pods become Ready', async () => {
    const r = await prUp('devenv.yaml', passName);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`prerelease ${passNs} is up .* 8 created, 0 updated`));

    const ns = await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: passNs });
    expect(ns?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'prfix',
      'dev.devenv/env': 'prerelease',
      'dev.devenv/prerelease': 'true',
    });
    const a = ns?.metadata.annotations ?? {};
    expect(a['dev.devenv/owner']).toBe('user:kube-test');
    expect(a['dev.devenv/commit']).toMatch(/^[0-9a-f]{40}$/);
    const created = Date.parse(a['dev.devenv/created-at'] ?? '');
    expect(Date.parse(a['dev.devenv/expires-at'] ?? '') - created).toBe(2 * 3600_000);
    expect(JSON.parse(a['dev.devenv/images'] ?? '{}')['prfix/web']).toMatch(
      new RegExp(`^${registry.replace(/\./g, '\\.')}/prfix/web:dev-[0-9a-f]+$`),
    );

    const pods = await client.request<{
      items: Array<{
        metadata: { labels: Record<string, string> };
        spec: { containers: Array<{ image: string; envFrom?: unknown }> };
        status: { conditions?: Array<{ type: string; status: string }> };
      }>;
    }>('GET', `/api/v1/namespaces/${passNs}/pods`, { query: { labelSelector: 'app=web' } });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(pod.metadata.labels).toMatchObject({
      'dev.devenv/env': 'prerelease',
      'dev.devenv/project': 'prfix',
    });
    expect(pod.spec.containers[0]!.image).toContain(`${registry}/prfix/web:`);
    // LimitRange defaults reached the pod (the quota requires them).
    expect(pod.spec.containers[0]).toMatchObject({ resources: { limits: { cpu: '500m', memory: '512Mi' } } });

    // devenv's isolation objects exist; the test Job does NOT (up does not run the tests).
    for (const [apiVersion, kind, name] of [
      ['networking.k8s.io/v1', 'NetworkPolicy', 'devenv-isolation'],
      ['v1', 'ResourceQuota', 'devenv-quota'],
      ['v1', 'LimitRange', 'devenv-limits'],
      ['v1', 'ServiceAccount', 'devenv-tests'],
      ['rbac.authorization.k8s.io/v1', 'Role', 'devenv-tests'],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'devenv-tests'],
    ] as const) {
      const o = await readObject(client, { apiVersion, kind, namespace: passNs, name });
      expect(o?.metadata.labels?.['app.kubernetes.io/managed-by'], `${kind} ${name}`).toBe('devenv');
    }
    expect(
      await readObject(client, { apiVersion: 'batch/v1', kind: 'Job', namespace: passNs, name: 'itest' }),
    ).toBeUndefined();
  });

  it('up again: nothing to change (same engine, reconciled)', async () => {
    const r = await prUp('devenv.yaml', passName);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 created, 0 updated, 8 unchanged, 0 pruned');
    expect(r.stdout).toContain('apply skip');
  });

  it('test: the Job passes; JUnit, pod logs, events and status.json are collected; exit 0', async () => {
    const dir = join(artifactsRoot, 'pass');
    const junit = join(artifactsRoot, 'pass-junit.xml');
    const r = await prTest('devenv.yaml', passName, '--artifacts', dir, '--junit', junit, '--timeout', '5m');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`tests PASSED in ${passNs}`);
    expect(r.stdout).toContain('2 tests, 0 failures');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites tests="2" failures="0"');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toBe(xml);
    const status = expectTestStatus(dir, {
      namespace: passNs,
      mode: 'job',
      result: 'passed',
      exitCode: 0,
      junit: { tests: 2, failures: 0 },
      jobs: [{ name: 'itest', outcome: 'passed', succeeded: 1 }],
    });
    const podDirs = readdirSync(join(dir, 'pods'));
    expect(podDirs.some((p) => p.startsWith('web-'))).toBe(true);
    const itestPod = podDirs.find((p) => p.startsWith('itest-'))!;
    expect(readFileSync(join(dir, 'pods', itestPod, 'itest.log'), 'utf8')).toContain(
      'PASS web greets as expected',
    );
    const webPod = podDirs.find((p) => p.startsWith('web-'))!;
    expect(readFileSync(join(dir, 'pods', webPod, 'web.log'), 'utf8')).toContain('web listening on 8080');
    const events = readFileSync(join(dir, 'events.txt'), 'utf8');
    expect(events).toMatch(/Scheduled|Pulled|Started|SuccessfulCreate/);
    expect(JSON.parse(readFileSync(join(dir, 'events.json'), 'utf8')).length).toBeGreaterThan(0);
    expect(status.files).toEqual(
      expect.arrayContaining(['junit.xml', 'events.txt', 'events.json', 'status.json']),
    );
  });

  it('test again: the previous Job is replaced, not reused', async () => {
    const before = await readLive(client, 'batch/v1', 'Job', passNs, 'itest');
    const dir = join(artifactsRoot, 'pass2');
    const r = await prTest('devenv.yaml', passName, '--artifacts', dir);
    expect(r.code).toBe(0);
    const after = await readLive(client, 'batch/v1', 'Job', passNs, 'itest');
    expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
    // Only this run's test pod is left.
    expect(readdirSync(join(dir, 'pods')).filter((p) => p.startsWith('itest-'))).toHaveLength(1);
  });

  it('down: the namespace is gone', async () => {
    const r = await devenv('devenv.yaml', ['prerelease', 'down', ...common(), '--name', passName]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deleted namespace ${passNs}`);
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: passNs })).toBeUndefined();
    const again = await devenv('devenv.yaml', ['prerelease', 'down', ...common(), '--name', passName]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`no namespace ${passNs}`);
  });

  it('a failing test Job: exit 1, artifacts still collected, namespace still removed by down', async () => {
    const up = await prUp('devenv.failing.yaml', failName);
    expect(up.code).toBe(0);
    const dir = join(artifactsRoot, 'fail');
    const junit = join(artifactsRoot, 'fail-junit.xml');
    const r = await prTest('devenv.failing.yaml', failName, '--artifacts', dir, '--junit', junit);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`tests FAILED in ${failNs}`);
    expect(r.stdout).toContain('2 tests, 1 failures');
    expect(readFileSync(junit, 'utf8')).toContain("expected 'goodbye'");
    expectTestStatus(dir, {
      result: 'failed',
      exitCode: 1,
      jobs: [{ name: 'itest', outcome: 'failed' }],
    });
    const itestPod = readdirSync(join(dir, 'pods')).find((p) => p.startsWith('itest-'))!;
    expect(readFileSync(join(dir, 'pods', itestPod, 'itest.log'), 'utf8')).toContain(
      'FAIL web greets as expected',
    );
    expect(existsSync(join(dir, 'events.txt'))).toBe(true);

    const down = await devenv('devenv.failing.yaml', ['prerelease', 'down', ...common(), '--name', failName]);
    expect(down.code).toBe(0);
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: failNs })).toBeUndefined();
  });

  it('a local test command gets the endpoints in its environment and writes $DEVENV_JUNIT', async () => {
    const up = await prUp('devenv.yaml', passName);
    expect(up.code).toBe(0);
    const dir = join(artifactsRoot, 'local');
    const r = await prTest(
      'devenv.yaml',
      passName,
      '--artifacts',
      dir,
      '--command',
      'echo "ns=$PRERELEASE_NAMESPACE url=$DEVENV_URL_WEB"; python3 app/itest.py',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`ns=${passNs} url=http://\\d+\\.\\d+\\.\\d+\\.\\d+:80`));
    expectTestStatus(dir, {
      mode: 'command',
      result: 'passed',
      junit: { tests: 2, failures: 0 },
    });
    expect(readFileSync(join(dir, 'test-output.log'), 'utf8')).toContain('PASS web answers healthz');
    const down = await devenv('devenv.yaml', ['prerelease', 'down', ...common(), '--name', passName]);
    expect(down.code).toBe(0);
  });
});

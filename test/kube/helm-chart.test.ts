/**
 * A Helm chart as a service's manifests, on the real test cluster through the real CLI:
 * test/fixtures/helm-b2b (fixtures/b2b's storefront as a chart with production values and
 * dev overrides) rendered by the real helm (built from its Go module by
 * test/tools/build.sh; under CI=true a missing helm fails this file), then through devenv's
 * own render and apply:
 *   up → the chart's objects in the release namespace with the built image, devenv's
 *        labels and the dev values; the pre-install hook Job rendered; the test hook named
 *   up again → no write
 *   prerelease up → the same chart in one prefixed namespace; prerelease down → gone.
 * The copy is adjusted through configuration only (offline base image, allow-listed test
 * context, a namespace of its own).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { toolMissing } from '../setup/tier.ts';
import { cliEnv, ROOT, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';
import { testHelm } from '../support/helm.ts';
import { TEST_REGISTRY as registry } from '../support/kube.ts';
import { until } from '../support/poll.ts';

const kubeconfig = inject('kubeconfig');
const helm = testHelm();
if (kubeconfig && !helm)
  toolMissing('helm-chart', 'helm missing: run test/tools/build.sh (builds helm from its Go module)');
const runId = `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 4)}`;
const project = `helmb2b${runId}`;
const ns = `helm-web-${runId}`;
const prName = `helm-${runId}`;
const prNs = `prerelease-${prName}`;
const UP = ['up', '--no-watch', '--context', TEST_CONTEXT];

function kubectl(args: string[]): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig as string, ...args], { encoding: 'utf8' });
}

function getJson(args: string[]): Record<string, unknown> {
  return JSON.parse(kubectl([...args, '-o', 'json'])) as Record<string, unknown>;
}

const at = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );

/** Polls until `fn` returns a value (60 s at most). */
const eventually = <T>(fn: () => T | undefined, what: string): Promise<T> =>
  until(what, fn, { timeoutMs: 60_000, intervalMs: 1000 }) as Promise<T>;

describe.skipIf(!kubeconfig || !helm)('a Helm chart as manifests on the real test cluster', () => {
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const dir = mkdtempSync(join(tmpdir(), 'devenv-helm-b2b-'));
  const file = join(dir, 'devenv.yaml');
  const env = () => ({ ...cliEnv(kubeconfig as string, state), DEVENV_HELM: helm as string });
  const devenv = (args: string[]) => runDevenv(file, args, env());

  beforeAll(() => {
    cpSync(join(ROOT, 'test', 'fixtures', 'helm-b2b'), dir, { recursive: true });
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.set('project', project);
    // The build context stays fixtures/b2b's storefront (the copy moved away from it).
    doc.setIn(['services', 0, 'context'], join(ROOT, 'fixtures', 'b2b', 'storefront'));
    doc.setIn(['cluster', 'allowContexts'], [TEST_CONTEXT]);
    doc.setIn(['services', 0, 'buildArgs', 'BASE_IMAGE'], 'devenv-test/python:3.11');
    doc.setIn(['services', 0, 'manifests', 0, 'namespace'], ns);
    doc.setIn(['prerelease', 'context'], TEST_CONTEXT);
    writeFileSync(file, doc.toString());
  });

  afterAll(() => {
    devenv(['destroy', '--yes', '--context', TEST_CONTEXT]);
    devenv(['prerelease', 'down', '--context', TEST_CONTEXT, '--name', prName]);
    for (const n of [ns, prNs]) {
      try {
        kubectl(['delete', 'namespace', n, '--ignore-not-found', '--wait=false']);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }, 180_000);

  it("up deploys the chart's objects with the built image, devenv's labels and the dev values", async () => {
    const r = devenv(UP);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('devenv is up');
    // The pre-install/pre-upgrade hook Job completed before the Deployment was applied
    // (devenv's must-complete Jobs honour the annotation).
    const jobDone = r.out.indexOf(`rollout:${ns}/storefront-migrate done`);
    expect(jobDone, r.out).toBeGreaterThan(0);
    expect(r.out.indexOf(`apply:Deployment ${ns}/storefront start`)).toBeGreaterThan(jobDone);
    // The test hook is not run, and says so by name.
    expect(r.out).toContain(
      'Pod storefront-test-connection is a Helm test hook (helm.sh/hook), which devenv does not run',
    );

    const deploy = getJson(['-n', ns, 'get', 'deployment', 'storefront']);
    expect(at(deploy, 'spec.replicas')).toBe(1); // values-dev.yaml over production's 3
    expect(at(deploy, 'metadata.labels')).toMatchObject({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': project,
      'dev.devenv/env': 'dev',
      'helm.sh/chart': 'storefront-1.4.2',
      'app.kubernetes.io/instance': 'storefront',
    });
    const c = at(deploy, 'spec.template.spec.containers.0');
    const image = String(at(c, 'image'));
    expect(image).toMatch(/\/b2b\/storefront:/);
    expect(image).not.toContain('registry.example.com');
    expect(image).not.toMatch(/:1\.4\.2$/);
    expect(at(c, 'env')).toContainEqual({ name: 'SHOP_MODE', value: 'dev' });
    expect(at(deploy, 'status.readyReplicas')).toBe(1);

    const svc = getJson(['-n', ns, 'get', 'service', 'storefront']);
    expect(at(svc, 'metadata.labels')).toMatchObject({ 'app.kubernetes.io/managed-by': 'devenv' });
    // Production's Ingress is off in the dev values.
    expect(kubectl(['-n', ns, 'get', 'ingress', '-o', 'name']).trim()).toBe('');

    // The pre-install/pre-upgrade hook Job is rendered and applied with the built image.
    const job = getJson(['-n', ns, 'get', 'job', 'storefront-migrate']);
    expect(at(job, 'metadata.annotations')).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    expect(at(job, 'spec.template.spec.containers.0.image')).toBe(image);
    await eventually(
      () =>
        at(getJson(['-n', ns, 'get', 'job', 'storefront-migrate']), 'status.succeeded') === 1
          ? true
          : undefined,
      'the migrate Job to succeed',
    );
    // The test hook Pod is not there.
    expect(kubectl(['-n', ns, 'get', 'pods', '-o', 'name'])).not.toContain('storefront-test-connection');
  });

  it('a second up writes nothing', () => {
    const r = devenv(UP);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/0 created, 0 updated/);
    expect(r.out).toContain('nothing to change');
  });

  it('prerelease up deploys the chart into one prefixed namespace; down removes it', async () => {
    const up = devenv([
      'prerelease',
      'up',
      '--context',
      TEST_CONTEXT,
      '--name',
      prName,
      '--build',
      '--registry',
      registry,
      '--force',
    ]);
    expect(up.code, up.out).toBe(0);
    expect(up.out).toContain('Pod storefront-test-connection is a Helm test hook');
    const deploy = getJson(['-n', prNs, 'get', 'deployment', 'storefront']);
    expect(at(deploy, 'metadata.labels')).toMatchObject({
      'dev.devenv/project': project,
      'dev.devenv/env': 'prerelease',
    });
    expect(String(at(deploy, 'spec.template.spec.containers.0.image'))).toContain(
      `${registry}/b2b/storefront:`,
    );
    expect(at(deploy, 'status.readyReplicas')).toBe(1);
    expect(
      at(getJson(['-n', prNs, 'get', 'job', 'storefront-migrate']), 'metadata.annotations'),
    ).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
    });

    const down = devenv(['prerelease', 'down', '--context', TEST_CONTEXT, '--name', prName]);
    expect(down.code, down.out).toBe(0);
    expect(down.out).toContain(`deleted namespace ${prNs}`);
    await eventually(
      () =>
        kubectl(['get', 'namespace', prNs, '--ignore-not-found', '-o', 'name']).trim() === ''
          ? true
          : undefined,
      `namespace ${prNs} to be gone`,
    );
  });
});

/**
 * `devenv up` on the real test cluster with a manifest whose kind the cluster lacks (its
 * CRD is not installed; the manifest itself is fine): an environment failure, exit 1 (not
 * 2, "bad input"), naming the kind, its apiVersion and what provides it; none of the
 * manifests is applied.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliEnv, prepareFixture, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const project = `crd-${randomBytes(3).toString('hex')}`;

describe.skipIf(!kubeconfig)('up with a kind whose CRD is not installed', () => {
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const env = cliEnv(kubeconfig ?? '', state);
  let dir = '';
  let file = '';

  beforeAll(async () => {
    ({ dir, file } = await prepareFixture('pyapp', { project }));
    // A Traefik middleware, as a project migrating off ingress-nginx would have.
    writeFileSync(
      join(dir, 'k8s', 'middleware.yaml'),
      'apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata:\n  name: strip\nspec:\n  stripPrefix:\n    prefixes: [/api]\n',
    );
  });
  afterAll(() => {
    if (file) runDevenv(file, ['destroy', '--yes', '--context', TEST_CONTEXT], env);
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('exits 1 naming the kind, its apiVersion and its provider; nothing of the manifests is applied', () => {
    const r = runDevenv(file, ['up', '--no-watch', '--context', TEST_CONTEXT], env);
    expect(r.code, r.out).toBe(1);
    // The apply step's FAILED line and its lines carry it, once (the plain printer, stdout);
    // the closing error line names the step (stderr).
    const message = 'the cluster does not serve a kind the manifests use; nothing was applied.';
    expect(r.out.split(message).length - 1, r.out).toBe(1);
    expect(r.stdout).toMatch(
      /apply \| k8s\/middleware\.yaml#0: Middleware \S+\/strip: the cluster \(context devenv-test\) does not serve kind Middleware \(apiVersion traefik\.io\/v1alpha1\): no CustomResourceDefinition for traefik\.io is installed; install Traefik's CRDs/,
    );
    expect(r.out.split('k8s/middleware.yaml#0: Middleware').length - 1, r.out).toBe(1);
    expect(r.stderr).toContain('error: apply failed (above)');
    const deployments = execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig!, '--context', TEST_CONTEXT, '-n', project, 'get', 'deploy', '-o', 'name'],
      { encoding: 'utf8' },
    ).trim();
    expect(deployments).toBe('');
  });
});

/**
 * `devenv up` on the real test cluster with a manifest whose kind the cluster lacks (its
 * CRD is not installed; the manifest itself is fine): an environment failure, exit 1 (not
 * 2, "bad input"), naming the kind, its apiVersion and what provides it; none of the
 * manifests is applied.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterProject, kubectl } from '../support/cluster-project.ts';
import { TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const project = `crd-${randomBytes(3).toString('hex')}`;

describe.skipIf(!kubeconfig)('up with a kind whose CRD is not installed', () => {
  const p = clusterProject(kubeconfig, 'pyapp', { project });

  beforeAll(() => {
    // A Traefik middleware, as a project migrating off ingress-nginx would have.
    writeFileSync(
      join(p.dir, 'k8s', 'middleware.yaml'),
      'apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata:\n  name: strip\nspec:\n  stripPrefix:\n    prefixes: [/api]\n',
    );
  });

  it('exits 1 naming the kind, its apiVersion and its provider; nothing of the manifests is applied', () => {
    const r = p.devenv(['up', '--no-watch', '--context', TEST_CONTEXT]);
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
    const deployments = kubectl(kubeconfig!, ['-n', project, 'get', 'deploy', '-o', 'name']).trim();
    expect(deployments).toBe('');
  });
});

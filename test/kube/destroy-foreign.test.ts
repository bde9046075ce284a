/**
 * `devenv destroy --yes --context …` on the real test cluster never deletes what devenv did
 * not create. A namespace devenv made goes only when nothing foreign is in it: with a
 * ConfigMap made by kubectl inside, destroy removes devenv's own objects, keeps the
 * namespace (and the ConfigMap), and names both; once that ConfigMap is gone, the next
 * destroy deletes the namespace (so the rule is not "never delete").
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterProject, kubectl as kubectlOn } from '../support/cluster-project.ts';
import { TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const project = `dfor-${randomBytes(3).toString('hex')}`;

describe.skipIf(!kubeconfig)('destroy --context leaves a namespace that holds foreign objects', () => {
  const kubectl = (args: string[]) => kubectlOn(kubeconfig!, args);
  const p = clusterProject(kubeconfig, 'pyapp', {
    project,
    cleanup: () => {
      if (!kubeconfig) return;
      try {
        kubectl(['delete', 'namespace', project, '--ignore-not-found', '--wait=false']);
      } catch {
        // already gone
      }
    },
  });
  /** The namespace's phase, or "gone". */
  const phase = () => {
    try {
      return kubectl(['get', 'namespace', project, '-o', 'jsonpath={.status.phase}']).trim();
    } catch {
      return 'gone';
    }
  };

  beforeAll(() => {
    const up = p.devenv(['up', '--no-watch', '--context', TEST_CONTEXT]);
    if (up.code !== 0) throw new Error(`devenv up failed (${up.code}):\n${up.out.slice(-4000)}`);
  });

  it('keeps the namespace and the ConfigMap made with kubectl; removes devenv own objects; names what it left', () => {
    // Labelled namespace, created by devenv's up.
    expect(kubectl(['get', 'namespace', project, '-o', 'jsonpath={.metadata.labels}'])).toContain(
      '"app.kubernetes.io/managed-by":"devenv"',
    );
    kubectl(['-n', project, 'create', 'configmap', 'mine', '--from-literal=keep=me']);

    const r = p.devenv(['destroy', '--yes', '--context', TEST_CONTEXT]);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/removed \d+ object\(s\) and 0 namespace\(s\) from devenv-test/);
    expect(r.stdout).toContain(
      `kept namespace ${project}: it holds 1 object(s) devenv did not create (ConfigMap ${project}/mine)`,
    );
    expect(phase()).toBe('Active');
    expect(kubectl(['-n', project, 'get', 'configmap', 'mine', '-o', 'jsonpath={.data.keep}'])).toBe('me');
    // devenv's own objects went: the Deployment, the Service, the data Secret.
    const left = kubectl(['-n', project, 'get', 'deploy,svc,secret', '-o', 'name']).trim();
    expect(left).toBe('');
  });

  it('once nothing foreign is left, destroy deletes the namespace', () => {
    kubectl(['-n', project, 'delete', 'configmap', 'mine']);
    const r = p.devenv(['destroy', '--yes', '--context', TEST_CONTEXT]);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/and 1 namespace\(s\) from devenv-test/);
    expect(r.stdout).not.toContain('kept namespace');
    expect(['Terminating', 'gone']).toContain(phase());
  });
});

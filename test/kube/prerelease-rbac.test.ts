// devenv's ClusterRole (src/prerelease/clusterrole.yaml) on the REAL test cluster, whose API
// server authorises with RBAC and enforces ValidatingAdmissionPolicies: applied as shipped,
// then `prerelease up → test → down` run as the ServiceAccount it binds (a token
// kubeconfig), so the role is proved sufficient; and the admission policy is proved to
// stop that identity outside its fence (foreign namespaces, RoleBindings elsewhere).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { connect, KubeApiError, type KubeClient } from '../../src/kube/client.ts';
import { deleteObject, readObject, serverSideApply } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/manifests/types.ts';
import { TEST_REGISTRY as registry } from '../support/kube.ts';
import { until } from '../support/poll.ts';
import { writeTokenKubeconfig } from '../support/token-kubeconfig.ts';

const kubeconfig = inject('kubeconfig');
const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'prerelease');
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const name = `rbac-${runId}`;
const ns = `prerelease-${name}`;
const foreign = `prerelease-foreign-${runId}`;

const manifests = YAML.parseAllDocuments(
  readFileSync(join(root, 'src', 'prerelease', 'clusterrole.yaml'), 'utf8'),
).map((d) => d.toJS() as KubeObject);

function devenv(args: string[], kc: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'devenv'), '-c', join(fixture, 'devenv.yaml'), ...args, '--kubeconfig', kc],
      { cwd: fixture, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

describe.skipIf(!kubeconfig)("devenv's ClusterRole and admission fence on the real test cluster", () => {
  let admin: KubeClient;
  let restricted: KubeClient;
  const dir = mkdtempSync(join(tmpdir(), 'devenv-prerelease-rbac-'));
  const saKubeconfig = join(dir, 'kubeconfig');

  beforeAll(async () => {
    admin = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
    for (const o of manifests) await serverSideApply(admin, o, 'devenv-test-admin');
    await writeTokenKubeconfig({
      admin,
      kubeconfig: kubeconfig as string,
      namespace: 'devenv-system',
      serviceAccount: 'devenv-prerelease',
      file: saKubeconfig,
    });
    restricted = connect({ kubeconfig: saKubeconfig, context: 'devenv-test' });
    await admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name: foreign } } });
    // The policy is enforced once the API server has loaded it.
    await until(
      'the admission policy to be enforced',
      () =>
        restricted
          .request('DELETE', `/api/v1/namespaces/${foreign}`, { query: { dryRun: 'All' } })
          .catch((e: unknown) => e),
      {
        timeoutMs: 30_000,
        accept: (err) => err instanceof KubeApiError && /prerelease-\*/.test(err.message),
      },
    );
  }, 120_000);

  afterAll(async () => {
    for (const n of [ns, foreign])
      await admin?.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
    for (const o of [...manifests].reverse()) {
      await deleteObject(admin, {
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      }).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('the ServiceAccount alone cannot deploy anywhere before devenv grants itself a namespace', async () => {
    const err = await restricted
      .request('GET', '/api/v1/namespaces/default/secrets')
      .catch((e: unknown) => e);
    expect((err as KubeApiError).status).toBe(403);
  });

  it('prerelease up → test → down succeed with only the shipped rights', async () => {
    const up = await devenv(
      ['prerelease', 'up', '--context', 'devenv-test', '--name', name, '--build', '--registry', registry],
      saKubeconfig,
    );
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`access:${ns} done`));
    const rb = await readObject(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      namespace: ns,
      name: 'devenv-deployer',
    });
    expect(rb?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'devenv-prerelease', namespace: 'devenv-system' },
    ]);

    const test = await devenv(
      ['prerelease', 'test', '--name', name, '--artifacts', join(dir, 'artifacts')],
      saKubeconfig,
    );
    expect(test.stdout).toContain('2 tests, 0 failures');
    expect(test.code).toBe(0);

    const gc = await devenv(['prerelease', 'gc', '--dry-run'], saKubeconfig);
    expect(gc.code).toBe(0);

    const down = await devenv(['prerelease', 'down', '--name', name], saKubeconfig);
    expect(down.code).toBe(0);
    expect(await readObject(admin, { apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeUndefined();
  });

  it('the admission fence stops the identity outside prerelease-* namespaces it labelled', async () => {
    const denied = async (p: Promise<unknown>) => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).message).toMatch(/devenv may (only manage|not take over)/);
    };
    // Delete a prefixed namespace without devenv's labels.
    await denied(restricted.request('DELETE', `/api/v1/namespaces/${foreign}`));
    // Label it to then delete it.
    await denied(
      restricted.request('PATCH', `/api/v1/namespaces/${foreign}`, {
        contentType: 'application/merge-patch+json',
        body: {
          metadata: {
            labels: { 'app.kubernetes.io/managed-by': 'devenv', 'dev.devenv/prerelease': 'true' },
          },
        },
      }),
    );
    // Create a namespace outside the prefix.
    await denied(
      restricted.request('POST', '/api/v1/namespaces', {
        body: {
          metadata: {
            name: `elsewhere-${runId}`,
            labels: { 'app.kubernetes.io/managed-by': 'devenv', 'dev.devenv/prerelease': 'true' },
          },
        },
      }),
    );
    // Grant itself deploy rights in a namespace that is not a prerelease one.
    await denied(
      serverSideApply(restricted, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'devenv-deployer', namespace: 'default' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'devenv-prerelease-namespace',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'devenv-prerelease', namespace: 'devenv-system' }],
      }),
    );
    expect(await readObject(admin, { apiVersion: 'v1', kind: 'Namespace', name: foreign })).toBeDefined();
  });
});

/**
 * A kubeconfig that authenticates as a ServiceAccount of the test cluster (a TokenRequest
 * token, 1 h), so a test can run devenv or a client with exactly that account's RBAC
 * rights. Written mode 0600 (it holds a credential).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as YAML from 'yaml';
import type { KubeClient } from '../../src/kube/client.ts';

export async function writeTokenKubeconfig(opts: {
  /** A client with the rights to request tokens (the test cluster's admin). */
  admin: KubeClient;
  /** The admin kubeconfig, whose `devenv-test` cluster entry is reused. */
  kubeconfig: string;
  namespace: string;
  serviceAccount: string;
  /** Where to write it. */
  file: string;
}): Promise<void> {
  const token = await opts.admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${opts.namespace}/serviceaccounts/${opts.serviceAccount}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  const base = YAML.parse(readFileSync(opts.kubeconfig, 'utf8'));
  const cluster = base.clusters.find((c: { name: string }) => c.name === 'devenv-test');
  const user = opts.serviceAccount;
  writeFileSync(
    opts.file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: user, user: { token: token.status.token } }],
      contexts: [{ name: 'devenv-test', context: { cluster: 'devenv-test', user } }],
      'current-context': 'devenv-test',
    }),
    { mode: 0o600 },
  );
}

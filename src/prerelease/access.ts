/**
 * devenv's own rights inside a prerelease namespace. On a shared cluster the CI identity
 * running devenv should hold only the ClusterRole `devenv-prerelease`
 * (src/prerelease/clusterrole.yaml): namespaces, plus `bind` on the ClusterRole
 * `devenv-prerelease-namespace`. Right after creating a namespace, devenv asks the API
 * server whether it may already deploy there (SelfSubjectAccessReview); if not, it binds
 * `devenv-prerelease-namespace` to itself (identity from SelfSubjectReview) with a
 * RoleBinding `devenv-deployer` in THAT namespace only, and waits until the authorizer
 * honours it. An identity that already has the rights (a cluster admin, the test cluster)
 * gets no RoleBinding.
 */

import { DevenvError } from '../errors.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { FIELD_MANAGER, serverSideApply, sleep } from '../kube/objects.ts';
import { canI, selfUsername } from '../kube/reads.ts';
import type { KubeObject } from '../manifests/types.ts';
import { prereleaseLabels } from './metadata.ts';

export const NAMESPACE_CLUSTER_ROLE = 'devenv-prerelease-namespace';
export const DEPLOYER_BINDING = 'devenv-deployer';

async function canDeploy(client: KubeClient, namespace: string): Promise<boolean> {
  return canI(client, { namespace, verb: 'patch', group: 'apps', resource: 'deployments' });
}

/** The RoleBinding subject for a username as the API server reports it. */
export function subjectFor(username: string): Record<string, string> {
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (sa) return { kind: 'ServiceAccount', name: sa[2]!, namespace: sa[1]! };
  return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: username };
}

export function deployerBinding(namespace: string, project: string, username: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: DEPLOYER_BINDING, namespace, labels: prereleaseLabels(project) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAMESPACE_CLUSTER_ROLE },
    subjects: [subjectFor(username)],
  };
}

export async function ensureDeployAccess(
  client: KubeClient,
  namespace: string,
  project: string,
  emit: EventSink,
): Promise<void> {
  await step(emit, `access:${namespace}`, `deploy rights in ${namespace}`, async () => {
    if (await canDeploy(client, namespace))
      return skipped(undefined, `deploy rights in ${namespace}: granted`);
    const username = await selfUsername(client);
    if (!username)
      throw new DevenvError("cannot learn devenv's own identity (SelfSubjectReview answered no user name).");
    try {
      await serverSideApply(client, deployerBinding(namespace, project, username), FIELD_MANAGER);
    } catch (err) {
      throw new DevenvError(`cannot grant devenv deploy rights in ${namespace}: ${(err as Error).message}`, {
        cause: err,
        details: [
          `The identity "${username}" needs the ClusterRole in src/prerelease/clusterrole.yaml (bind on ${NAMESPACE_CLUSTER_ROLE}).`,
        ],
      });
    }
    for (let i = 0; i < 40; i++) {
      if (await canDeploy(client, namespace)) return undefined;
      await sleep(250);
    }
    throw new DevenvError(
      `RoleBinding ${namespace}/${DEPLOYER_BINDING} was created, but the API server still refuses deploys there.`,
    );
  });
}

/**
 * `down` (stop, keep data) and `destroy` (remove what devenv created, volumes and built
 * images included) of a dev environment. Both act only on devenv-labelled objects. On an
 * allow-listed existing cluster the cluster itself is never stopped or deleted: destroy
 * removes devenv's objects from it instead, and deletes a namespace devenv created only
 * when nothing in it is foreign (kube/namespaces.ts `foreignObjects`); one that holds
 * anything else is left, and named with what it holds.
 *
 * Contract: these functions print nothing; they return what they did, and the command
 * (cli/commands/lifecycle.ts) says it. Heavy modules are imported when used, so the CLI's
 * start-up stays light.
 */
import type { Config } from '../config/schema.ts';
import { ownerLabels } from '../manifests/types.ts';
import type { Target } from './target.ts';

export interface DownResult {
  /** k3d target only: whether the project's cluster existed and was stopped. */
  cluster?: 'stopped' | 'absent';
  /** Data containers stopped (their volumes are kept); undefined without data services. */
  data?: string[];
}

export async function downProject(config: Config, target: Target): Promise<DownResult> {
  const result: DownResult = {};
  if (target.kind === 'k3d') {
    const k3d = await import('../cluster/k3d.ts');
    const cluster = await k3d.getCluster(config.project).catch(() => undefined);
    if (cluster) await k3d.stopCluster(config.project);
    result.cluster = cluster ? 'stopped' : 'absent';
  }
  if (config.database || config.objectStore) {
    const { stopDataServices } = await import('../data/destroy.ts');
    result.data = await stopDataServices(config.project);
  }
  return result;
}

/** What `destroy` removes, in words, for its confirmation prompt. */
export function destroyScope(config: Config, target: Target): string {
  return target.kind === 'k3d'
    ? `the k3d cluster "${config.project}", the data containers and their VOLUMES (all data) and the images devenv built for project "${config.project}"`
    : `devenv's objects of project "${config.project}" in context ${target.context}, the data containers and their VOLUMES, and the images devenv built`;
}

export interface ClusterObjectsRemoved {
  context: string;
  objects: number;
  namespaces: number;
  /** Namespaces devenv created that hold objects it did not create: emptied of devenv's, kept. */
  kept: Array<{ ns: string; foreign: string[] }>;
}

export interface DestroyResult {
  /** k3d target: whether the cluster was deleted, and what an interrupted create had left. */
  k3d?: { deleted: boolean; interruptedLeft: string[] };
  /** Existing cluster: devenv's objects and namespaces removed from it. */
  existing?: ClusterObjectsRemoved;
  data?: { containers: string[]; volumes: string[] };
  images: { removed: string[]; kept: Array<{ ref: string; why: string }> } | { error: string };
  /** The project's state dir (credentials, TLS leaf, rendered k3d config) was removed. */
  stateRemoved: boolean;
  /**
   * The existing cluster's part failed (an API error mid-prune). Everything else was still
   * removed; the state was kept so that destroy can run again with what it needs.
   */
  error?: unknown;
}

export async function destroyProject(config: Config, target: Target): Promise<DestroyResult> {
  const result: DestroyResult = { images: { removed: [], kept: [] }, stateRemoved: false };
  if (target.kind === 'k3d') {
    const k3d = await import('../cluster/k3d.ts');
    const exists = Boolean(await k3d.getCluster(config.project).catch(() => undefined));
    if (exists) await k3d.deleteCluster(config.project);
    // What an interrupted create left (k3d lists no cluster, but its containers exist).
    result.k3d = { deleted: exists, interruptedLeft: await k3d.clearInterruptedCreate(config.project) };
  } else {
    await destroyOnCluster(config, target).then(
      (r) => {
        result.existing = r;
      },
      (err: unknown) => {
        result.error = err ?? new Error('failed');
      },
    );
  }
  if (config.database || config.objectStore) {
    const { destroyDataServices } = await import('../data/destroy.ts');
    result.data = await destroyDataServices(config.project);
  }
  result.images = await removeBuiltImages(config);
  const { removeNetworks } = await import('../docker/networks.ts');
  await removeNetworks(ownerLabels(config.project, 'dev')).catch(() => []);
  if (result.error) return result;
  // Last: the project's state, so an interrupted destroy can be run again with what it
  // needs. The user's CA is not the project's: it stays (devenv trust --uninstall removes it).
  const { rmSync } = await import('node:fs');
  const { projectStateDir } = await import('../state/paths.ts');
  rmSync(projectStateDir(config.project), { recursive: true, force: true });
  result.stateRemoved = true;
  return result;
}

/** The images devenv built for the project (by labels); one a container uses is kept, and said. */
async function removeBuiltImages(config: Config): Promise<DestroyResult['images']> {
  const builder = await import('../build/builder.ts');
  const { describeDockerError } = await import('../docker/engine.ts');
  try {
    return await builder.removeBuiltImages(config.project, config.services);
  } catch (err) {
    return { error: describeDockerError(err) };
  }
}

/** The project's objects and namespaces on an existing cluster (labels decide). */
async function destroyOnCluster(
  config: Config,
  target: Extract<Target, { kind: 'existing' }>,
): Promise<ClusterObjectsRemoved> {
  const { connect } = await import('../kube/client.ts');
  const { prune } = await import('../kube/prune.ts');
  const { ownedNamespaces, deleteNamespace, foreignObjects } = await import('../kube/namespaces.ts');
  const client = connect({
    context: target.context,
    ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
  });
  const owner = { project: config.project, env: 'dev' as const };
  const namespaces = await ownedNamespaces(client, owner);
  const r = await prune({
    client,
    ...owner,
    keep: new Set(),
    namespaces: [...new Set([...namespaces, config.project])],
    // The project's own cluster-scoped objects too (its ingress controller's RBAC and
    // IngressClasses, with cluster.ingressOnExistingCluster): labelled as its own.
    clusterScoped: true,
  });
  // A namespace goes only when nothing in it is foreign: deleting it would take with it
  // what someone else put there (a ConfigMap made with kubectl, a PVC's data). Otherwise
  // it stays, emptied of devenv's objects, and the user is told what is in it.
  const kept: ClusterObjectsRemoved['kept'] = [];
  let deleted = 0;
  for (const ns of namespaces) {
    const foreign = await foreignObjects(client, ns, owner);
    if (foreign.length > 0) kept.push({ ns, foreign });
    else if (await deleteNamespace(client, ns, { ...owner, wait: false })) deleted++;
  }
  return { context: target.context, objects: r.deleted.length, namespaces: deleted, kept };
}

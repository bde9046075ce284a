/**
 * `devenv down` (stop, keep data) and `devenv destroy` (remove what devenv created,
 * volumes and built images included). Both act only on devenv-labelled objects. With --context (an
 * allow-listed existing cluster) the cluster itself is never stopped or deleted: destroy
 * removes devenv's objects from it instead, and deletes a namespace devenv created only when
 * nothing in it is foreign (kube/namespaces.ts foreignObjects); one that holds anything
 * else is left, and named with what it holds.
 */
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { resolveTarget, type Target } from '../../engine/target.ts';
import { badInput } from '../../errors.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  yes?: boolean;
  context?: string;
  kubeconfig?: string;
}

export async function down(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const { config } = loadConfig(global.config);
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  if (target.kind === 'k3d') {
    const k3d = await import('../../cluster/k3d.ts');
    const c = await k3d.getCluster(config.project).catch(() => undefined);
    if (c) {
      await k3d.stopCluster(config.project);
      process.stdout.write(`stopped k3d cluster ${config.project} (context ${target.context})\n`);
    } else process.stdout.write(`no k3d cluster ${config.project}\n`);
  }
  if (config.database || config.objectStore) {
    const { stopDataServices } = await import('../../data/index.ts');
    const stopped = await stopDataServices(config.project);
    process.stdout.write(
      `stopped ${stopped.length} data container(s)${stopped.length ? `: ${stopped.join(', ')}` : ''}; data volumes kept\n`,
    );
  }
  return 0;
}

export async function destroy(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const { config } = loadConfig(global.config);
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const what =
    target.kind === 'k3d'
      ? `the k3d cluster "${config.project}", the data containers and their VOLUMES (all data) and the images devenv built for project "${config.project}"`
      : `devenv's objects of project "${config.project}" in context ${target.context}, the data containers and their VOLUMES, and the images devenv built`;
  if (!opts.yes) {
    if (!process.stdin.isTTY)
      throw badInput(`devenv destroy removes ${what}. Pass --yes to confirm when not on a terminal.`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`This removes ${what}. Type the project name to confirm: `);
    rl.close();
    if (answer.trim() !== config.project) {
      process.stdout.write('not confirmed; nothing removed\n');
      return 1;
    }
  }
  let kubeError: unknown;
  if (target.kind === 'k3d') {
    const k3d = await import('../../cluster/k3d.ts');
    if (await k3d.getCluster(config.project).catch(() => undefined)) {
      await k3d.deleteCluster(config.project);
      process.stdout.write(`deleted k3d cluster ${config.project}\n`);
    }
    // What an interrupted create left (k3d lists no cluster, but its containers exist).
    const left = await k3d.clearInterruptedCreate(config.project);
    if (left.length) process.stdout.write(`removed what an interrupted create left: ${left.join(', ')}\n`);
  } else {
    // The cluster's part may fail (an API error mid-prune); the data services, images and
    // networks are still removed, then the error is reported (the state stays, so the
    // destroy can be run again with what it needs).
    kubeError = await destroyOnCluster(config, target).catch((err: unknown) => err ?? new Error('failed'));
  }
  if (config.database || config.objectStore) {
    const { destroyDataServices } = await import('../../data/index.ts');
    const r = await destroyDataServices(config.project);
    process.stdout.write(
      `removed ${r.containers.length} data container(s) and ${r.volumes.length} volume(s)\n`,
    );
  }
  await removeBuiltImages(config);
  const { removeNetworks } = await import('../../docker/networks.ts');
  const { ownerLabels } = await import('../../manifests/types.ts');
  await removeNetworks(ownerLabels(config.project, 'dev')).catch(() => []);
  if (kubeError) throw kubeError;
  // Last: the project's state (generated credentials, TLS leaf, rendered k3d config), so an
  // interrupted destroy can be run again with what it needs. The user's CA is not the
  // project's: it stays (devenv trust --uninstall removes it).
  const { rmSync } = await import('node:fs');
  const { projectStateDir } = await import('../../state/paths.ts');
  rmSync(projectStateDir(config.project), { recursive: true, force: true });
  process.stdout.write(`removed the project's state (credentials, certificates)\n`);
  return 0;
}

/** The images devenv built for the project (by labels); one a container uses is kept, and said. */
async function removeBuiltImages(config: Config): Promise<void> {
  const builder = await import('../../build/builder.ts');
  const { describeDockerError } = await import('../../docker/engine.ts');
  try {
    const r = await builder.removeBuiltImages(config.project, config.services);
    process.stdout.write(`removed ${r.removed.length} image(s) devenv built\n`);
    for (const k of r.kept) process.stdout.write(`kept image ${k.ref}: ${k.why}\n`);
  } catch (err) {
    process.stdout.write(`images left in place (Docker engine: ${describeDockerError(err)})\n`);
  }
}

/** The project's objects and namespaces on an existing cluster (labels decide). */
async function destroyOnCluster(
  config: Config,
  target: Extract<Target, { kind: 'existing' }>,
): Promise<undefined> {
  const { connect } = await import('../../kube/client.ts');
  const { prune } = await import('../../kube/prune.ts');
  const { ownedNamespaces, deleteNamespace, foreignObjects } = await import('../../kube/namespaces.ts');
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
  const kept: Array<{ ns: string; foreign: string[] }> = [];
  let deleted = 0;
  for (const ns of namespaces) {
    const foreign = await foreignObjects(client, ns, owner);
    if (foreign.length > 0) kept.push({ ns, foreign });
    else if (await deleteNamespace(client, ns, { ...owner, wait: false })) deleted++;
  }
  process.stdout.write(
    `removed ${r.deleted.length} object(s) and ${deleted} namespace(s) from ${target.context}\n`,
  );
  for (const k of kept) {
    const shown = k.foreign.slice(0, 10);
    process.stdout.write(
      `kept namespace ${k.ns}: it holds ${k.foreign.length} object(s) devenv did not create (${shown.join(', ')}${k.foreign.length > shown.length ? ', …' : ''}); devenv's own objects in it were removed. Delete it yourself once those are not needed: kubectl --context ${target.context} delete namespace ${k.ns}\n`,
    );
  }
  return undefined;
}

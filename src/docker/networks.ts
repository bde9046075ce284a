/**
 * Docker networks: data containers join the cluster's network (k3d creates
 * `k3d-<project>`) under stable aliases, so pods reach them by name. devenv creates
 * networks only where it owns them (labelled), and removes only labelled ones.
 */
import { labelPairs } from '../labels.ts';
import { docker } from './engine.ts';
import { isNotFound, removeManaged } from './managed.ts';

export async function networkExists(name: string): Promise<boolean> {
  const d = await docker();
  try {
    await d.getNetwork(name).inspect();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Creates a labelled bridge network unless one of that name exists. */
export async function ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
  if (await networkExists(name)) return;
  const d = await docker();
  await d.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
}

/** Connects a container to a network with DNS aliases; a no-op when it already is connected. */
export async function connectNetwork(
  network: string,
  container: string,
  aliases: string[],
): Promise<boolean> {
  const d = await docker();
  const info = await d.getContainer(container).inspect();
  if (info.NetworkSettings?.Networks?.[network]) return false;
  await d.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: aliases } });
  return true;
}

/** Removes labelled networks (the filter must include managed-by=devenv). */
export async function removeNetworks(labels: Record<string, string>): Promise<string[]> {
  return removeManaged(
    {
      caller: 'removeNetworks',
      list: async (filter) => (await docker()).listNetworks({ filters: { label: labelPairs(filter) } }),
      labelsOf: (n) => n.Labels,
      nameOf: (n) => n.Name,
      remove: async (n) => (await docker()).getNetwork(n.Id).remove(),
    },
    labels,
  );
}

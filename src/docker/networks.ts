/**
 * Docker networks: data containers join the cluster's network (k3d creates
 * `k3d-<project>`) under stable aliases, so pods reach them by name. devenv creates
 * networks only where it owns them (labelled), and removes only labelled ones.
 */
import { docker } from './engine.ts';
import { isManaged, labelFilter, MANAGED_BY, MANAGED_BY_VALUE } from './labels.ts';

export async function networkExists(name: string): Promise<boolean> {
  const d = await docker();
  try {
    await d.getNetwork(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
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
  if (labels[MANAGED_BY] !== MANAGED_BY_VALUE)
    throw new Error('removeNetworks: refusing a filter without managed-by=devenv');
  const d = await docker();
  const removed: string[] = [];
  for (const n of await d.listNetworks({ filters: { label: labelFilter(labels) } })) {
    if (!isManaged(n.Labels)) continue;
    try {
      await d.getNetwork(n.Id).remove();
      removed.push(n.Name);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  return removed;
}

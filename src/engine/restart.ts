/**
 * A rollout restart of one service (the dashboard's `R`): its Deployments, StatefulSets
 * and DaemonSets as rendered for dev, restarted through kube/restart.ts (only
 * devenv-labelled ones). Throws a DevenvError naming why nothing was restarted.
 */
import type { Config } from '../config/schema.ts';
import { DevenvError } from '../errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { SourceDoc } from '../manifests/types.ts';
import { DEV, renderEnvironment } from './render.ts';

/** Restarts the service's workloads; returns what was restarted (describeObject of each). */
export async function restartService(
  config: Config,
  client: KubeClient,
  docs: ReadonlyMap<string, readonly SourceDoc[]>,
  service: string,
): Promise<string[]> {
  const { restartWorkloads } = await import('../kube/restart.ts');
  const one = new Map([[service, docs.get(service) ?? []]]);
  const rendered = await renderEnvironment(config, DEV, one, {}, { dry: true });
  const r = await restartWorkloads(client, rendered.objects);
  if (r.restarted.length === 0) {
    throw new DevenvError(
      r.missing.length > 0
        ? `not deployed: ${r.missing.join(', ')}`
        : `service ${service} has no Deployment, StatefulSet or DaemonSet to restart`,
    );
  }
  return r.restarted;
}

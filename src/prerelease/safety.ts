/**
 * Which kube context `devenv prerelease` may use. The shared cluster is a different
 * thing from a developer's cluster, so:
 *   - a context must be named (--context, or prerelease.context in devenv.yaml);
 *   - when prerelease.context is set, the context must be exactly that one;
 *   - the devenv-owned k3d context of the project is refused (it is a dev cluster);
 *   - a context allow-listed for dev deploys (cluster.allowContexts) is refused unless it
 *     is also prerelease.context: allow-listing a cluster for dev does not make it the
 *     shared prerelease cluster.
 * Refusals are bad input (exit 2), reported before anything is created.
 *
 * Pure module: no I/O.
 */
import { k3dContext } from '../cluster/k3dconfig.ts';
import type { Config } from '../config/schema.ts';
import { badInput } from '../errors.ts';

export function resolvePrereleaseContext(config: Config, flag: string | undefined): string {
  const configured = config.prerelease.context;
  const context = flag ?? configured;
  if (!context) {
    throw badInput(
      'no kube context for prerelease: pass --context, or set prerelease.context in devenv.yaml.',
    );
  }
  if (configured && context !== configured) {
    throw badInput(
      `refusing kube context "${context}" for prerelease: devenv.yaml names "${configured}" (prerelease.context) as the shared cluster.`,
    );
  }
  if (context === k3dContext(config.project)) {
    throw badInput(
      `refusing kube context "${context}" for prerelease: it is devenv's own local k3d cluster, not the shared cluster.`,
    );
  }
  if (!configured && config.cluster.allowContexts.includes(context)) {
    throw badInput(
      `refusing kube context "${context}" for prerelease: it is allow-listed for dev deploys (cluster.allowContexts).`,
      ['If it really is the shared prerelease cluster, set prerelease.context to it in devenv.yaml.'],
    );
  }
  return context;
}

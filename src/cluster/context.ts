/**
 * Context safety: dev deploys go only to the devenv-owned k3d context, or to a context the
 * project allow-lists in devenv.yaml (cluster.allowContexts). Pure decision; the caller
 * reads the current kubeconfig.
 */
import type { Config } from '../config/schema.ts';
import { DevenvError, EXIT_BAD_INPUT } from '../errors.ts';
import { k3dContext } from './k3dconfig.ts';

export function assertDevContextAllowed(config: Config, context: string): void {
  const owned = k3dContext(config.project);
  if (context === owned || config.cluster.allowContexts.includes(context)) return;
  throw new DevenvError(
    `refusing to deploy to kube context "${context}": devenv deploys only to its own context "${owned}". ` +
      `If "${context}" is a development cluster, add it to cluster.allowContexts in devenv.yaml.`,
    { exitCode: EXIT_BAD_INPUT },
  );
}

/**
 * Which cluster a dev command talks to. Pure: decided from devenv.yaml and the flags, so
 * a refused context is reported before anything is created.
 */
import { assertDevContextAllowed } from '../cluster/context.ts';
import { k3dContext } from '../cluster/k3dconfig.ts';
import type { Config } from '../config/schema.ts';

export type Target =
  | { kind: 'k3d'; context: string }
  | { kind: 'existing'; context: string; kubeconfig?: string };

export function resolveTarget(config: Config, context?: string, kubeconfig?: string): Target {
  const owned = k3dContext(config.project);
  if (!context || context === owned) return { kind: 'k3d', context: owned };
  assertDevContextAllowed(config, context);
  return { kind: 'existing', context, ...(kubeconfig ? { kubeconfig } : {}) };
}

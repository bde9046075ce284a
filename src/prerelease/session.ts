/**
 * What every prerelease command resolves first, before touching anything: the safe
 * prefix, the allowed context, the namespace `<prefix>-<name>`; then the connection.
 * Bad input (exit 2) is thrown here, before any cluster or database is contacted.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { assertSafePrefix, defaultName, namespaceFor } from './naming.ts';
import { resolvePrereleaseContext } from './safety.ts';

export interface SessionFlags {
  context?: string;
  kubeconfig?: string;
  name?: string;
}

export interface PrereleaseSession {
  config: Config;
  root: string;
  prefix: string;
  context: string;
  kubeconfig?: string;
  /** The --name (or the default nightly-YYYYMMDD). */
  name: string;
  namespace: string;
}

/** Pure: the prefix, context and namespace, or bad input. */
export function resolveSession(loaded: LoadedConfig, flags: SessionFlags, now: Date): PrereleaseSession {
  const { config, root } = loaded;
  const prefix = assertSafePrefix(config.prerelease.namespacePrefix);
  const context = resolvePrereleaseContext(config, flags.context);
  const name = flags.name ?? defaultName(now);
  const namespace = namespaceFor(prefix, name);
  return {
    config,
    root,
    prefix,
    context,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    name,
    namespace,
  };
}

/** Connects to the shared cluster and checks that it answers (step "cluster"). */
export async function connectSession(s: PrereleaseSession, emit: EventSink): Promise<KubeClient> {
  const { connect } = await import('../kube/client.ts');
  const { serverVersion } = await import('../kube/reads.ts');
  return step(emit, 'cluster', `shared cluster, context ${s.context}`, async () => {
    const client = connect({ context: s.context, ...(s.kubeconfig ? { kubeconfig: s.kubeconfig } : {}) });
    await serverVersion(client);
    return skipped(client, `context ${s.context} (${client.server()}) answers`);
  });
}

/**
 * Host ports a new environment needs, checked before anything is created: a port another
 * program or container holds is one bad-input error naming the port, its holder and the
 * devenv.yaml key to change (k3d would otherwise fail half-way through creating the
 * cluster, leaving its containers behind).
 */
import type { Config } from '../config/schema.ts';
import { badInput } from '../errors.ts';
import { describePortHolder, isPortFree } from '../net/ports.ts';

export interface HostPortNeed {
  port: number;
  /** What it is for ("ingress HTTP", ...). */
  what: string;
  /** The devenv.yaml key that sets it. */
  configKey: string;
}

/** The host ports a devenv-owned k3d cluster publishes (pure). */
export function clusterHostPorts(config: Config): HostPortNeed[] {
  return [
    { port: config.cluster.httpPort, what: 'ingress HTTP', configKey: 'cluster.httpPort' },
    { port: config.cluster.httpsPort, what: 'ingress HTTPS', configKey: 'cluster.httpsPort' },
    { port: config.cluster.registryPort, what: 'image registry', configKey: 'cluster.registryPort' },
    ...(config.tls ? [{ port: config.tls.port, what: 'TLS passthrough', configKey: 'tls.port' }] : []),
  ];
}

/** Throws one bad-input error listing every needed port that is taken, with its holder. */
export async function assertPortsFree(needs: HostPortNeed[]): Promise<void> {
  const problems: string[] = [];
  let containers: Array<{ containerName: string; hostPort: number }> | undefined;
  for (const n of needs) {
    if (await isPortFree(n.port)) continue;
    if (containers === undefined) {
      const { publishedPorts } = await import('../docker/engine.ts');
      containers = await publishedPorts().catch(() => []);
    }
    const holder = describePortHolder(n.port, containers);
    problems.push(
      `host port ${n.port} (${n.what}) is already in use by ${holder.text}: set ${n.configKey} in devenv.yaml to a free port, or stop that ${holder.kind}.`,
    );
  }
  if (problems.length === 1) throw badInput(problems[0] as string);
  if (problems.length > 1) throw badInput(`${problems.length} host ports are taken:`, problems);
}

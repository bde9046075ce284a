/**
 * Which host addresses devenv's k3d cluster is listening on, against what devenv.yaml
 * asks for (`cluster.expose`): loopback by default, every interface only for the ingress
 * ports with `expose: lan`. `compareBindings` is pure; `clusterBindings` reads the live
 * port bindings of the cluster's containers (its load balancer, its servers and its
 * registry) through docker/. Used by `doctor`, `status --json`, `up` (a cluster created
 * with other bindings is reported, since k3d fixes them at creation) and the e2e test.
 */
import type { Config } from '../config/schema.ts';
import { clusterName, type PlannedHostPort, plannedHostPorts, registryName } from './k3dconfig.ts';

export interface BoundPort {
  container: string;
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** A planned port and what is live for it. */
export interface Binding {
  what: string;
  /** Planned address ("127.0.0.1" or "0.0.0.0"). */
  expected: string;
  /** Live "address:port" bindings (IPv4 and IPv6 of one port), empty when not published. */
  actual: string[];
  hostPort?: number;
  /** True when every live binding is no wider than planned. */
  ok: boolean;
}

/** Every interface, as Docker reports it. */
export function isAnyAddress(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || ip === '';
}

/** The containers of a k3d cluster that publish ports, by the names k3d gives them. */
export function isClusterContainer(project: string, name: string, labels: Record<string, string>): boolean {
  const cluster = clusterName(project);
  return (
    labels['k3d.cluster'] === cluster || name === registryName(project) || name === `k3d-${cluster}-serverlb`
  );
}

/** Pure: the planned ports of `config` against the live bindings. */
export function compareBindings(config: Config, bound: BoundPort[]): Binding[] {
  const api = bound.find((b) => b.containerPort === 6443);
  return plannedHostPorts(config, api?.hostPort).map((p: PlannedHostPort) => {
    const live = bound.filter((b) =>
      p.what === 'image registry'
        ? b.containerPort === 5000 && b.container.endsWith('-registry')
        : b.containerPort === p.containerPort && !b.container.endsWith('-registry'),
    );
    const ok = live.every((b) => !isAnyAddress(b.hostIp) || isAnyAddress(p.hostIp));
    return {
      what: p.what,
      expected: p.hostIp,
      actual: live.map(
        (b) => `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp || '0.0.0.0'}:${b.hostPort}`,
      ),
      ...(p.hostPort !== undefined
        ? { hostPort: p.hostPort }
        : live[0]
          ? { hostPort: live[0].hostPort }
          : {}),
      ok,
    };
  });
}

/** The live host port bindings of the project's k3d cluster (empty when it does not run). */
export async function clusterBindings(project: string): Promise<BoundPort[]> {
  const { publishedPorts } = await import('../docker/engine.ts');
  return (await publishedPorts())
    .filter((p) => isClusterContainer(project, p.containerName, p.labels))
    .map((p) => ({
      container: p.containerName,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerPort: p.containerPort,
    }));
}

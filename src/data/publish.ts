/**
 * Publishing the data services where the target's pods can reach them. By default every
 * host port of the database and object store binds to 127.0.0.1 (the compose files say
 * so): that is all a k3d cluster needs, since its pods reach the containers on the cluster's
 * Docker network. Pods of an allow-listed existing cluster (`--context`) cannot: they are
 * told to use `cluster.dataHost`, this machine's address on their network, so only then
 * each loopback-bound port is ALSO bound on that one address (never on every interface).
 * Pure.
 */
import { isIP } from 'node:net';
import type { ServicePlan } from './plan.ts';

const isLoopback = (ip: string | undefined) => ip === '127.0.0.1' || ip === '::1' || ip === 'localhost';

/** The address to add for pods of the target, or undefined when none is needed. */
export function dataPublishAddress(
  target: { kind: 'k3d' | 'existing' },
  dataHost: string,
): string | undefined {
  if (target.kind !== 'existing') return undefined;
  // Docker binds addresses, not names: a cluster.dataHost name is left to the user's network.
  if (isLoopback(dataHost) || !isIP(dataHost)) return undefined;
  return dataHost;
}

/** `plan` with every loopback-bound host port also bound on `address`. */
export function alsoPublishOn<P extends ServicePlan>(plan: P, address: string): P {
  const extra = plan.ports.filter((p) => p.hostPort !== undefined && isLoopback(p.hostIp));
  if (extra.length === 0) return plan;
  const ports = [...plan.ports, ...extra.map((p) => ({ ...p, hostIp: address }))];
  return {
    ...plan,
    ports,
    spec: { ...plan.spec, ports: ports.map(({ configKey: _k, where: _w, ...b }) => b) },
  };
}

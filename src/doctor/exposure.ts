/**
 * doctor's `exposure` check: the host addresses the project's k3d cluster listens on (live,
 * from Docker) against `cluster.expose`. A cluster created by an older devenv (or from a k3d
 * file that bound every interface) keeps those bindings until it is recreated: a warning
 * with the fix. `expose: lan` is a warning too, so it is never on by accident. Pure.
 */
import { type Binding, type BoundPort, compareBindings } from '../cluster/exposure.ts';
import { clusterName, plannedHostPorts } from '../cluster/k3dconfig.ts';
import type { Config } from '../config/schema.ts';
import type { CheckResult } from './checks.ts';

const title = 'Published ports';

function line(b: Binding): string {
  return `${b.what} ${b.actual.length > 0 ? b.actual.join(' ') : 'not published'}`;
}

/** `bound` undefined: the Docker engine could not be asked (the docker check says why). */
export function exposureCheck(config: Config | undefined, bound: BoundPort[] | undefined): CheckResult {
  if (!config)
    return { id: 'exposure', title, required: false, status: 'skip', detail: 'no devenv.yaml here' };
  const planned = plannedHostPorts(config).map((p) => ({
    what: p.what,
    address: `${p.hostIp}:${p.hostPort ?? '<random>'}`,
  }));
  const lan = config.cluster.expose === 'lan';
  const lanNote = lan
    ? 'cluster.expose: lan: the ingress ports listen on every interface, so anyone on this network reaches the dev apps'
    : undefined;
  if (!bound) {
    return {
      id: 'exposure',
      title,
      required: false,
      status: 'skip',
      detail: 'Docker engine not reachable; bindings not read',
      data: { expose: config.cluster.expose, planned },
    };
  }
  if (bound.length === 0) {
    return {
      id: 'exposure',
      title,
      required: false,
      status: lan ? 'warn' : 'ok',
      detail: `no cluster running; "up" binds ${planned.map((p) => `${p.what} ${p.address}`).join(', ')}${lanNote ? `. ${lanNote}` : ''}`,
      data: { expose: config.cluster.expose, planned, bound: [] },
    };
  }
  const bindings = compareBindings(config, bound);
  const wider = bindings.filter((b) => !b.ok);
  const data = { expose: config.cluster.expose, planned, bound: bindings };
  if (wider.length > 0) {
    return {
      id: 'exposure',
      title,
      required: false,
      status: 'warn',
      detail: `listening on every interface, not ${config.cluster.expose === 'lan' ? 'as planned' : '127.0.0.1'}: ${wider.map(line).join('; ')}`,
      fix: `The cluster was created with these bindings and k3d keeps them: recreate it ("k3d cluster delete ${clusterName(config.project)}", then "devenv up"; the data containers and volumes stay).`,
      data,
    };
  }
  return {
    id: 'exposure',
    title,
    required: false,
    status: lan ? 'warn' : 'ok',
    detail: `${bindings
      .filter((b) => b.actual.length > 0)
      .map(line)
      .join('; ')}${lanNote ? `. ${lanNote}` : ''}`,
    ...(lan
      ? {
          fix: 'Remove cluster.expose: lan from devenv.yaml when no other device needs the apps, then recreate the cluster.',
        }
      : {}),
    data,
  };
}

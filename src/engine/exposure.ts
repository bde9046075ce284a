/**
 * `up`'s report of where the k3d cluster listens on this machine, right after the cluster
 * step: one `exposure` step whose line names every published address. It is loud (a
 * WARNING line) when `cluster.expose: lan` puts the ingress on every interface, and when the
 * live bindings are wider than devenv.yaml asks (a cluster created by an older devenv:
 * k3d fixes bindings at creation, so it says how to recreate it).
 */
import { clusterBindings, compareBindings } from '../cluster/exposure.ts';
import { clusterName } from '../cluster/k3dconfig.ts';
import type { Config } from '../config/schema.ts';
import { type EventSink, step } from '../events.ts';

/** Pure: the line `up` prints for these bindings. */
export function exposureLine(config: Config, bindings: ReturnType<typeof compareBindings>): string {
  const live = bindings
    .filter((b) => b.actual.length > 0)
    .map((b) => `${b.what} ${b.actual.join(' ')}`)
    .join(', ');
  const wider = bindings.filter((b) => !b.ok);
  if (wider.length > 0) {
    return `WARNING: listening on every interface: ${wider.map((b) => `${b.what} ${b.actual.join(' ')}`).join(', ')}; devenv.yaml asks for ${config.cluster.expose === 'lan' ? '127.0.0.1 for the registry and API' : '127.0.0.1'}. k3d fixed these when the cluster was created: recreate it ("k3d cluster delete ${clusterName(config.project)}", then "devenv up"; data volumes stay).`;
  }
  if (live === '') return 'no published port of the cluster found in Docker';
  if (config.cluster.expose === 'lan') {
    return `WARNING: cluster.expose: lan: the ingress listens on every interface, reachable by anyone on this network (${live})`;
  }
  return `published on loopback only: ${live}`;
}

export async function reportExposure(config: Config, emit: EventSink): Promise<void> {
  const bindings = compareBindings(config, await clusterBindings(config.project).catch(() => []));
  const line = exposureLine(config, bindings);
  await step(emit, 'exposure', line, async () => ({
    skipped: true as const,
    detail: line,
    value: undefined,
  }));
}

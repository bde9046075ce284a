/**
 * The logs of one service (`devenv logs`): its pods are the pods of the workloads rendered
 * from its manifests (workloads carry the `dev.devenv/source` annotation, mapped to
 * devenv.yaml's `services[].manifests`, as `status` does; their selectors pick the pods).
 * Lines go to the caller's sink; nothing here prints.
 */
import type { Config } from '../config/schema.ts';
import type { KubeClient } from '../kube/client.ts';

export interface ServiceLogSink {
  line(pod: string, container: string, line: string): void;
  /** A container whose log cannot be read (gone, not started): the others still are. */
  unavailable(pod: string, container: string, err: unknown): void;
}

export interface ServiceLogOptions {
  /** Only lines newer than this (`--since`); default: the whole log (-f: from the start). */
  sinceSeconds?: number;
}

const servicesOf = (config: Config) => config.services.map((s) => ({ name: s.name, manifests: s.manifests }));

/**
 * The log of each container of each pod of `service`, pod by pod (a container waiting to
 * restart shows its crashed run). Resolves with the number of pods (0: not deployed).
 */
export async function readServiceLogs(
  client: KubeClient,
  config: Config,
  service: string,
  opts: ServiceLogOptions,
  sink: ServiceLogSink,
): Promise<number> {
  const { listServicePods } = await import('../kube/watch.ts');
  const { readContainerLog } = await import('../kube/logstream.ts');
  const pods = await listServicePods(client, {
    project: config.project,
    env: 'dev',
    services: servicesOf(config),
    service,
  });
  for (const pod of pods) {
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const c of statuses) {
      const started = c.state?.running !== undefined || c.state?.terminated !== undefined;
      const previous = !started && c.lastState?.terminated !== undefined;
      if (!started && !previous) continue; // never ran: nothing to read
      try {
        await readContainerLog(
          client,
          { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name, container: c.name },
          { previous, ...(opts.sinceSeconds ? { sinceSeconds: opts.sinceSeconds } : {}) },
          (line) => sink.line(pod.metadata.name, c.name, line),
        );
      } catch (err) {
        sink.unavailable(pod.metadata.name, c.name, err);
      }
    }
  }
  return pods.length;
}

/**
 * Follows every container of the service's pods, and the pods that appear later (a
 * rollout, a restart), until `stop()`: a pod watch decides which containers to follow.
 */
export async function followServiceLogs(
  client: KubeClient,
  config: Config,
  service: string,
  opts: ServiceLogOptions,
  sink: Pick<ServiceLogSink, 'line'>,
  onError: (what: string, err: unknown, retryMs?: number) => void,
): Promise<{ stop(): Promise<void> }> {
  const { watchProject } = await import('../kube/watch.ts');
  return watchProject({
    client,
    project: config.project,
    env: 'dev',
    services: servicesOf(config),
    onObject: () => undefined, // only the logs are wanted
    logsOf: (s) => s === service,
    logs: opts.sinceSeconds ? { sinceSeconds: opts.sinceSeconds } : { tailLines: -1 },
    onLog: (e) => sink.line(e.pod, e.container, e.line),
    nodes: false,
    events: false,
    onError,
  });
}

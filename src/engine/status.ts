/**
 * The status of a project's environment, read-only (`devenv status`): the cluster, the
 * data services, each service's workloads and rollout state, and its forwards. It fails
 * only on bad input: no cluster yet (before the first `up`, after `destroy`) is a state to
 * report, and so is a k3d that cannot be run; the data services are reported either way.
 * The JSON shape (schemaVersion 1) is documented in the README; it carries no secret
 * (ports and container names only).
 */
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Target } from './target.ts';

export interface StatusReport {
  schemaVersion: 1;
  project: string;
  cluster: {
    kind: 'k3d' | 'existing';
    context: string;
    /** k3d: running | stopped | absent, or unknown when k3d cannot be asked (detail says why). */
    state: 'running' | 'stopped' | 'absent' | 'unknown' | 'reachable' | 'unreachable';
    detail?: string;
    /** k3d, running: each host port it publishes, the live addresses and whether they are as planned. */
    published?: Array<{ what: string; addresses: string[]; expected: string; ok: boolean }>;
  };
  data: Array<{ role: string; container: string; status: string; health?: string; ports: unknown }>;
  services: Array<{
    name: string;
    workloads: Array<{ kind: string; namespace: string; name: string; ready: boolean; message: string }>;
  }>;
  /**
   * services[].forwards: where each listens and what it reaches (empty without forwards).
   * `listening`: something holds the port on this machine (`holder` names it): a watching
   * `up` or `devenv forward`, or another program.
   */
  forwards: Array<{
    service: string;
    address: string;
    target: string;
    listening: boolean;
    holder?: string;
  }>;
}

export async function projectStatus(loaded: LoadedConfig, target: Target): Promise<StatusReport> {
  const { config } = loaded;
  const { cluster, client } =
    target.kind === 'k3d' ? await k3dClusterStatus(config, target) : await existingClusterStatus(target);
  const report: StatusReport = {
    schemaVersion: 1,
    project: config.project,
    cluster,
    data: [],
    services: [],
    forwards: [],
  };
  if (config.database || config.objectStore) {
    const { dataStatus } = await import('../data/status.ts');
    try {
      report.data = (await dataStatus(config.project)).containers;
    } catch (err) {
      report.cluster.detail ??= (err as Error).message;
    }
  }
  if (client) report.services = await serviceWorkloads(config, client);
  report.forwards = await forwardStatus(loaded);
  return report;
}

type ClusterStatus = { cluster: StatusReport['cluster']; client?: KubeClient };

/** devenv's k3d cluster: running, stopped or absent; when running, its bindings and a client. */
async function k3dClusterStatus(config: Config, target: Target): Promise<ClusterStatus> {
  const k3d = await import('../cluster/k3d.ts');
  const { clusterName } = await import('../cluster/k3dconfig.ts');
  const cluster: StatusReport['cluster'] = { kind: target.kind, context: target.context, state: 'absent' };
  try {
    const c = await k3d.getCluster(clusterName(config.project));
    cluster.state = c ? (k3d.isRunning(c) ? 'running' : 'stopped') : 'absent';
    if (!c) cluster.detail = 'no k3d cluster yet: "devenv up" creates it';
  } catch (err) {
    cluster.state = 'unknown';
    cluster.detail = (err as Error).message;
  }
  if (cluster.state !== 'running') return { cluster };
  const { clusterBindings, compareBindings } = await import('../cluster/exposure.ts');
  const bound = await clusterBindings(config.project).catch(() => []);
  cluster.published = compareBindings(config, bound).map((b) => ({
    what: b.what,
    addresses: b.actual,
    expected: b.expected,
    ok: b.ok,
  }));
  const { connect } = await import('../kube/client.ts');
  try {
    return { cluster, client: connect({ context: target.context, timeoutMs: 5000 }) };
  } catch (err) {
    // The cluster runs but its context left the kubeconfig (edited by hand?).
    cluster.detail = `${(err as Error).message} ("k3d kubeconfig merge ${clusterName(config.project)} --kubeconfig-merge-default --kubeconfig-switch-context=false" restores it)`;
    return { cluster };
  }
}

/** An allow-listed existing cluster: reachable (its API server answers) or not. */
async function existingClusterStatus(target: Extract<Target, { kind: 'existing' }>): Promise<ClusterStatus> {
  const { connect } = await import('../kube/client.ts');
  const client = connect({
    context: target.context,
    ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
    timeoutMs: 5000,
  });
  try {
    await (await import('../kube/reads.ts')).serverVersion(client);
    return { cluster: { kind: target.kind, context: target.context, state: 'reachable' }, client };
  } catch (err) {
    return {
      cluster: {
        kind: target.kind,
        context: target.context,
        state: 'unreachable',
        detail: (err as Error).message,
      },
    };
  }
}

/** Each service's workloads (devenv's, by labels; attributed by their source annotation) and rollout state. */
async function serviceWorkloads(config: Config, client: KubeClient): Promise<StatusReport['services']> {
  const { workloadStatus } = await import('../kube/rollout-status.ts');
  const { listWorkloads } = await import('../kube/reads.ts');
  const { serviceOfSource } = await import('../kube/attribution.ts');
  const { ANNOTATION_SOURCE, ownerSelector } = await import('../manifests/types.ts');
  const byService = new Map(
    config.services.map((s) => [s.name, [] as StatusReport['services'][number]['workloads']]),
  );
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
    for (const item of await listWorkloads(client, kind, ownerSelector(config.project, 'dev'))) {
      const source = item.metadata.annotations?.[ANNOTATION_SOURCE] ?? '';
      const svc = serviceOfSource(config.services, source) ?? '(other)';
      const st = workloadStatus({ ...item, kind: item.kind ?? kind });
      if (!byService.has(svc)) byService.set(svc, []);
      byService.get(svc)!.push({
        kind: item.kind ?? kind,
        namespace: item.metadata.namespace ?? '',
        name: item.metadata.name,
        ready: st.done,
        message: st.message,
      });
    }
  }
  return [...byService].map(([name, workloads]) => ({ name, workloads }));
}

/** The configured forwards (resolved against the manifests where they load) and who listens on each. */
async function forwardStatus(loaded: LoadedConfig): Promise<StatusReport['forwards']> {
  const { config } = loaded;
  if (!config.services.some((s) => (s.forwards ?? []).length > 0)) return [];
  const { isPortFree, describePortHolder } = await import('../net/ports.ts');
  const { describeTarget, resolveForwards } = await import('../engine/forwards.ts');
  const { loadManifests } = await import('../manifests/load.ts');
  let targets: Map<number, string> | undefined;
  try {
    const docs = new Map();
    for (const s of config.services)
      docs.set(s.name, await loadManifests(s.manifests, { root: loaded.root }));
    targets = new Map((await resolveForwards(loaded, docs)).map((p) => [p.local, describeTarget(p)]));
  } catch {
    // Manifests that do not load or resolve: report the entries as written; `up` names the problem.
  }
  const out: StatusReport['forwards'] = [];
  for (const s of config.services)
    for (const f of s.forwards ?? []) {
      const listening = !(await isPortFree(f.local, '127.0.0.1'));
      out.push({
        service: s.name,
        address: `127.0.0.1:${f.local}`,
        target: targets?.get(f.local) ?? `${f.service ? `Service ${f.service} ` : ''}port ${f.port}`,
        listening,
        ...(listening ? { holder: describePortHolder(f.local, []).text } : {}),
      });
    }
  return out;
}

/**
 * `devenv status [--json]`: the cluster, the data services and each service's rollout
 * state, read-only. The JSON shape (schemaVersion 1) is documented in the README; it
 * carries no secret (ports and container names only).
 */
import { type LoadedConfig, loadConfig } from '../../config/load.ts';
import { resolveTarget } from '../../engine/target.ts';
import { dim, green, red, yellow } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  json?: boolean;
  context?: string;
  kubeconfig?: string;
}

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

export async function run(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const { config } = loaded;
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const report: StatusReport = {
    schemaVersion: 1,
    project: config.project,
    cluster: { kind: target.kind, context: target.context, state: 'absent' },
    data: [],
    services: [],
    forwards: [],
  };
  // Status reports; it fails only on bad input. No cluster yet (before the first `up`,
  // after `destroy`) is a state to report, and so is a k3d that cannot be run: the data
  // services are reported either way.
  let reachable = false;
  const { connect } = await import('../../kube/client.ts');
  let client: ReturnType<typeof connect> | undefined;
  if (target.kind === 'k3d') {
    const k3d = await import('../../cluster/k3d.ts');
    const { clusterName } = await import('../../cluster/k3dconfig.ts');
    try {
      const c = await k3d.getCluster(clusterName(config.project));
      report.cluster.state = c ? (k3d.isRunning(c) ? 'running' : 'stopped') : 'absent';
      if (!c) report.cluster.detail = 'no k3d cluster yet: "devenv up" creates it';
    } catch (err) {
      report.cluster.state = 'unknown';
      report.cluster.detail = (err as Error).message;
    }
    if (report.cluster.state === 'running') {
      const { clusterBindings, compareBindings } = await import('../../cluster/exposure.ts');
      const bound = await clusterBindings(config.project).catch(() => []);
      report.cluster.published = compareBindings(config, bound).map((b) => ({
        what: b.what,
        addresses: b.actual,
        expected: b.expected,
        ok: b.ok,
      }));
      try {
        client = connect({ context: target.context, timeoutMs: 5000 });
        reachable = true;
      } catch (err) {
        // The cluster runs but its context left the kubeconfig (edited by hand?).
        report.cluster.detail = `${(err as Error).message} ("k3d kubeconfig merge ${clusterName(config.project)} --kubeconfig-merge-default --kubeconfig-switch-context=false" restores it)`;
      }
    }
  } else {
    client = connect({
      context: target.context,
      ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
      timeoutMs: 5000,
    });
    try {
      await (await import('../../kube/reads.ts')).serverVersion(client);
      report.cluster.state = 'reachable';
      reachable = true;
    } catch (err) {
      report.cluster.state = 'unreachable';
      report.cluster.detail = (err as Error).message;
    }
  }
  if (config.database || config.objectStore) {
    const { dataStatus } = await import('../../data/index.ts');
    try {
      report.data = (await dataStatus(config.project)).containers;
    } catch (err) {
      report.cluster.detail ??= (err as Error).message;
    }
  }
  if (reachable && client) {
    const { workloadStatus } = await import('../../kube/rollout.ts');
    const { listWorkloads } = await import('../../kube/reads.ts');
    const { serviceOfSource } = await import('../../kube/attribution.ts');
    const { ownerSelector } = await import('../../manifests/types.ts');
    const byService = new Map(
      config.services.map((s) => [s.name, [] as StatusReport['services'][number]['workloads']]),
    );
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
      const items = await listWorkloads(client, kind, ownerSelector(config.project, 'dev'));
      for (const item of items) {
        const source = item.metadata.annotations?.['dev.devenv/source'] ?? '';
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
    report.services = [...byService].map(([name, workloads]) => ({ name, workloads }));
  }
  report.forwards = await forwardStatus(loaded);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const st = report.cluster.state;
  const mark =
    st === 'running' || st === 'reachable'
      ? green(st)
      : st === 'stopped' || st === 'absent'
        ? yellow(st)
        : red(st, process.stdout);
  process.stdout.write(
    `project ${config.project}\ncluster  ${target.kind} ${dim(target.context)}  ${mark}${report.cluster.detail ? `  ${dim(report.cluster.detail)}` : ''}\n`,
  );
  for (const d of report.data)
    process.stdout.write(
      `data     ${d.role.padEnd(12)} ${d.container}  ${d.status}${d.health ? ` (${d.health})` : ''}\n`,
    );
  for (const s of report.services) {
    if (s.workloads.length === 0)
      process.stdout.write(`service  ${s.name.padEnd(12)} ${dim('not deployed')}\n`);
    for (const w of s.workloads) {
      process.stdout.write(
        `service  ${s.name.padEnd(12)} ${w.kind} ${w.namespace}/${w.name}  ${w.ready ? green('ready') : yellow(w.message)}\n`,
      );
    }
  }
  for (const f of report.forwards)
    process.stdout.write(
      `forward  ${f.service.padEnd(12)} ${f.address} → ${f.target}  ${f.listening ? green(`listening (${f.holder})`) : dim('not open ("devenv up" opens it while watching)')}\n`,
    );
  return 0;
}

/** The configured forwards (resolved against the manifests where they load) and who listens on each. */
async function forwardStatus(loaded: LoadedConfig): Promise<StatusReport['forwards']> {
  const { config } = loaded;
  if (!config.services.some((s) => (s.forwards ?? []).length > 0)) return [];
  const { isPortFree, describePortHolder } = await import('../../net/ports.ts');
  const { describeTarget, resolveForwards } = await import('../../engine/forwards.ts');
  const { loadManifests } = await import('../../manifests/load.ts');
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

/**
 * `devenv status [--json]`: the cluster, the data services and each service's rollout
 * state, read-only. The JSON shape (schemaVersion 1) is documented in the README; it
 * carries no secret (ports and container names only).
 */
import { loadConfig } from '../../config/load.ts';
import { resolveTarget } from '../../engine/target.ts';
import { dim, green, red, yellow } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  json?: boolean;
  context?: string;
  kubeconfig?: string;
}

export async function run(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const { config } = loaded;
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const { projectStatus } = await import('../../engine/status.ts');
  const report = await projectStatus(loaded, target);
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

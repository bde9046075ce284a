/**
 * `devenv logs SERVICE [-f] [--since 10m] [--grep RE] [--context CTX] [--kubeconfig FILE]`:
 * the logs of every pod of one service, each line printed as `[pod/container] line`.
 * `--grep RE` keeps the lines that match the regular expression (smart-case, tui/search.ts),
 * its matches in bold red on a colour terminal; an invalid one is bad input (exit 2).
 *
 * A service's pods are the pods of the workloads rendered from its manifests: workloads
 * carry the `dev.devenv/source` annotation (mapped to devenv.yaml's `services[].manifests`,
 * as `status` does) and their selectors pick the pods (engine/logs.ts).
 *   - without -f: the log of each container of each pod, pod by pod (a container waiting to
 *     restart shows its crashed run), then exit 0;
 *   - with -f: follows every container, and the pods that appear later (a rollout, a
 *     restart), until Ctrl-C; exit 0.
 * The cluster is chosen as `status` chooses it (src/engine/target.ts). An unknown service is
 * bad input: exit 2 with the list of services.
 */
import { loadConfig } from '../../config/load.ts';
import { DURATION_RE } from '../../config/schema.ts';
import { resolveTarget } from '../../engine/target.ts';
import { badInput } from '../../errors.ts';
import { dim, useColor } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  follow?: boolean;
  since?: string;
  grep?: string;
  context?: string;
  kubeconfig?: string;
}

/** "1h30m" → 5400; undefined for anything else (and for zero). */
export function durationSeconds(s: string): number | undefined {
  const m = DURATION_RE.exec(s.trim());
  if (!m || s.trim() === '') return undefined;
  const n = (x: string | undefined) => (x ? Number.parseInt(x, 10) : 0);
  const total = n(m[1]) * 3600 + n(m[2]) * 60 + n(m[3]);
  return total > 0 ? total : undefined;
}

/** Prints `[pod/container] line`; with a --grep pattern only matching lines, matches highlighted. */
export async function lineWriter(
  grep: string | undefined,
  stream: NodeJS.WritableStream = process.stdout,
  color = useColor(stream as NodeJS.WriteStream),
): Promise<(pod: string, container: string, line: string) => void> {
  if (grep === undefined) return (pod, container, line) => stream.write(`[${pod}/${container}] ${line}\n`);
  const { compileSearch, highlightAnsi } = await import('../../tui/search.ts');
  const search = compileSearch(grep);
  if (!search.ok) throw badInput(`--grep "${grep}" is ${search.error}.`);
  const re = search.re;
  return (pod, container, line) => {
    if (!re.test(line)) return;
    stream.write(`[${pod}/${container}] ${color ? highlightAnsi(re, line) : line}\n`);
  };
}

export async function run(opts: Flags, args: string[], global: GlobalOptions): Promise<number> {
  const { config } = loadConfig(global.config);
  const name = args[0] ?? '';
  const names = config.services.map((s) => s.name);
  if (!names.includes(name)) {
    throw badInput(
      `no service "${name}" in project ${config.project}.`,
      names.length > 0 ? [`services: ${names.join(', ')}`] : ['devenv.yaml declares no services'],
    );
  }
  let sinceSeconds: number | undefined;
  if (opts.since !== undefined) {
    sinceSeconds = durationSeconds(opts.since);
    if (sinceSeconds === undefined)
      throw badInput(`--since "${opts.since}" is not a duration; use e.g. 30s, 10m, 1h30m.`);
  }
  const out = await lineWriter(opts.grep);
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const { connect } = await import('../../kube/client.ts');
  const client = connect({
    context: target.context,
    ...(target.kind === 'existing' && target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
  });
  const logs = await import('../../engine/logs.ts');
  const since = sinceSeconds ? { sinceSeconds } : {};
  const warn = (text: string) => process.stderr.write(`${dim(text, process.stderr)}\n`);
  if (!opts.follow) {
    const pods = await logs.readServiceLogs(client, config, name, since, {
      line: out,
      unavailable: (pod, container, err) =>
        warn(`[${pod}/${container}] log unavailable: ${(err as Error).message}`),
    });
    if (pods === 0) warn(`service ${name} has no pods in ${target.context} (not deployed?)`);
    return 0;
  }
  const watch = await logs.followServiceLogs(
    client,
    config,
    name,
    since,
    { line: out },
    (what, err, retryMs) =>
      warn(
        `${what}: ${(err as Error)?.message ?? String(err)}${retryMs ? ` (retrying in ${Math.round(retryMs / 100) / 10} s)` : ''}`,
      ),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watch.stop();
  return 0;
}

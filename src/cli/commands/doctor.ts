import { findConfigFile, loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import {
  type CheckResult,
  checkDisk,
  checkDocker,
  checkK3d,
  checkKubectl,
  checkNode,
  checkPorts,
  summarize,
} from '../../doctor/checks.ts';
import { EXIT_FAILURE } from '../../errors.ts';
import type { GlobalOptions } from '../main.ts';
import { dim, green, red, yellow } from '../output.ts';

export async function run(opts: { json?: boolean }, _args: string[], global: GlobalOptions): Promise<number> {
  const file = global.config ?? findConfigFile();
  let config: Config | undefined;
  if (file) config = loadConfig(file).config; // a broken config is reported (exit 2) rather than half-checked

  const docker = await checkDocker();
  const holders = new Map<number, { name: string; project?: string }>();
  if (docker.status !== 'fail') {
    const { publishedPorts } = await import('../../docker/engine.ts');
    for (const p of await publishedPorts().catch(() => [])) {
      holders.set(p.hostPort, { name: p.containerName, project: p.labels['dev.devenv/project'] });
    }
  }
  const checks: CheckResult[] = [
    await checkNode(),
    docker,
    ...(await Promise.all([
      checkK3d(),
      checkKubectl(),
      checkPorts(config, holders),
      checkDisk(process.cwd()),
    ])),
  ];
  const report = summarize(checks);

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const c of checks) {
      const mark = {
        ok: green('ok  '),
        warn: yellow('warn'),
        fail: red('FAIL', process.stdout),
        skip: dim('skip'),
      }[c.status];
      process.stdout.write(`${mark}  ${c.title.padEnd(20)} ${c.detail}\n`);
      if (c.fix && c.status !== 'ok') process.stdout.write(`      ${dim('fix:')} ${c.fix}\n`);
    }
    process.stdout.write(
      report.ok
        ? `\n${green('All required checks passed.')}\n`
        : `\n${red('A required check failed.', process.stdout)}\n`,
    );
  }
  return report.ok ? 0 : EXIT_FAILURE;
}

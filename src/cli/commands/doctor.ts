import { findConfigFile, type LoadedConfig, loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import {
  type CheckResult,
  checkDisk,
  checkDocker,
  checkHelm,
  checkK3d,
  checkKubectl,
  checkNode,
  checkPorts,
  summarize,
} from '../../doctor/checks.ts';
import { EXIT_FAILURE } from '../../errors.ts';
import { LABEL_PROJECT } from '../../labels.ts';
import { dim, green, red, yellow } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

export async function run(opts: { json?: boolean }, _args: string[], global: GlobalOptions): Promise<number> {
  const file = global.config ?? findConfigFile();
  let config: Config | undefined;
  let loaded: LoadedConfig | undefined;
  if (file) {
    loaded = loadConfig(file); // a broken config is reported (exit 2) rather than half-checked
    config = loaded.config;
  }

  const docker = await checkDocker();
  const holders = new Map<number, { name: string; project?: string }>();
  if (docker.status !== 'fail') {
    const { publishedPorts } = await import('../../docker/engine.ts');
    for (const p of await publishedPorts().catch(() => [])) {
      holders.set(p.hostPort, { name: p.containerName, project: p.labels[LABEL_PROJECT] });
    }
  }
  // Where the project's cluster listens (live bindings against cluster.expose).
  const { exposureCheck } = await import('../../doctor/exposure.ts');
  const { clusterBindings } = await import('../../cluster/exposure.ts');
  const bound =
    config && docker.status !== 'fail'
      ? await clusterBindings(config.project).catch(() => undefined)
      : undefined;
  const checks: CheckResult[] = [
    await checkNode(),
    docker,
    ...(await Promise.all([
      checkK3d(),
      checkKubectl(),
      checkHelm(config),
      checkPorts(config, holders),
      checkDisk(process.cwd()),
    ])),
    exposureCheck(config, bound),
    ...(loaded && docker.status !== 'fail' ? [await checkImages(loaded)] : []),
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

/** The images `up` would need (the same pre-flight `up` runs), present or pullable. */
async function checkImages(loaded: LoadedConfig): Promise<CheckResult> {
  const { checkPreflight } = await import('../../engine/preflight.ts');
  const { k3dConfigFile } = await import('../../engine/up.ts');
  const r = await checkPreflight({
    loaded,
    k3dConfigFile: k3dConfigFile(loaded.root, loaded.config.cluster.config),
  });
  const pulls = r.images.filter((i) => i.state === 'pullable').length;
  const data = {
    images: r.images.map((i) => ({ ref: i.ref, what: i.what, state: i.state })),
    missing: r.imageProblems,
  };
  if (r.imageProblems.length > 0) {
    return {
      id: 'images',
      title: 'images',
      required: true,
      status: 'fail',
      detail: r.imageProblems.join('\n      '),
      fix: 'Set the image named in each line to one you can pull (see "set at"), or pull it once with "docker pull".',
      data,
    };
  }
  return {
    id: 'images',
    title: 'images',
    required: true,
    status: 'ok',
    detail: `${r.images.length} needed: ${r.images.length - pulls} present, ${pulls} pullable`,
    data,
  };
}

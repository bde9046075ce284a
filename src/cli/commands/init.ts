/**
 * `devenv init`: a starter devenv.yaml from what engine/detect.ts finds in the checkout, or
 * (`--ci gitlab|github`) the nightly prerelease pipeline.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONFIG_FILE } from '../../config/load.ts';
import { renderStarterConfig, toDnsLabel } from '../../config/starter.ts';
import { detectServices } from '../../engine/detect.ts';
import { badInput } from '../../errors.ts';
import { green } from '../../tui/color.ts';

export async function run(opts: { force?: boolean; stdout?: boolean; ci?: string }): Promise<number> {
  const root = process.cwd();
  if (opts.ci !== undefined) return writeCiTemplate(root, opts.ci, opts);
  const target = join(root, CONFIG_FILE);
  if (existsSync(target) && !opts.force && !opts.stdout) {
    throw badInput(
      `${CONFIG_FILE} already exists; pass --force to overwrite it or --stdout to print a starter.`,
    );
  }
  const services = detectServices(root);
  const text = renderStarterConfig({ project: toDnsLabel(basename(root)), services });
  if (opts.stdout) {
    process.stdout.write(text);
    return 0;
  }
  writeFileSync(target, text);
  const lines = services.map((s) => {
    const charts = (s.charts ?? []).map((c) => `Helm chart ${c}`);
    const what = [...s.manifests, ...charts].join(', ') || 'no manifests found (TODO in the file)';
    return `  ${s.name} (${s.context}): ${what}\n`;
  });
  process.stdout.write(
    `${green('wrote')} ${CONFIG_FILE}: ${services.length} service(s) detected. Check it with "devenv config validate".\n${lines.join('')}`,
  );
  return 0;
}

/** `devenv init --ci gitlab|github`: the nightly prerelease pipeline (gc, up, test, always down). */
async function writeCiTemplate(
  root: string,
  kind: string,
  opts: { force?: boolean; stdout?: boolean },
): Promise<number> {
  const { ciTemplate, CI_TEMPLATE_FILES } = await import('../../prerelease/ci-templates.ts');
  if (kind !== 'gitlab' && kind !== 'github')
    throw badInput(`--ci must be "gitlab" or "github", not "${kind}"`);
  const text = ciTemplate(kind);
  if (opts.stdout) {
    process.stdout.write(text);
    return 0;
  }
  const target = join(root, CI_TEMPLATE_FILES[kind]);
  if (existsSync(target) && !opts.force)
    throw badInput(`${CI_TEMPLATE_FILES[kind]} already exists; pass --force to overwrite it.`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  process.stdout.write(
    `${green('wrote')} ${CI_TEMPLATE_FILES[kind]}: nightly prerelease (gc, up, test, always down, artifacts uploaded)\n`,
  );
  return 0;
}

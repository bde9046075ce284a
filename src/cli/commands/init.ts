import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { CONFIG_FILE } from '../../config/load.ts';
import { type DetectedService, renderStarterConfig, toDnsLabel } from '../../config/starter.ts';
import { badInput } from '../../errors.ts';
import { green } from '../output.ts';

const SKIP = new Set(['node_modules', '.git', 'vendor', 'dist', 'build', 'target', '.venv', '__pycache__']);
const MANIFEST_DIRS = ['k8s', 'kubernetes', 'manifests', 'deploy', 'kustomize'];

/** Dockerfiles up to 4 levels deep, skipping dependency and build folders. */
function findDockerfiles(root: string, dir = root, depth = 0, out: string[] = []): string[] {
  if (depth > 4) return out;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries.sort()) {
    if (SKIP.has(e) || e.startsWith('.')) continue;
    const p = join(dir, e);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) findDockerfiles(root, p, depth + 1, out);
    else if (e === 'Dockerfile') out.push(relative(root, p));
  }
  return out;
}

export async function run(opts: { force?: boolean; stdout?: boolean; ci?: string }): Promise<number> {
  const root = process.cwd();
  if (opts.ci !== undefined) return writeCiTemplate(root, opts.ci, opts);
  const target = join(root, CONFIG_FILE);
  if (existsSync(target) && !opts.force && !opts.stdout) {
    throw badInput(
      `${CONFIG_FILE} already exists; pass --force to overwrite it or --stdout to print a starter.`,
    );
  }
  const manifestsRoot = MANIFEST_DIRS.find(
    (d) => existsSync(join(root, d)) && statSync(join(root, d)).isDirectory(),
  );
  const services: DetectedService[] = findDockerfiles(root).map((df) => {
    const context = df.includes('/') ? df.slice(0, df.lastIndexOf('/')) : '.';
    const name = toDnsLabel(context === '.' ? basename(root) : basename(context));
    let manifests: string[] = [];
    if (manifestsRoot) {
      const own = join(manifestsRoot, name);
      manifests = existsSync(join(root, own)) ? [own] : [manifestsRoot];
    }
    return { name, context, dockerfile: 'Dockerfile', manifests };
  });
  const text = renderStarterConfig({ project: toDnsLabel(basename(root)), services });
  if (opts.stdout) {
    process.stdout.write(text);
    return 0;
  }
  writeFileSync(target, text);
  process.stdout.write(
    `${green('wrote')} ${CONFIG_FILE}: ${services.length} service(s) detected. Check it with "devenv config validate".\n`,
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

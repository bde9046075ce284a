/**
 * The npm package as a user gets it: `npm pack` (prepack compiles src/ to dist/), then a
 * fresh project adds it the way the README says (`npm install --save-dev --save-exact`,
 * dependencies from the npm registry), and its node_modules/.bin/devenv runs: the version,
 * and the CI pipelines it writes, which must only run what that project's real
 * package-lock.json pins. Also: the tarball holds only what a user runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolMissing } from '../setup/tier.ts';
import { lockfileBins, pipelineCommands, unpinnedFetches } from '../support/ci-pins.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
const registry = npm(['ping'], root);
if (registry.status !== 0)
  toolMissing(
    'package',
    `the npm registry is not reachable (npm ping: ${registry.stderr.trim().split('\n')[0]})`,
  );

describe('npm pack --dry-run: the name and only the files a user needs', () => {
  it('lists the compiled CLI, compose files, k3d config, ClusterRole and Gateway API CRDs; no sources, tests or fixtures', () => {
    const r = npm(['pack', '--dry-run', '--json'], root);
    expect(r.status, r.stderr).toBe(0);
    const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{
      name: string;
      files: Array<{ path: string }>;
    }>;
    expect(info!.name).toBe('@devenv-dev/devenv');
    const files = info!.files.map((f) => f.path);
    expect(files).toContain('devenv');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('k3d/cluster.yaml');
    expect(files).toContain('compose/postgres.yaml');
    expect(files).toContain('src/prerelease/clusterrole.yaml');
    // The pinned Gateway API CRDs (src/cluster/gateway.ts reads them at up).
    expect(files).toContain('src/cluster/gateway-api/gateway.networking.k8s.io_httproutes.yaml');
    const unexpected = files.filter(
      (f) =>
        !/^dist\/.+\.js$/.test(f) &&
        !/^compose\/[\w-]+\.yaml$/.test(f) &&
        !['devenv', 'package.json', 'README.md', 'LICENSE', 'k3d/cluster.yaml'].includes(f) &&
        f !== 'src/prerelease/clusterrole.yaml' &&
        !/^src\/cluster\/gateway-api\/(gateway\.networking\.k8s\.io_\w+\.yaml|README\.md)$/.test(f),
    );
    expect(unexpected).toEqual([]);
    // prepack's build is removed again by postpack: a checkout keeps running its sources.
    expect(existsSync(join(root, 'dist'))).toBe(false);
  }, 120_000);
});

describe.skipIf(registry.status !== 0)('a project that adds devenv as the README says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-consumer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let lock = '';
  beforeAll(() => {
    const packed = npm(['pack', '--pack-destination', dir, '--json'], root);
    expect(packed.status, packed.stderr).toBe(0);
    const { filename } = (
      JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>
    )[0]!;
    writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "version": "1.0.0", "private": true }\n');
    const r = npm(
      [
        'install',
        '--save-dev',
        '--save-exact',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        `./${filename}`,
      ],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    lock = readFileSync(join(dir, 'package-lock.json'), 'utf8');
  }, 300_000);

  const devenv = (...args: string[]) =>
    spawnSync(join(dir, 'node_modules', '.bin', 'devenv'), args, { cwd: dir, encoding: 'utf8' });

  it('node_modules/.bin/devenv runs from the compiled package and reports the pinned version', () => {
    const r = devenv('--version');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(lockfileBins(lock).get('devenv')).toEqual({ pkg: pkg.name, version: pkg.version });
    expect(existsSync(join(dir, 'node_modules', ...pkg.name.split('/'), 'src', 'cli'))).toBe(false);
  });

  for (const kind of ['gitlab', 'github'] as const) {
    it(`the ${kind} pipeline it writes runs only what this project's lockfile pins`, () => {
      const r = devenv('init', '--ci', kind, '--stdout');
      expect(r.status, r.stderr).toBe(0);
      const problems = unpinnedFetches(pipelineCommands(kind, r.stdout), lockfileBins(lock));
      expect(problems).toEqual([]);
      // And the same check against a lockfile without devenv fails (the check can fail).
      const empty = JSON.stringify({ lockfileVersion: 3, packages: { '': {} } });
      expect(unpinnedFetches(pipelineCommands(kind, r.stdout), lockfileBins(empty)).length).toBeGreaterThan(
        0,
      );
    });
  }
});

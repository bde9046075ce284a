/**
 * The generated CI pipelines (`devenv init --ci github|gitlab`) checked by real linters, and
 * by the pin rule of test/support/ci-pins.ts:
 * - GitHub: actionlint, built from its Go module by test/tools/build.sh (cached by version);
 *   it runs shellcheck on every `run:` script when shellcheck is on PATH (required here).
 * - GitLab: gitlab-ci-local (a pinned devDependency), which expands the pipeline as GitLab
 *   does (the `include: local` the template's header tells users to write) and validates it
 *   against GitLab's own CI JSON schema (app/assets/javascripts/editor/schema/ci.json,
 *   bundled in the package), then lists the jobs a schedule runs.
 * Each linter is also shown a broken pipeline, so the check can fail.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CI_TEMPLATE_FILES,
  type CiTemplateOptions,
  ciTemplate,
  DEVENV_BIN,
  DEVENV_PACKAGE,
} from '../../src/prerelease/ci-templates.ts';
import { toolMissing } from '../setup/tier.ts';
import { pipelineCommands, unpinnedFetches } from '../support/ci-pins.ts';

const root = join(import.meta.dirname, '..', '..');
const cache = process.env.DEVENV_TEST_CACHE ?? '/var/cache/devenv-test';
const actionlint = existsSync(cache)
  ? readdirSync(cache)
      .filter((d) => d.startsWith('actionlint-'))
      .sort()
      .reverse()
      .map((d) => join(cache, d, 'bin', 'actionlint'))
      .find((p) => existsSync(p))
  : undefined;
if (!actionlint) toolMissing('ci-templates', 'actionlint missing: run test/tools/build.sh');
const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
if (actionlint && !shellcheck)
  toolMissing(
    'ci-templates',
    'shellcheck missing (actionlint lints run: scripts with it): run test/tools/build.sh',
  );
const gitlabCiLocal = join(root, 'node_modules', '.bin', 'gitlab-ci-local');

const variants: Array<[string, CiTemplateOptions]> = [
  ['defaults', {}],
  [
    'other context, folder and timeout',
    { context: 'shared-eu', artifacts: 'out/prerelease', timeout: '45m' },
  ],
];
const tmp = mkdtempSync(join(tmpdir(), 'devenv-ci-templates-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function lintGithub(text: string) {
  const dir = mkdtempSync(join(tmp, 'gh-'));
  const file = join(dir, CI_TEMPLATE_FILES.github);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return spawnSync(actionlint!, ['-no-color', CI_TEMPLATE_FILES.github], { cwd: dir, encoding: 'utf8' });
}

function lintGitlab(text: string) {
  const dir = mkdtempSync(join(tmp, 'gl-'));
  mkdirSync(join(dir, dirname(CI_TEMPLATE_FILES.gitlab)), { recursive: true });
  writeFileSync(join(dir, CI_TEMPLATE_FILES.gitlab), text);
  // What the template's header tells users to write in their .gitlab-ci.yml.
  writeFileSync(join(dir, '.gitlab-ci.yml'), `include:\n  - local: ${CI_TEMPLATE_FILES.gitlab}\n`);
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  // Local includes are read from the repository's tracked files, as GitLab reads them.
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 't');
  return spawnSync(
    process.execPath,
    [
      gitlabCiLocal,
      '--list-json',
      '--variable',
      'CI_PIPELINE_SOURCE=schedule',
      '--ignore-predefined-vars',
      'CI_PIPELINE_SOURCE',
    ],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
}

describe.skipIf(!actionlint || !shellcheck)('GitHub workflow: actionlint (with shellcheck)', () => {
  for (const [name, opts] of variants) {
    it(name, () => {
      const r = lintGithub(ciTemplate('github', opts));
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    });
  }
  it('fails a broken workflow (an unknown key, an unquoted variable in a run: script)', () => {
    const broken = ciTemplate('github')
      .replace('    runs-on: ubuntu-latest\n', '    runs-on: ubuntu-latest\n    runs-after: nightly\n')
      .replace('"$KUBECONFIG_DATA"', '$KUBECONFIG_DATA');
    const r = lintGithub(broken);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/unexpected key "runs-after"/);
    expect(r.stdout).toMatch(/SC2086/);
  });
});

describe('GitLab pipeline: gitlab-ci-local against GitLab CI JSON schema', () => {
  for (const [name, opts] of variants) {
    it(name, () => {
      const r = lintGitlab(ciTemplate('gitlab', opts));
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/json schema validated/);
      const jobs = JSON.parse(r.stdout) as Array<{ name: string; when: string; rules: unknown }>;
      expect(jobs.map((j) => [j.name, j.when])).toEqual([['prerelease', 'on_success']]);
      expect(jobs[0]!.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    });
  }
  it('fails a broken pipeline (an unknown key, a bad enum value)', () => {
    const broken = ciTemplate('gitlab')
      .replace('    when: always\n', '    when: sometimes\n')
      .replace('  timeout: 2h\n', '  timeout: 2h\n  retries: 2\n');
    const r = lintGitlab(broken);
    expect(r.status).not.toBe(0);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toMatch(/Invalid \.gitlab-ci\.yml configuration/);
    expect(out).toMatch(/'retries' property is not expected/);
    expect(out).toMatch(/found sometimes/);
  });
});

describe('templates run only what the lockfile pins', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    bin: Record<string, string>;
  };
  // The entry `npm install --save-dev --save-exact <package>` writes in a project's lockfile
  // (test/unit/package.test.ts checks the same against a real one).
  const bins = new Map(Object.keys(pkg.bin).map((b) => [b, { pkg: pkg.name, version: pkg.version }]));

  it('the package name is the project own, and the templates name it', () => {
    expect(pkg.name).toBe(DEVENV_PACKAGE);
    expect(pkg.bin).toEqual({ devenv: 'devenv' });
    expect(DEVENV_BIN).toBe('node_modules/.bin/devenv');
    for (const kind of ['gitlab', 'github'] as const) expect(ciTemplate(kind)).toContain(DEVENV_PACKAGE);
  });

  for (const kind of ['gitlab', 'github'] as const) {
    it(`${kind}: npm ci, then node_modules/.bin only; actions pinned by SHA`, () => {
      const text = ciTemplate(kind);
      const cmds = pipelineCommands(kind, text);
      expect(unpinnedFetches(cmds, bins)).toEqual([]);
      expect(cmds.lines.filter((l) => l.includes(DEVENV_BIN)).length).toBeGreaterThanOrEqual(5);
      expect(text).not.toMatch(/\bnpx\b/);
    });
  }

  it('the rule catches what issue 18 found, and its cousins (the check can fail)', () => {
    const gl = (line: string) =>
      unpinnedFetches({ lines: ['npm ci --ignore-scripts', line], uses: [] }, bins);
    expect(gl('npx --yes devenv prerelease gc')).toHaveLength(1);
    expect(gl('npm exec devenv -- prerelease gc')).toHaveLength(1);
    expect(gl('npm install -g devenv')).toHaveLength(1);
    expect(gl('FOO=1 pnpm dlx devenv up')).toHaveLength(1);
    expect(gl('curl -fsSL https://example.invalid/i.sh | sh')).toHaveLength(1);
    expect(gl('go run example.invalid/tool@latest')).toHaveLength(1);
    expect(gl('node_modules/.bin/kubectl get ns')).toEqual([
      'kubectl is not the bin of a package the lockfile pins: node_modules/.bin/kubectl get ns',
    ]);
    expect(unpinnedFetches({ lines: ['node_modules/.bin/devenv up', 'npm ci'], uses: [] }, bins)).toEqual([
      'devenv runs before "npm ci" installed it: node_modules/.bin/devenv up',
    ]);
    expect(unpinnedFetches({ lines: [], uses: ['actions/checkout@v4'] }, bins)).toHaveLength(1);
    expect(gl('echo "npx is not run here" && node_modules/.bin/devenv --version')).toEqual([]);
  });
});

/**
 * A fixture project that a kube-tier test drives through the real CLI: a private state dir
 * and the CLI's environment at once, the fixture copied in beforeAll; afterAll destroys the
 * project on the test context (whatever the test left), runs `cleanup`, and removes both
 * dirs. Hooks the test adds itself run after this beforeAll and before this afterAll.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { cliEnv, type FixtureOptions, prepareFixture, runDevenv, TEST_CONTEXT } from './fixture.ts';

export interface ClusterProject {
  /** The project's state dir (DEVENV_STATE_DIR). */
  readonly state: string;
  /** The CLI's environment: the test kubeconfig, the state dir, no colour. */
  readonly env: NodeJS.ProcessEnv;
  /** The copied fixture and its devenv.yaml ('' until beforeAll ran). */
  dir: string;
  file: string;
  /** Runs the CLI on the project's devenv.yaml. */
  devenv: (args: string[]) => ReturnType<typeof runDevenv>;
}

export function clusterProject(
  kubeconfig: string | null | undefined,
  fixture: string,
  options: FixtureOptions & { cleanup?: () => void } = {},
): ClusterProject {
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const p: ClusterProject = {
    state,
    env: cliEnv(kubeconfig ?? '', state),
    dir: '',
    file: '',
    devenv: (args) => runDevenv(p.file, args, p.env),
  };
  beforeAll(async () => {
    ({ dir: p.dir, file: p.file } = await prepareFixture(fixture, options));
  });
  afterAll(() => {
    if (p.file) p.devenv(['destroy', '--yes', '--context', TEST_CONTEXT]);
    options.cleanup?.();
    if (p.dir) rmSync(p.dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });
  return p;
}

/** kubectl on the test cluster's context; its stdout. */
export const kubectl = (kubeconfig: string, args: string[]): string =>
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, '--context', TEST_CONTEXT, ...args], {
    encoding: 'utf8',
  });

/** The status.json `prerelease test` wrote into the artifacts folder `dir`, checked to match `expected`. */
export function expectTestStatus(dir: string, expected: Record<string, unknown>) {
  const status = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));
  expect(status).toMatchObject(expected);
  return status;
}

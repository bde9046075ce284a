/**
 * Shared by the kube-tier tests and the benchmarks that run devenv on a fixture: a temp
 * copy of fixtures/<name> whose devenv.yaml is adjusted THROUGH CONFIGURATION only (the
 * offline base and data images, free host ports, the allow-listed test context), and a
 * runner for the real CLI against it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as YAML from 'yaml';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DEVENV = join(ROOT, 'devenv');
/** The context of the kube tier's test cluster (test/cluster/start.sh). */
export const TEST_CONTEXT = 'devenv-test';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface FixtureOptions {
  /** Project name (default: the fixture's). */
  project?: string;
  context?: string;
  /** Keep the services' sync rules (default true). */
  sync?: boolean;
}

/** Copies a fixture to a temp dir and points its config at the offline images and the test cluster. */
export async function prepareFixture(
  fixture: string,
  opts: FixtureOptions = {},
): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), `devenv-${fixture}-`));
  cpSync(join(ROOT, 'fixtures', fixture), dir, { recursive: true });
  const file = join(dir, 'devenv.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  if (opts.project) doc.set('project', opts.project);
  doc.setIn(['cluster', 'allowContexts'], [opts.context ?? TEST_CONTEXT]);
  for (const svc of (doc.get('services') as YAML.YAMLSeq).items as YAML.YAMLMap[]) {
    svc.setIn(['buildArgs', 'BASE_IMAGE'], 'devenv-test/python:3.11');
    if (opts.sync === false) svc.delete('sync');
  }
  if (doc.has('database')) {
    const engine = doc.getIn(['database', 'engine']);
    doc.setIn(
      ['database', 'image'],
      engine === 'postgres' ? 'devenv-test/postgres:15' : 'devenv-test/mariadb:10.11',
    );
    doc.setIn(['database', 'port'], await freePort());
  }
  if (doc.has('objectStore')) {
    doc.setIn(['objectStore', 'image'], 'devenv-test/minio:latest');
    doc.setIn(['objectStore', 'port'], await freePort());
    doc.setIn(['objectStore', 'consolePort'], await freePort());
  }
  writeFileSync(file, doc.toString());
  return { dir, file };
}

/** The environment the CLI runs with in tests: the test kubeconfig, a private state dir, no colour. */
export function cliEnv(kubeconfig: string, stateDir: string): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: kubeconfig, DEVENV_STATE_DIR: stateDir, NO_COLOR: '1' };
}

/** Runs the real CLI on a prepared fixture; stdout and stderr together in `out`. */
export function runDevenv(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { code: number | null; out: string; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [DEVENV, '-c', file, ...args], {
    encoding: 'utf8',
    env,
    timeout: 900_000,
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

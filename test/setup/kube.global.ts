import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { engineMissing } from './tier.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string | null;
  }
}

const root = join(import.meta.dirname, '..', '..');

/**
 * Gives the kube tier a real cluster: DEVENV_TEST_KUBECONFIG if set (a cluster someone
 * already runs), else the one test/cluster/start.sh starts from cached binaries (built by
 * test/cluster/build.sh, which .ci/run calls). Stops it at the end only if it started it.
 */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const given = process.env.DEVENV_TEST_KUBECONFIG;
  if (given) {
    project.provide('kubeconfig', given);
    return undefined;
  }
  const start = join(root, 'test', 'cluster', 'start.sh');
  if (!existsSync(start)) {
    engineMissing('kube', 'test/cluster/start.sh is missing', '');
    project.provide('kubeconfig', null);
    return undefined;
  }
  const t0 = Date.now();
  let output = '';
  try {
    output = execFileSync('bash', [start], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 300_000,
      encoding: 'utf8',
    });
    process.stderr.write(output);
  } catch (err) {
    project.provide('kubeconfig', null);
    engineMissing(
      'kube',
      `test/cluster/start.sh failed (${(err as Error).message.split('\n')[0]})`,
      'Its output above names the failing component and log; "bash test/cluster/build.sh" builds what it needs.',
    );
    return undefined;
  }
  const state = process.env.DEVENV_TEST_CLUSTER_DIR ?? '/tmp/devenv-test-cluster';
  const kubeconfig = join(state, 'kubeconfig');
  process.stderr.write(
    `[kube tier] cluster started in ${((Date.now() - t0) / 1000).toFixed(1)} s; KUBECONFIG=${kubeconfig}\n`,
  );
  process.env.DEVENV_TEST_KUBECONFIG = kubeconfig;
  project.provide('kubeconfig', kubeconfig);
  // A cluster that was already running belongs to whoever started it: leave it running.
  const reused = /reusing the running cluster/.test(output);
  return () => {
    if (reused || process.env.DEVENV_TEST_KEEP_CLUSTER) return;
    execFileSync('bash', [join(root, 'test', 'cluster', 'stop.sh')], { stdio: 'inherit' });
  };
}

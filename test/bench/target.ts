/**
 * Where a benchmark runs, chosen by BENCH_TARGET:
 *   kube (default)  the kube tier's test cluster (KUBECONFIG=/tmp/devenv-test-cluster/
 *                   kubeconfig, context BENCH_CONTEXT or devenv-test), allow-listed in a
 *                   copied config: no cluster step;
 *   k3d             a fresh k3d cluster of the project's own, created by devenv's `up`, on
 *                   the node image the e2e tier finds (real k3s where present, else the
 *                   k3s-compatible stand-in built from upstream Kubernetes).
 * The benchmark calls devenv's engine in-process with `context` (undefined: k3d) and prints
 * `label`, so every figure says which cluster it came from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectE2eEnv } from '../setup/e2e.global.ts';
import { type K3dProject, prepareK3dProject } from '../support/e2e.ts';
import { prepareFixture } from '../support/fixture.ts';

export interface BenchTarget {
  kind: 'kube' | 'k3d';
  label: string;
  /** The allow-listed context for devenv's engine; undefined on k3d (devenv's own cluster). */
  context?: string;
  project: string;
  dir: string;
  file: string;
  /** k3d only: the project as the e2e tier prepares it (ports, private kubeconfig). */
  k3d?: K3dProject;
  /** Removes what the benchmark created. */
  cleanup(): Promise<void>;
}

export async function benchTarget(fixture: string, project: string): Promise<BenchTarget> {
  if (process.env.BENCH_TARGET === 'k3d') {
    const found = detectE2eEnv();
    if ('reason' in found) throw new Error(`BENCH_TARGET=k3d: ${found.reason}. ${found.remedy}`);
    const p = await prepareK3dProject(fixture, found.env, project);
    // devenv's engine runs in this process: it reads the same environment the CLI gets.
    Object.assign(process.env, p.env);
    return {
      kind: 'k3d',
      label: `k3d: ${found.summary}`,
      project,
      dir: p.dir,
      file: p.file,
      k3d: p,
      cleanup: async () => {
        p.run(['destroy', '--yes']);
        rmSync(p.dir, { recursive: true, force: true });
      },
    };
  }
  const context = process.env.BENCH_CONTEXT ?? 'devenv-test';
  process.env.KUBECONFIG ??= '/tmp/devenv-test-cluster/kubeconfig';
  process.env.DEVENV_STATE_DIR = mkdtempSync(join(tmpdir(), 'devenv-bench-state-'));
  const { dir, file } = await prepareFixture(fixture, { project, context, sync: true });
  return {
    kind: 'kube',
    label: `context ${context} (the kube tier's test cluster: upstream Kubernetes, one node)`,
    context,
    project,
    dir,
    file,
    cleanup: async () => {
      const { connect } = await import('../../src/kube/client.ts');
      const { deleteNamespace } = await import('../../src/kube/namespaces.ts');
      const { destroyDataServices } = await import('../../src/data/destroy.ts');
      await deleteNamespace(connect({ context }), project, { project, env: 'dev', wait: false }).catch(
        () => false,
      );
      await destroyDataServices(project);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

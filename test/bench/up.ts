/**
 * bench:up — `devenv up` on the pyapp fixture against a real cluster (the kube tier's test
 * cluster by default: KUBECONFIG / --context devenv-test, allow-listed in a copied config).
 * Reports:
 *   - cold up: wall time, each step's time, and the critical-path ratio
 *     total / slowest single step (goal <= 1.1: the parallel steps overlap);
 *   - warm up (nothing changed): wall time over 5 runs (goal <= 2 s).
 * Prints figures; asserts nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { ProgressEvent } from '../../src/engine/events.ts';
import { up } from '../../src/engine/up.ts';
import { prepareFixture } from '../support/fixture.ts';

const context = process.env.BENCH_CONTEXT ?? 'devenv-test';
process.env.KUBECONFIG ??= '/tmp/devenv-test-cluster/kubeconfig';
process.env.DEVENV_STATE_DIR = mkdtempSync(join(tmpdir(), 'devenv-bench-state-'));

const project = `bench${Date.now().toString(36).slice(-5)}`;
const { dir, file } = await prepareFixture('pyapp', { project, context, sync: true });
// A fresh version so the cold run really builds.
writeFileSync(join(dir, 'app', 'version.py'), `VERSION = "bench-${Date.now()}"\n`);

const steps = new Map<string, number>();
const onEvent = (e: ProgressEvent) => {
  if (e.type === 'step' && e.ms !== undefined && e.phase !== 'start' && e.phase !== 'progress')
    steps.set(e.id, e.ms);
};

const loaded = loadConfig(file);
const t0 = performance.now();
await up({ loaded, context, onEvent });
const cold = performance.now() - t0;
// The three parallel branches: cluster, data services (database), builds (build+load), then apply+rollouts.
const branch = (ids: string[]) => ids.reduce((s, id) => s + (steps.get(id) ?? 0), 0);
const cluster = branch(['cluster']);
const data = branch(['database', 'objectStore']);
const build = branch([...steps.keys()].filter((k) => k.startsWith('build:') || k.startsWith('load:')));
const after = [...steps.entries()]
  .filter(([k]) => k.startsWith('rollout:') || k === 'apply')
  .reduce((m, [, v]) => Math.max(m, v), 0);
const slowestParallel = Math.max(cluster, data, build);
const criticalPath =
  slowestParallel +
  (steps.get('apply') ?? 0) +
  [...steps.entries()].filter(([k]) => k.startsWith('rollout:')).reduce((m, [, v]) => Math.max(m, v), 0);

console.log(`bench:up pyapp on context ${context} (node ${process.versions.node})`);
console.log(`  cold up: ${(cold / 1000).toFixed(2)} s`);
console.log(
  `    cluster ${cluster} ms | data ${data} ms | build+load ${build} ms  -> slowest parallel branch ${slowestParallel} ms`,
);
console.log(
  `    apply ${steps.get('apply') ?? 0} ms, slowest rollout/apply ${after} ms, critical path ${criticalPath} ms`,
);
console.log(
  `    critical-path ratio (wall / critical path): ${(cold / criticalPath).toFixed(2)}  (goal <= 1.1)`,
);
console.log(
  `    ratio to the slowest single step (wall / ${slowestParallel} ms): ${(cold / slowestParallel).toFixed(2)}`,
);

const warm: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const r = await up({ loaded, context, onEvent: () => {} });
  warm.push(performance.now() - t);
  if (r.reconcile.writes !== 0) console.log(`  warning: warm run ${i} made ${r.reconcile.writes} writes`);
}
warm.sort((a, b) => a - b);
console.log(
  `  warm up (no change), 5 runs: median ${(warm[2]! / 1000).toFixed(2)} s, max ${(warm[4]! / 1000).toFixed(2)} s  (goal <= 2 s)`,
);

// Clean up what the benchmark created (labelled objects and data containers).
const { connect } = await import('../../src/kube/client.ts');
const { deleteNamespace } = await import('../../src/kube/namespaces.ts');
const { destroyDataServices } = await import('../../src/data/index.ts');
await deleteNamespace(connect({ context }), project, { project, env: 'dev', wait: false }).catch(() => false);
await destroyDataServices(project);
rmSync(dir, { recursive: true, force: true });
process.exit(0);

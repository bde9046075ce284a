/**
 * bench:startup — wall time of `devenv --help` (process start to exit), the latency a
 * user feels on every invocation. Goal (issue #2): median < 150 ms on the build machines.
 * Prints figures; asserts nothing (these machines are noisy).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const runs = Number(process.env.RUNS ?? 30);
const launcher = join(import.meta.dirname, '..', '..', 'devenv');
const times: number[] = [];
spawnSync(process.execPath, [launcher, '--help']); // warm the compile cache and the page cache
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [launcher, '--help'], { encoding: 'utf8' });
  times.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`devenv --help exited ${r.status}: ${r.stderr}`);
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
const bare = spawnSync(process.execPath, ['-e', '0']);
const t0 = performance.now();
for (let i = 0; i < 10; i++) spawnSync(process.execPath, ['-e', '0']);
const nodeOnly = (performance.now() - t0) / 10;
void bare;
console.log(`bench:startup devenv --help, ${runs} runs, node ${process.versions.node}`);
console.log(
  `  median ${q(0.5).toFixed(1)} ms   p95 ${q(0.95).toFixed(1)} ms   min ${times[0]!.toFixed(1)} ms   (goal: median < 150 ms)`,
);
console.log(`  bare "node -e 0": ${nodeOnly.toFixed(1)} ms (the floor)`);

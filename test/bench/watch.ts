/**
 * bench:watch — the reload loop's watcher over a generated 10,000-file service context
 * (plus a 5,000-file node_modules and a 2,000-file .dockerignore'd folder that must cost
 * nothing): time to `ready`, idle CPU over 5 s (process.cpuUsage), save → change-set
 * latency, and the content-tag scan of the same tree cold and warm (digest cache).
 * Prints figures as plain lines; asserts nothing (these machines are noisy).
 *
 *   node test/bench/watch.ts        FILES=10000 IDLE_S=5 to change the sizes
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashCache, scanContext } from '../../src/build/context.ts';
import { startWatchLoop } from '../../src/watch/loop.ts';
import { serviceConfig } from '../support/tree.ts';

const FILES = Number(process.env.FILES ?? 10_000);
const IDLE_S = Number(process.env.IDLE_S ?? 5);
const PER_DIR = 50;

const root = await mkdtemp(join(tmpdir(), 'devenv-bench-watch-'));
const ctx = join(root, 'svc');

async function genTree(base: string, count: number, label: string): Promise<number> {
  const dirs = new Set<string>();
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const d = join(base, `d${Math.floor(i / (PER_DIR * 10))}`, `s${Math.floor(i / PER_DIR) % 10}`);
    if (!dirs.has(d)) {
      dirs.add(d);
      await mkdir(d, { recursive: true });
    }
    jobs.push(writeFile(join(d, `f${i}.py`), `# ${label} ${i}\nprint(${i})\n`));
    if (jobs.length >= 256) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  return dirs.size;
}

const t0 = performance.now();
await mkdir(ctx, { recursive: true });
await writeFile(join(ctx, 'Dockerfile'), 'FROM devenv-test/python:3.11\nCOPY . /app\n');
await writeFile(join(ctx, '.dockerignore'), 'build/\n*.log\n');
const dirs = await genTree(join(ctx, 'src'), FILES, 'src');
await genTree(join(ctx, 'node_modules'), 5000, 'nm');
await genTree(join(ctx, 'build'), 2000, 'build');
const genMs = performance.now() - t0;

const service = serviceConfig({ name: 'bench', context: 'svc' });

console.log(`bench:watch node ${process.versions.node}, ${process.platform}`);
console.log(
  `  tree: ${FILES} files in ${dirs} dirs watched + 5000 in node_modules + 2000 .dockerignore'd (generated in ${genMs.toFixed(0)} ms)`,
);

// ---- watcher: ready, idle CPU, save → change set
let changeAt = 0;
let resolveChange: ((ms: number) => void) | undefined;
const cpuStart = process.cpuUsage();
const tReady0 = performance.now();
const loop = await startWatchLoop({
  root,
  services: [service],
  debounceMs: 150,
  onChangeSet: async () => {
    resolveChange?.(performance.now() - changeAt);
  },
});
const readyMs = performance.now() - tReady0;
const readyCpu = process.cpuUsage(cpuStart);
console.log(
  `  watcher ready: ${readyMs.toFixed(0)} ms (cpu ${((readyCpu.user + readyCpu.system) / 1000).toFixed(0)} ms)`,
);

await new Promise((r) => setTimeout(r, 500)); // let the scan's stragglers finish
const idle0 = process.cpuUsage();
const idleT0 = performance.now();
await new Promise((r) => setTimeout(r, IDLE_S * 1000));
const idle = process.cpuUsage(idle0);
const idleWall = performance.now() - idleT0;
const idleCpuMs = (idle.user + idle.system) / 1000;
console.log(
  `  idle cpu over ${IDLE_S} s: ${idleCpuMs.toFixed(1)} ms (${((idleCpuMs / idleWall) * 100).toFixed(2)} % of one core)`,
);

const lat: number[] = [];
for (let i = 0; i < 10; i++) {
  const p = new Promise<number>((r) => {
    resolveChange = r;
  });
  changeAt = performance.now();
  await writeFile(join(ctx, 'src', 'd0', 's0', 'f0.py'), `print("edit ${i}")\n`);
  lat.push(await p);
  await loop.idle();
}
lat.sort((a, b) => a - b);
console.log(
  `  save → change set: p50 ${lat[Math.floor(lat.length / 2)]?.toFixed(0)} ms, max ${lat.at(-1)?.toFixed(0)} ms (includes the 150 ms debounce)`,
);
await loop.close();

// ---- content tag scan
const old = new Date(Date.now() - 60_000);
const cache = new HashCache();
const first = await scanContext(service, root, { cache });
// age the files so the cache may keep their digests (fresh files are "racily clean")
await Promise.all(first.entries.map((e) => utimes(e.abs, old, old)));
cache.clear();
let t = performance.now();
const cold = await scanContext(service, root, { cache });
const coldMs = performance.now() - t;
t = performance.now();
const warm = await scanContext(service, root, { cache });
const warmMs = performance.now() - t;
console.log(
  `  content tag (node_modules is in this context: not .dockerignore'd): ${cold.entries.length} files, cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms (cache hits ${cache.hits}, misses ${cache.misses}); tags equal: ${cold.tag === warm.tag}`,
);

await rm(root, { recursive: true, force: true });

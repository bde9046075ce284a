/**
 * bench:forty — devenv on the forty-service project (test/bench/forty.ts: 40 small
 * services, 4 namespaces, one Postgres) (issue #17). Parts, all by default, or some with
 * `--only watch,dashboard,up,reload`:
 *
 *   watch      the reload loop's watcher over the 40 build contexts (FILES_PER_SERVICE extra
 *              files each, default 250: 10,000 files as bench:watch's tree), beside one
 *              context holding the same files in the same run: time to `ready`, idle CPU
 *              over IDLE_S (default 5) s, save → change-set latency. No Docker, no cluster.
 *   dashboard  bench:dashboard (the real store and view, headless) with 40 services
 *              (--services 40: one pod each, then 240 pods: six each). Goal < 15 % of a core.
 *   up         cold `up` (40 builds, 80 objects, 40 rollouts) and warm `up` over 5 runs on
 *              a real cluster. Goal: warm <= 3 s with 0 writes.
 *   reload     save → new pod Ready through devenv's real watch loop for one service while
 *              39 are deployed and watched, interleaved edit by edit with the same on the
 *              pyapp fixture (bench:reload's one-service figure) in the same run.
 *              Goal: forty p50 within 10 % of pyapp's.
 *
 * The cluster: the kube tier's test cluster (KUBECONFIG=/tmp/devenv-test-cluster/kubeconfig,
 * context BENCH_CONTEXT or devenv-test; target.ts). BENCH_TARGET=k3d is not supported here
 * (40 builds pushed through k3d's registry: run bench:up there for the k3d figures).
 * Everything the run created is removed at the end (`devenv destroy --context`: namespaces,
 * data containers and volumes, built images). Prints figures against the goals; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LoadedConfig, loadConfig } from '../../src/config/load.ts';
import type { ServiceConfig } from '../../src/config/schema.ts';
import { type ReloadContext, reloadService } from '../../src/engine/reload.ts';
import { type UpResult, up } from '../../src/engine/up.ts';
import type { ProgressEvent, ReloadEvent } from '../../src/events.ts';
import { startWatchLoop } from '../../src/watch/loop.ts';
import { cliEnv, DEVENV, ROOT } from '../support/fixture.ts';
import { type FortyProject, generateForty } from './forty.ts';
import { benchTarget } from './target.ts';

const { values } = parseArgs({
  options: { only: { type: 'string', default: 'watch,dashboard,up,reload' } },
});
const parts = new Set(values.only.split(',').map((s) => s.trim()));
const FILES_PER_SERVICE = Number(process.env.FILES_PER_SERVICE ?? 250);
const IDLE_S = Number(process.env.IDLE_S ?? 5);
const EDITS = Number(process.env.EDITS ?? 10);
const WARM_RUNS = 5;
const stamp = Date.now().toString(36).slice(-5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const quiet = (_e: ProgressEvent) => {};
const cleanups: Array<() => Promise<void> | void> = [];

console.log(
  `bench:forty node ${process.versions.node}, ${process.platform}/${process.arch}, parts: ${[...parts].join(', ')}`,
);
try {
  if (parts.has('watch')) await watchPart();
  if (parts.has('dashboard')) dashboardPart();
  if (parts.has('up') || parts.has('reload')) await clusterParts();
} finally {
  for (const c of cleanups.reverse()) await c();
}
process.exit(0);

// ---- watch: 40 contexts against one context with the same files
async function watchPart(): Promise<void> {
  const measure = async (label: string, p: FortyProject, edit: string) => {
    const { config, root } = loadConfig(p.file);
    let changeAt = 0;
    let resolveChange: (() => void) | undefined;
    const lat: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const loop = await startWatchLoop({
      root,
      services: config.services,
      debounceMs: 150,
      onChangeSet: async () => {
        lat.push(performance.now() - changeAt);
        resolveChange?.();
      },
    });
    const readyMs = performance.now() - t0;
    const readyCpu = process.cpuUsage(cpu0);
    await sleep(500);
    const i0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(IDLE_S * 1000);
    const idle = process.cpuUsage(i0);
    const idleMs = (idle.user + idle.system) / 1000;
    const idlePct = (idleMs / (performance.now() - w0)) * 100;
    for (let i = 0; i < 10; i++) {
      const done = new Promise<void>((r) => (resolveChange = r));
      changeAt = performance.now();
      writeFileSync(join(root, edit), `VERSION = "edit-${i}"\n`);
      await done;
      await loop.idle();
    }
    await loop.close();
    console.log(
      `  ${label}: ready ${readyMs.toFixed(0)} ms (cpu ${((readyCpu.user + readyCpu.system) / 1000).toFixed(0)} ms), idle cpu ${idleMs.toFixed(1)} ms over ${IDLE_S} s (${idlePct.toFixed(2)} % of one core), save → change set p50 ${q(lat, 0.5).toFixed(0)} ms, max ${q(lat, 1).toFixed(0)} ms`,
    );
  };
  const base = mkdtempSync(join(tmpdir(), 'devenv-bench-forty-watch-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const forty = await generateForty(join(base, 'forty'), {
    project: 'fortyw',
    filesPerService: FILES_PER_SERVICE,
    databasePort: 5432,
  });
  const one = await generateForty(join(base, 'one'), {
    project: 'onew',
    services: 1,
    namespaces: 1,
    filesPerService: FILES_PER_SERVICE * 40,
    databasePort: 5432,
  });
  const files = 40 * (FILES_PER_SERVICE + 4);
  console.log(`watch: ${files} files in 40 build contexts vs. the same count in one (debounce 150 ms)`);
  await measure('one context  ', one, `${one.services[0]!.context}/version.py`);
  await measure('40 contexts  ', forty, `${forty.services[16]!.context}/version.py`);
}

// ---- dashboard: the existing bench with 40 services
function dashboardPart(): void {
  console.log('dashboard: bench:dashboard with 40 services (goal < 15 % of one core)');
  for (const args of [
    ['--services', '40', '--namespaces', '4', '--pods', '40'],
    ['--services', '40', '--namespaces', '4', '--pods', '240'],
  ]) {
    const r = spawnSync(process.execPath, [join(ROOT, 'test', 'bench', 'dashboard.ts'), ...args], {
      encoding: 'utf8',
    });
    const lines = r.stdout.split('\n').filter((l) => /^(dashboard bench|frames|cpu|memory|result)/.test(l));
    for (const l of lines) console.log(`  ${l}`);
    if (r.status !== 0 && lines.length === 0) console.log(`  failed: ${r.stderr.trim().split('\n').at(-1)}`);
  }
}

// ---- up and reload on a real cluster
async function clusterParts(): Promise<void> {
  if (process.env.BENCH_TARGET === 'k3d') throw new Error('bench:forty runs on the kube tier cluster only');
  // pyapp first: its target sets DEVENV_STATE_DIR and KUBECONFIG for this process; the forty
  // project shares them (one state dir for the run).
  const pyapp = parts.has('reload') ? await benchTarget('pyapp', `rbench${stamp}`) : undefined;
  if (pyapp) {
    // Last: the images built for pyapp (its kube cleanup leaves them) and the run's state dir.
    cleanups.push(async () => {
      const { listLabelledImageRefs, removeImageRefs } = await import('../../src/docker/images.ts');
      const { LABEL_PROJECT } = await import('../../src/labels.ts');
      const refs = await listLabelledImageRefs({ [LABEL_PROJECT]: pyapp.project }).catch(() => []);
      await removeImageRefs(refs.map((r) => r.ref));
      if (process.env.DEVENV_STATE_DIR)
        rmSync(process.env.DEVENV_STATE_DIR, { recursive: true, force: true });
    });
    cleanups.push(() => pyapp.cleanup());
  }
  const context = process.env.BENCH_CONTEXT ?? 'devenv-test';
  process.env.KUBECONFIG ??= '/tmp/devenv-test-cluster/kubeconfig';
  const ownState = !process.env.DEVENV_STATE_DIR;
  process.env.DEVENV_STATE_DIR ??= mkdtempSync(join(tmpdir(), 'devenv-bench-state-'));
  const dir = mkdtempSync(join(tmpdir(), 'devenv-bench-forty-'));
  const forty = await generateForty(dir, { project: `forty${stamp}`, context });
  cleanups.push(() => {
    const r = spawnSync(
      process.execPath,
      [DEVENV, '-c', forty.file, 'destroy', '--yes', '--context', context],
      { encoding: 'utf8', env: cliEnv(process.env.KUBECONFIG!, process.env.DEVENV_STATE_DIR!) },
    );
    if (r.status !== 0) console.log(`cleanup: devenv destroy exited ${r.status}: ${r.stderr.trim()}`);
    rmSync(dir, { recursive: true, force: true });
    if (ownState) rmSync(process.env.DEVENV_STATE_DIR!, { recursive: true, force: true });
  });
  const loaded = loadConfig(forty.file);
  console.log(
    `cluster: context ${context} (the kube tier's test cluster), project ${forty.project}: 40 services in ${forty.namespaces.join(', ')}, postgres`,
  );

  // Cold up: every image built and pushed, every object created, every rollout waited for.
  const steps = new Map<string, number>();
  const t0 = performance.now();
  const first = await up({
    loaded,
    context,
    onEvent: (e) => {
      if (e.type === 'step' && e.ms !== undefined && e.phase !== 'start' && e.phase !== 'progress')
        steps.set(e.id, e.ms);
    },
  });
  const cold = performance.now() - t0;
  printSteps('cold up', cold, steps, first);

  if (parts.has('up')) {
    const warm: number[] = [];
    let writes = 0;
    let medianSteps = new Map<string, number>();
    const runs: Array<{ ms: number; steps: Map<string, number> }> = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      const st = new Map<string, number>();
      const t = performance.now();
      const r = await up({
        loaded,
        context,
        onEvent: (e) => {
          if (e.type === 'step' && e.ms !== undefined && e.phase !== 'start' && e.phase !== 'progress')
            st.set(e.id, e.ms);
        },
      });
      const ms = performance.now() - t;
      warm.push(ms);
      runs.push({ ms, steps: st });
      writes += r.reconcile.writes;
    }
    runs.sort((a, b) => a.ms - b.ms);
    medianSteps = runs[Math.floor(WARM_RUNS / 2)]!.steps;
    console.log(
      `  warm up (no change), ${WARM_RUNS} runs: median ${s2(q(warm, 0.5))}, min ${s2(q(warm, 0))}, max ${s2(q(warm, 1))}, ${writes} writes  (goal <= 3 s, 0 writes)`,
    );
    printSteps('    median warm run', runs[Math.floor(WARM_RUNS / 2)]!.ms, medianSteps);
  }

  if (parts.has('reload') && pyapp) await reloadPart(loaded, first, pyapp.file, context);
}

function printSteps(label: string, wall: number, steps: Map<string, number>, r?: UpResult): void {
  const of = (prefix: string) => [...steps.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const builds = of('build:');
  const loads = of('load:');
  const rollouts = of('rollout:');
  console.log(
    `  ${label}: ${s2(wall)}${r ? ` (${r.reconcile.created} created, ${r.reconcile.updated} updated, ${r.reconcile.writes} writes)` : ''}`,
  );
  console.log(
    `      preflight ${steps.get('preflight') ?? 0} ms | cluster ${steps.get('cluster') ?? 0} ms | database ${steps.get('database') ?? 0} ms | ${builds.length} builds: sum ${sum(builds)} ms, max ${Math.max(0, ...builds)} ms | ${loads.length} pushes: sum ${sum(loads)} ms, max ${Math.max(0, ...loads)} ms | apply ${steps.get('apply') ?? 0} ms | ${rollouts.length} rollouts: max ${Math.max(0, ...rollouts)} ms`,
  );
}

async function reloadPart(fortyLoaded: LoadedConfig, fortyUp: UpResult, pyappFile: string, context: string) {
  const pyLoaded = loadConfig(pyappFile);
  const pyUp = await up({ loaded: pyLoaded, context, onEvent: quiet });
  interface Side {
    label: string;
    ctx: ReloadContext;
    service: ServiceConfig;
    edit: (v: string) => void;
    events: ReloadEvent[];
    pending?: (e: ReloadEvent) => void;
    close?: () => Promise<void>;
  }
  const side = (
    label: string,
    loaded: LoadedConfig,
    r: UpResult,
    service: ServiceConfig,
    editFile: string,
  ): Side => ({
    label,
    ctx: { loaded, client: r.client, docs: r.docs, images: { ...r.images }, onEvent: quiet },
    service,
    edit: (v) => writeFileSync(join(loaded.root, service.context, editFile), `VERSION = "${v}"\n`),
    events: [],
  });
  // pyapp: the rebuild path (its sync rules dropped), as bench:reload measures it.
  const py = side(
    'pyapp, 1 service',
    pyLoaded,
    pyUp,
    { ...pyLoaded.config.services[0]!, sync: [] },
    'version.py',
  );
  const fortySvc = fortyLoaded.config.services[16]!;
  const ft = side(`forty, ${fortySvc.name} of 40`, fortyLoaded, fortyUp, fortySvc, 'version.py');
  // Each loop watches all of its project's services (forty: 40 contexts, 39 of them idle).
  for (const [s, services] of [
    [py, [py.service]],
    [ft, fortyLoaded.config.services],
  ] as const) {
    const loop = await startWatchLoop({
      root: s.ctx.loaded.root,
      services,
      onEvent: (e) => {
        if (e.type === 'reload') {
          s.events.push(e);
          s.pending?.(e);
        }
      },
      onChangeSet: async (svc) => {
        const t = await reloadService(s.ctx, svc);
        return {
          result: t.result,
          tag: t.tag,
          timings: { buildMs: t.buildMs, loadMs: t.loadMs, rolloutMs: t.rolloutMs },
        };
      },
    });
    s.close = () => loop.close();
  }
  // Interleaved, with a random pause (as bench:reload: edits must not lock onto one phase of
  // the kubelet's periodic loops).
  for (let i = 0; i < EDITS; i++) {
    for (const s of i % 2 === 0 ? [py, ft] : [ft, py]) {
      const done = new Promise<ReloadEvent>((r) => (s.pending = r));
      s.edit(`bench-${i}-${Date.now()}`);
      const e = await done;
      if (e.result !== 'ok') console.log(`  ${s.label} edit ${i}: ${e.result} ${e.error ?? ''}`);
      await sleep(300 + Math.random() * 2000);
    }
  }
  await py.close?.();
  await ft.close?.();
  console.log(`reload: save -> new pod Ready through the real watch loop, ${EDITS} edits each, interleaved`);
  const p50 = (s: Side) =>
    q(
      s.events.filter((e) => e.result === 'ok').map((e) => e.timings.totalMs),
      0.5,
    );
  for (const s of [py, ft]) {
    const ok = s.events.filter((e) => e.result === 'ok');
    const split = (k: 'buildMs' | 'loadMs' | 'rolloutMs') =>
      q(
        ok.map((e) => e.timings[k] ?? 0),
        0.5,
      ).toFixed(0);
    console.log(
      `  ${s.label}: p50 ${p50(s).toFixed(0)} ms, p95 ${q(
        ok.map((e) => e.timings.totalMs),
        0.95,
      ).toFixed(
        0,
      )} ms (build ${split('buildMs')}, push ${split('loadMs')}, rollout ${split('rolloutMs')})  per edit: ${ok.map((e) => e.timings.totalMs).join(' ')}`,
    );
  }
  const ratio = p50(ft) / p50(py);
  console.log(`  forty / one-service p50: ${ratio.toFixed(2)}  (goal <= 1.10)`);
}

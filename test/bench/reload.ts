/**
 * bench:reload — what one save costs in image work, against the real Docker engine and a
 * real local registry: 10 edits of a small service, each followed by devenv's
 * `ensureImage` (scan + content tag + exists checks + build + push + verify), split into
 * build and load (push); and, interleaved, the same 10 edits done by hand with the raw
 * engine calls devenv itself uses (src/docker/images.ts buildImage + pushImage over a
 * plain tar of the directory, no devenv logic), for the overhead ratio. Plus the no-op
 * case (unchanged content). Prints figures as plain lines; asserts nothing.
 *
 *   node test/bench/reload.ts
 * Env: EDITS=10; BENCH_REGISTRY=host:port to use a running registry (otherwise the
 * cached distribution `registry` under $DEVENV_TEST_CACHE/registry-<version> is started on a
 * free port); BENCH_BASE_IMAGE (default devenv-test/python:3.11, else devenv-test/base:bookworm).
 */

import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ensureImage } from '../../src/build/builder.ts';
import { HashCache } from '../../src/build/context.ts';
import { engineInfo } from '../../src/docker/engine.ts';
import { buildImage, imageExists, pushImage, removeImage } from '../../src/docker/images.ts';
import { findRegistryBinary, startRegistry, TEST_CACHE } from '../support/registry.ts';
import { serviceConfig } from '../support/tree.ts';

const EDITS = Number(process.env.EDITS ?? 10);
const project = 'benchreload';

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const fmt = (xs: number[]) => `p50 ${q(xs, 0.5).toFixed(0)} ms, p95 ${q(xs, 0.95).toFixed(0)} ms`;

/** A plain tar of every file under `dir`: what `docker build` sends without a .dockerignore. */
async function plainTar(dir: string): Promise<Readable> {
  const files: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  await walk(dir);
  const pack = tar.pack();
  for (const f of files.sort()) {
    const st = await stat(f);
    pack.entry({ name: relative(dir, f), mode: st.mode & 0o7777, mtime: st.mtime }, await readFile(f));
  }
  pack.finalize();
  return pack as unknown as Readable;
}

const info = await engineInfo(5000);
const base =
  process.env.BENCH_BASE_IMAGE ??
  ((await imageExists('devenv-test/python:3.11')) ? 'devenv-test/python:3.11' : 'devenv-test/base:bookworm');
if (!(await imageExists(base))) throw new Error(`${base} missing: run "bash test/images/build.sh"`);

const root = await mkdtemp(join(tmpdir(), 'devenv-bench-reload-'));
let stopRegistry: (() => Promise<void>) | undefined;
let registry = process.env.BENCH_REGISTRY ?? '';
if (!registry) {
  const bin = findRegistryBinary();
  if (!bin) throw new Error(`no registry binary under ${TEST_CACHE}/registry-*/ and no BENCH_REGISTRY`);
  ({ registry, stop: stopRegistry } = await startRegistry(bin, root));
}

const refs: string[] = [];
try {
  // A small Python-style service: a few modules; edits touch one of them.
  const ctx = join(root, 'app');
  await mkdir(join(ctx, 'app', 'pkg'), { recursive: true });
  await writeFile(
    join(ctx, 'Dockerfile'),
    `FROM ${base}\nWORKDIR /srv\nCOPY . /srv\nCMD ["sleep", "infinity"]\n`,
  );
  for (let i = 0; i < 20; i++)
    await writeFile(join(ctx, 'app', 'pkg', `mod${i}.py`), `VALUE = ${i}\n`.repeat(50));
  const service = serviceConfig({ name: 'app', context: 'app' });
  const cache = new HashCache();

  // Warm up both paths: base layers pushed, builder cache primed.
  await writeFile(join(ctx, 'app', 'main.py'), 'print("warm")\n');
  refs.push((await ensureImage(service, { project, root, registry, cache })).ref);
  const rawRepo = `${registry}/${project}/raw`;
  await buildImage({ contextTar: await plainTar(ctx), dockerfile: 'Dockerfile', tags: [`${rawRepo}:warm`] });
  await pushImage(`${rawRepo}:warm`);
  refs.push(`${rawRepo}:warm`);

  const dv = { build: [] as number[], load: [] as number[], total: [] as number[] };
  const raw = { build: [] as number[], push: [] as number[], total: [] as number[] };
  for (let i = 0; i < EDITS; i++) {
    await writeFile(join(ctx, 'app', 'main.py'), `print("devenv edit ${i} ${Date.now()}")\n`);
    let t = performance.now();
    const r = await ensureImage(service, { project, root, registry, cache });
    dv.total.push(performance.now() - t);
    dv.build.push(r.buildMs);
    dv.load.push(r.loadMs);
    refs.push(r.ref);
    if (!r.built || !r.pushed)
      throw new Error(`edit ${i}: expected a build and a push, got ${JSON.stringify(r)}`);

    await writeFile(join(ctx, 'app', 'main.py'), `print("raw edit ${i} ${Date.now()}")\n`);
    const ref = `${rawRepo}:e${i}`;
    t = performance.now();
    await buildImage({ contextTar: await plainTar(ctx), dockerfile: 'Dockerfile', tags: [ref] });
    const tb = performance.now();
    await pushImage(ref);
    const tp = performance.now();
    raw.build.push(tb - t);
    raw.push.push(tp - tb);
    raw.total.push(tp - t);
    refs.push(ref);
  }

  // The raw path wrote the last content: bring devenv's image up to date once, then no-ops.
  refs.push((await ensureImage(service, { project, root, registry, cache })).ref);
  const noop: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const t = performance.now();
    const r = await ensureImage(service, { project, root, registry, cache });
    noop.push(performance.now() - t);
    if (r.built || r.pushed) throw new Error('unchanged content rebuilt');
  }

  console.log(
    `bench:reload ${EDITS} edits, Docker ${info.serverVersion} (API ${info.apiVersion}), registry ${registry}, FROM ${base}`,
  );
  console.log(`  devenv ensureImage  total ${fmt(dv.total)}`);
  console.log(`    build (scan+tag+build)   ${fmt(dv.build)}`);
  console.log(`    load (check+push+verify) ${fmt(dv.load)}`);
  console.log(`  raw build+push      total ${fmt(raw.total)}`);
  console.log(`    build                    ${fmt(raw.build)}`);
  console.log(`    push                     ${fmt(raw.push)}`);
  console.log(`  ratio devenv/raw (p50 total): ${(q(dv.total, 0.5) / q(raw.total, 0.5)).toFixed(2)}x`);
  console.log(`  unchanged content (no-op ensureImage): ${fmt(noop)}`);
} finally {
  for (const r of refs) await removeImage(r, { force: true }).catch(() => {});
  await stopRegistry?.();
  await rm(root, { recursive: true, force: true });
}

// Every reload trigger goes through the one per-service queue: the dashboard's `r`
// (`WatchLoop.trigger`) and file saves, over a real file tree and the real (native) watcher,
// with an injected action that "builds" the file it reads and records how many run at once.
// Across processes (`devenv reload` beside a watching `up`), the per-service lock file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../src/config/schema.ts';
import { acquireLock, waitForLock } from '../../src/engine/lock.ts';
import { type ClassifiedChangeSet, startWatchLoop, type WatchLoop } from '../../src/watch/loop.ts';
import { eventLog, removeTree, serviceConfig, tempTree, watchTree, writeIn } from '../support/tree.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const srcRoot = join(import.meta.dirname, '..', '..');

let root: string;
let loop: WatchLoop | undefined;

const api = serviceConfig;
const write = (rel: string, content: string) => writeIn(root, rel, content);

beforeEach(async () => {
  root = await tempTree('devenv-trigger-', { 'api/Dockerfile': 'FROM scratch\n', 'api/app/main.py': 'v0\n' });
});
afterEach(async () => {
  await removeTree(root, loop);
  loop = undefined;
});

/** A slow "build + apply": reads the source when it starts, deploys it when it ends. */
function builder(ms: number) {
  const runs: { change: ClassifiedChangeSet; built: string }[] = [];
  let active = 0;
  const state = { maxActive: 0, deployed: '' };
  return {
    ...eventLog(),
    runs,
    state,
    action: async (_s: ServiceConfig, change: ClassifiedChangeSet) => {
      active++;
      state.maxActive = Math.max(state.maxActive, active);
      try {
        const built = (await readFile(join(root, 'api/app/main.py'), 'utf8')).trim();
        runs.push({ change, built });
        await sleep(ms);
        state.deployed = built;
        return { result: 'ok' as const, tag: built };
      } finally {
        active--;
      }
    },
  };
}

describe('reload triggers share the per-service queue', () => {
  it('a save and an `r` at once: one build at a time, and the newest files are what stays deployed', async () => {
    const b = builder(300);
    loop = await watchTree(root, 30, b);
    // A save and `r` together, then another save and `r` while that build runs.
    await write('api/app/main.py', 'v1\n');
    const first = loop.trigger('api');
    await sleep(60);
    await write('api/app/main.py', 'v2\n');
    const second = loop.trigger('api');
    await sleep(40);
    await write('api/app/main.py', 'v3\n');
    const [e1, e2] = await Promise.all([first, second]);
    await sleep(200);
    await loop.idle();

    expect(b.state.maxActive).toBe(1);
    expect(b.state.deployed).toBe('v3');
    expect(b.runs.at(-1)?.built).toBe('v3');
    // The first `r` started at once; the second was merged into the one follow-up with
    // the saves made meanwhile: never one build per trigger or per save.
    expect(b.runs[0]?.change.plan).toEqual({ kind: 'rebuild', reason: 'rebuild requested' });
    expect(b.runs.length).toBeLessThanOrEqual(3);
    expect(e1.result).toBe('ok');
    expect(e2.result).toBe('ok');
    // `r` resolves with the run that covered it: the second one's built what was saved by then.
    expect(['v2', 'v3']).toContain(e2.tag);
    expect(b.reloads().map((e) => e.tag)).toEqual(b.runs.map((r) => r.built));
  });

  it('`r` takes the save still being debounced: one rebuild, even for files a sync rule matches', async () => {
    const b = builder(20);
    loop = await watchTree(root, 1500, b, [
      api({ sync: [{ src: 'app/**', dest: '/srv' }] } as Partial<ServiceConfig>),
    ]);
    await write('api/app/main.py', 'v1\n');
    await sleep(300); // the watcher has seen it; the debounce has not released it
    const ev = await loop.trigger('api');
    await sleep(1700); // past the debounce: nothing else is released
    await loop.idle();
    expect(b.runs).toHaveLength(1);
    expect(ev.tag).toBe('v1');
    expect(b.runs[0]?.change.plan.kind).toBe('rebuild');
    expect(b.runs[0]?.change.files.map((f) => f.rel)).toEqual(['app/main.py']);
  });

  it('a failed rebuild resolves as failed; an unknown service and a closed loop reject', async () => {
    loop = await startWatchLoop({
      root,
      services: [api()],
      onChangeSet: async () => {
        await sleep(100);
        throw new Error('compile error');
      },
      debounceMs: 30,
    });
    expect(await loop.trigger('api')).toMatchObject({ result: 'failed', error: 'compile error' });
    await expect(loop.trigger('nope')).rejects.toThrow(/no service "nope"/);
    const running = loop.trigger('api');
    const queued = loop.trigger('api');
    await sleep(10);
    const third = loop.trigger('api'); // merged into `queued`
    await loop.close();
    expect((await running).result).toBe('failed');
    await expect(queued).rejects.toThrow(/stopped before the rebuild ran/);
    await expect(third).rejects.toThrow(/stopped before the rebuild ran/);
    await expect(loop.trigger('api')).rejects.toThrow(/stopped/);
    loop = undefined;
  });
});

describe('reload lock across processes', () => {
  it('waits while another process rebuilds the service, then takes the lock', async () => {
    const state = mkdtempSync(join(tmpdir(), 'devenv-reload-lock-'));
    const before = process.env.DEVENV_STATE_DIR;
    process.env.DEVENV_STATE_DIR = state;
    try {
      // Another process (another `devenv reload api`) holds the lock for 600 ms.
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { acquireLock } = await import(${JSON.stringify(join(srcRoot, 'src/engine/lock.ts'))});
           const l = acquireLock('shop', 'reload-api'); console.log('held');
           setTimeout(() => l.release(), 600);`,
        ],
        { env: { ...process.env, DEVENV_STATE_DIR: state }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((res) => child.stdout.once('data', () => res()));
      const t0 = Date.now();
      const waited: unknown[] = [];
      const lock = await waitForLock('shop', 'reload-api', { onWait: (o) => waited.push(o), pollMs: 20 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      expect(waited).toEqual([expect.objectContaining({ pid: child.pid })]);
      expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
      // Taken in this process, it is waited for here too (one rebuild at a time), up to the timeout.
      await expect(waitForLock('shop', 'reload-api', { timeoutMs: 100, pollMs: 20 })).rejects.toThrow(
        /gave up waiting/,
      );
      lock.release();
      // Taken once per rebuild: the exit hook does not pile up.
      const hooks = process.listenerCount('exit');
      for (let i = 0; i < 20; i++) acquireLock('shop', 'reload-api').release();
      expect(process.listenerCount('exit')).toBe(hooks);
    } finally {
      if (before === undefined) delete process.env.DEVENV_STATE_DIR;
      else process.env.DEVENV_STATE_DIR = before;
      await rm(state, { recursive: true, force: true });
    }
  });
});

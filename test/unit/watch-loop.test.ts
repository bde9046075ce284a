// The reload loop over a real file tree with the real (native) watcher; the action is an
// injected slow function that records what it was given. No engine.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../src/config/schema.ts';
import { type ClassifiedChangeSet, startWatchLoop, type WatchLoop } from '../../src/watch/loop.ts';
import { eventLog, removeTree, serviceConfig, tempTree, watchTree, writeIn } from '../support/tree.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let loop: WatchLoop | undefined;

const service = serviceConfig;
const write = (rel: string, content: string) => writeIn(root, rel, content);
/** A save, then `ms` for the watcher to see it, then until the loop has run what it released. */
async function saveAndSettle(rel: string, content: string, ms: number): Promise<void> {
  await write(rel, content);
  await sleep(ms);
  await loop?.idle();
}

beforeEach(async () => {
  root = await tempTree('devenv-loop-', {
    'api/Dockerfile': 'FROM scratch\n',
    'api/.dockerignore': '*.log\ncache/\n',
    'api/app/main.py': 'v0\n',
    'api/static/site.css': 'body{}\n',
    'api/node_modules/x/index.js': '',
    'api/cache/blob': '',
    'shared/lib.py': 'v0\n',
  });
});
afterEach(async () => {
  await removeTree(root, loop);
  loop = undefined;
});

function recorder(ms: number) {
  const calls: { service: string; change: ClassifiedChangeSet }[] = [];
  return {
    ...eventLog(),
    calls,
    action: async (s: ServiceConfig, change: ClassifiedChangeSet) => {
      calls.push({ service: s.name, change });
      await sleep(ms);
      return { result: 'ok' as const, tag: `t${calls.length}`, timings: { buildMs: ms } };
    },
  };
}

describe('watch loop', () => {
  it('one edit → one change set (rebuild), reported as a ReloadEvent', async () => {
    const r = recorder(10);
    loop = await watchTree(root, 100, r);
    await saveAndSettle('api/app/main.py', 'v1\n', 400);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]?.change.plan).toEqual({ kind: 'rebuild', reason: 'no sync rules' });
    expect(r.calls[0]?.change.files.map((f) => f.rel)).toEqual(['app/main.py']);
    const [ev] = r.reloads();
    expect(ev).toMatchObject({ service: 'api', result: 'ok', tag: 't1', timings: { buildMs: 10 } });
    expect(ev?.timings.totalMs).toBeGreaterThanOrEqual(100);
    expect(r.events.some((e) => e.type === 'step' && e.id === 'watch' && e.phase === 'done')).toBe(true);
  });

  it('ignored paths (.dockerignore, node_modules) and unrelated files trigger nothing', async () => {
    const r = recorder(10);
    loop = await watchTree(root, 80, { action: r.action });
    await write('api/debug.log', 'x');
    await write('api/cache/blob', 'x');
    await write('api/cache/new/deeper', 'x');
    await write('api/node_modules/x/index.js', 'x');
    await write('shared/lib.py', 'v1\n'); // not a watch path of this service
    await sleep(500);
    expect(r.calls).toHaveLength(0);
  });

  it('20 rapid edits during a slow action → at most one running + one follow-up', async () => {
    const r = recorder(1500); // longer than the edit burst, even on a loaded machine
    loop = await watchTree(root, 50, { action: r.action });
    await write('api/app/main.py', 'first\n');
    await sleep(150); // the first set is released and its action is running
    for (let i = 0; i < 20; i++) {
      await write(`api/app/f${i % 4}.py`, `edit ${i}\n`);
      await sleep(10);
    }
    await sleep(300);
    await loop.idle();
    expect(r.calls).toHaveLength(2);
    expect(r.calls[1]?.change.files.map((f) => f.rel).sort()).toEqual([
      'app/f0.py',
      'app/f1.py',
      'app/f2.py',
      'app/f3.py',
    ]);
  });

  it('classifies sync-only change sets and routes `watch` paths', async () => {
    const r = recorder(5);
    const svc = service({ watch: ['shared'], sync: [{ src: 'static/**', dest: '/srv' }] });
    loop = await watchTree(root, 80, { action: r.action }, [svc]);
    await saveAndSettle('api/static/site.css', 'body{color:red}\n', 400);
    await saveAndSettle('shared/lib.py', 'v2\n', 400);
    expect(r.calls.map((c) => c.change.plan.kind)).toEqual(['sync', 'rebuild']);
    expect(r.calls[0]?.change.plan).toMatchObject({ files: [{ dest: '/srv/static/site.css' }] });
  });

  it('a failing action is reported as a failed reload and the loop keeps going', async () => {
    const log = eventLog();
    let n = 0;
    loop = await startWatchLoop({
      root,
      services: [service()],
      onChangeSet: async () => {
        n++;
        if (n === 1) throw new Error('compile error in main.py');
      },
      onEvent: log.sink,
      debounceMs: 60,
    });
    await saveAndSettle('api/app/main.py', 'broken\n', 300);
    await saveAndSettle('api/app/main.py', 'fixed\n', 300);
    const reloads = log.reloads();
    expect(reloads.map((e) => e.result)).toEqual(['failed', 'ok']);
    expect(reloads[0]?.error).toBe('compile error in main.py');
  });
});

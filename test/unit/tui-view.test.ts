/**
 * The pure dashboard view: golden files at fixed sizes with a fixed clock and a fixed state
 * (built through store actions), plus properties that must hold at every size.
 *
 * Goldens live in test/unit/golden/*.txt; after an intended change, regenerate them with
 *   UPDATE_GOLDEN=1 npx vitest run test/unit/tui-view.test.ts
 * and review the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { act } from '../../src/store/actions.ts';
import { createStore } from '../../src/store/store.ts';
import { HELP_KEYS } from '../../src/tui/panes/overlay.ts';
import type { View } from '../../src/tui/panes/types.ts';
import { stripTags, strWidth } from '../../src/tui/text.ts';
import { stateToView, viewToText } from '../../src/tui/view.ts';
import { SAMPLE_NOW, sampleStore } from '../support/dashboard-demo.ts';
import { startingStore } from '../support/up-script.ts';

const goldenDir = join(import.meta.dirname, 'golden');

function expectGolden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.CI && !existsSync(file))
      throw new Error(`golden file ${name} is missing (CI never writes goldens)`);
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, `${actual}\n`);
  }
  expect(actual, `golden ${name} (UPDATE_GOLDEN=1 to accept an intended change)`).toBe(
    readFileSync(file, 'utf8').replace(/\n$/, ''),
  );
}

/** Tagged output, pane by pane: checks where colours go without a terminal. */
function panesDump(view: View): string {
  return view.panes
    .map((p) => [`## ${p.id} @${p.top},${p.left} ${p.width}x${p.height}`, ...p.lines].join('\n'))
    .join('\n');
}

const render = (store = sampleStore(), width = 80, height = 24, color = false) =>
  stateToView(store.getState(), { width, height, now: SAMPLE_NOW, color });
const text = (view: View, color = false) => viewToText(view, color ? stripTags : undefined);

function checkGeometry(view: View, color: boolean): void {
  for (const p of view.panes) {
    expect(p.top, p.id).toBeGreaterThanOrEqual(0);
    expect(p.left, p.id).toBeGreaterThanOrEqual(0);
    expect(p.top + p.height, p.id).toBeLessThanOrEqual(view.height);
    expect(p.left + p.width, p.id).toBeLessThanOrEqual(view.width);
    expect(p.lines.length, p.id).toBeLessThanOrEqual(p.height);
    for (const l of p.lines) {
      const visible = color ? stripTags(l) : l;
      expect(strWidth(visible), `${p.id}: ${visible}`).toBeLessThanOrEqual(p.width);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting there are none
      expect(visible).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
  }
}

describe('stateToView goldens (fixed clock 2026-11-23T13:44:11Z)', () => {
  it('80x24', () => expectGolden('view-80x24.txt', text(render())));
  it('160x48', () => expectGolden('view-160x48.txt', text(render(undefined, 160, 48))));
  it('80x24 with colour tags', () =>
    expectGolden('view-80x24-color.txt', panesDump(render(undefined, 80, 24, true))));
  it('help overlay at 80x24', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/help' });
    expectGolden('view-80x24-help.txt', text(render(store)));
  });
  it('describe overlay at 120x40 for the crashing service', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/select-service', name: 'worker' });
    store.dispatch({ type: 'ui/describe' });
    expectGolden('view-120x40-describe.txt', text(render(store, 120, 40)));
  });
  it('service focus, filter and pause at 100x30', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/select-service', name: 'api' });
    store.dispatch({ type: 'ui/focus-cycle' });
    store.dispatch({ type: 'ui/filter', filter: 'GET', editing: false });
    store.dispatch({ type: 'ui/pause' });
    store.sink({
      type: 'log',
      service: 'api',
      pod: 'api-7d9f8c-x1k2p',
      container: 'api',
      line: 'GET /after-pause 200',
      time: SAMPLE_NOW,
    });
    expectGolden('view-100x30-focus.txt', text(render(store, 100, 30)));
  });
});

describe('while devenv up runs (goldens, fixed clock)', () => {
  const starting = (offset: number, fail = false) => startingStore(SAMPLE_NOW, offset, { fail });

  it('at once: no step yet, the services of devenv.yaml waiting', () => {
    const store = createStore({ project: 'social' });
    store.dispatch(act.up('starting', SAMPLE_NOW));
    store.dispatch(act.project('social', { name: 'k3d-social', context: '' }));
    for (const name of ['web', 'api']) store.dispatch(act.service({ name }));
    const out = text(render(store, 80, 24));
    expectGolden('view-80x24-up-first-frame.txt', out);
    expect(out).toContain('… starting');
    expect(out).toContain('(preparing: config, manifests, pre-flight)');
    expect(out).toMatch(/^> api\s+-\s+0\/0\s+waiting/m);
  });

  it('cluster, data services and builds in progress, with the BuildKit steps (100x30)', () => {
    const out = text(render(starting(5000), 100, 30));
    expectGolden('view-100x30-up-starting.txt', out);
    expect(out).toContain('UP · starting 5s');
    expect(out).toMatch(/… cluster\s+k3d cluster social\s+4s/);
    expect(out).toMatch(/✓ objectStore/);
    expect(out).toContain('#7 [3/4] RUN pip install --no-index -r /app/requirements.txt');
    expect(out).toMatch(/^ {2}api\s+-\s+0\/0\s+building 3\/4/m);
    expect(out).toMatch(/^ {2}web\s+-\s+0\/0\s+pushing/m);
  });

  it('rollouts at 160x48 (events beside), then ready: the steps pane gives way to the logs', () => {
    const store = starting(8500);
    expectGolden('view-160x48-up-rollout.txt', text(render(store, 160, 48)));
    expect(text(render(store, 160, 48))).toMatch(/^ {2}api\s+-\s+0\/0\s+rolling out/m);
    store.dispatch(act.up('ready', SAMPLE_NOW, { ms: 8600 }));
    const out = text(render(store, 160, 48));
    expect(out).not.toContain('UP ·');
    expect(out).toContain('LOGS · all services');
  });

  it('a failed build: its reason and output, the dashboard usable, q named (80x24, colour)', () => {
    const store = starting(7000, true);
    store.dispatch(
      act.up('failed', SAMPLE_NOW, {
        ms: 6800,
        error: 'build chat: the command "/bin/sh -c python -m compileall -q /app" returned exit code 1',
      }),
    );
    const view = render(store, 80, 24);
    expectGolden('view-80x24-up-failed.txt', text(view));
    const out = text(view);
    expect(out).toContain('UP · FAILED after 6.8s · q quits');
    expect(out).toContain('✗ build:chat failed');
    expect(out).toContain('SyntaxError: invalid syntax (server.py, line 12)');
    expect(out).toMatch(/^ {2}chat\s+-\s+0\/0\s+build failed/m);
    expect(out).toContain('devenv up failed (the reason is above) · q quits');
    expectGolden('view-80x24-up-failed-color.txt', panesDump(render(store, 80, 24, true)));
  });

  it('a failure no step reported (bad input) is shown with its lines', () => {
    const store = createStore({ project: 'social' });
    store.dispatch(act.up('starting', SAMPLE_NOW - 300));
    store.dispatch(
      act.up('failed', SAMPLE_NOW, {
        ms: 300,
        error: 'context prod is not allow-listed',
        lines: ['add it to cluster.allowContexts'],
      }),
    );
    const out = text(render(store, 80, 24));
    expect(out).toContain('✗ context prod is not allow-listed');
    expect(out).toContain('add it to cluster.allowContexts');
    expect(out).toContain('✗ up failed');
  });

  it('steps that do not fit: running and failed steps stay, older finished ones are summarised', () => {
    const store = starting(4000);
    for (let i = 0; i < 30; i++)
      store.sink({ type: 'step', id: `ingress:x${i}`, phase: 'skip', detail: `note ${i}` });
    const view = render(store, 80, 24);
    checkGeometry(view, false);
    const steps = view.panes.find((p) => p.id === 'steps')!.lines.join('\n');
    expect(steps).toMatch(/✓ \d+ more steps done/);
    expect(steps).toContain('… cluster');
    expect(steps).toContain('… build:api');
  });

  for (const [w, h] of [
    [20, 6],
    [30, 8],
    [50, 10],
    [120, 30],
    [400, 120],
  ] as const) {
    it(`${w}x${h}: every starting and failed view fits`, () => {
      for (const store of [starting(4000), starting(8500), starting(7000, true)])
        for (const color of [false, true]) checkGeometry(render(store, w, h, color), color);
    });
  }
});

describe('stateToView at any size', () => {
  const sizes: Array<[number, number]> = [
    [0, 0],
    [1, 1],
    [-5, 10],
    [Number.NaN, 24],
    [10, 3],
    [19, 5],
    [20, 6],
    [30, 8],
    [40, 12],
    [80, 24],
    [119, 30],
    [120, 30],
    [160, 48],
    [400, 120],
    [1000, 500],
  ];
  for (const [w, h] of sizes) {
    for (const color of [false, true]) {
      it(`${w}x${h}${color ? ' colour' : ''}: no throw, every line inside its pane`, () => {
        for (const overlay of [undefined, 'ui/help', 'ui/describe'] as const) {
          const store = sampleStore();
          if (overlay) store.dispatch({ type: overlay });
          const view = render(store, w, h, color);
          checkGeometry(view, color);
          expect(() => text(view, color)).not.toThrow();
        }
      });
    }
  }

  it('an empty state renders too', () => {
    const view = stateToView(createStore().getState(), { width: 80, height: 24, now: 0, color: true });
    checkGeometry(view, true);
    expect(text(view, true)).toContain('(no services deployed yet)');
    expect(text(view, true)).toContain('(no log lines yet)');
  });

  it('tiny windows say so instead of drawing panes', () => {
    const view = render(undefined, 19, 5);
    expect(view.panes.map((p) => p.id)).toEqual(['small']);
    expect(text(view)).toContain('devenv: window');
  });
});

describe('log pane', () => {
  it('interleaves all services, newest at the bottom, following by default', () => {
    const out = text(render());
    expect(out).toContain('LOGS · all services · following');
    const rows = out.split('\n');
    const logTitle = rows.findIndex((r) => r.includes('LOGS'));
    const eventsTitle = rows.findIndex((r) => r.includes('EVENTS'));
    expect(rows[eventsTitle - 1]).toContain('api    │ GET /healthz 200 0.3ms');
    expect(logTitle).toBeGreaterThan(0);
  });

  it('shows one service when focused, then one pod, then all again', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/select-service', name: 'chat' });
    store.dispatch({ type: 'ui/focus-cycle' });
    let out = text(render(store, 160, 48));
    expect(out).toContain('LOGS · service chat');
    expect(out).toContain('wss listening');
    expect(out).not.toContain('GET /healthz');
    store.dispatch({ type: 'ui/focus-cycle' });
    out = text(render(store, 160, 48));
    expect(out).toContain('LOGS · pod chat-5c6b7d-m3n4b');
    store.dispatch({ type: 'ui/focus-cycle' });
    expect(text(render(store, 160, 48))).toContain('LOGS · all services');
  });

  it('pause freezes the pane; new lines are counted, not shown', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/pause' });
    for (let i = 0; i < 3; i++) {
      store.sink({
        type: 'log',
        service: 'api',
        pod: 'api-7d9f8c-x1k2p',
        container: 'api',
        line: `after ${i}`,
        time: SAMPLE_NOW,
      });
    }
    let out = text(render(store));
    expect(out).toContain('PAUSED (+3 new)');
    expect(out).not.toContain('after 2');
    store.dispatch({ type: 'ui/pause' });
    out = text(render(store));
    expect(out).toContain('after 2');
  });

  it('wraps long lines to the pane width and keeps every character', () => {
    const store = createStore();
    store.dispatch(act.service({ name: 'api', namespace: 'back' }));
    const long = Array.from({ length: 40 }, (_, i) => `tok${i}`).join('-');
    store.sink({ type: 'log', service: 'api', pod: 'api-1', container: 'api', line: long, time: 0 });
    const view = stateToView(store.getState(), { width: 60, height: 24, now: 0, color: false });
    const logs = view.panes.find((p) => p.id === 'logs')!;
    const body = logs.lines.slice(1);
    expect(body.length).toBeGreaterThan(1);
    expect(body.map((l) => l.slice(l.indexOf('│') + 2)).join('')).toBe(long);
    for (const l of body) expect(strWidth(l)).toBeLessThanOrEqual(60);
  });

  it('filters case-insensitively and says when nothing matches', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/filter', filter: 'modulenotfound', editing: false });
    let out = text(render(store));
    expect(out).toContain("worker │ ModuleNotFoundError: No module named 'missing_module'");
    expect(out).not.toContain('GET /healthz');
    store.dispatch({ type: 'ui/filter', filter: 'zzz-nothing', editing: true });
    out = text(render(store));
    expect(out).toContain('(no lines match "zzz-nothing")');
    expect(out).toContain('/zzz-nothing▌');
  });

  it('strips escape codes, escapes blessed braces, and redacts secret-looking values', () => {
    const plain = text(render(undefined, 160, 48));
    expect(plain).toContain('chat   │ INFO wss listening on :8443 (tls)');
    expect(plain).toContain('mysql://admin:***@');
    expect(plain).toContain('password=***');
    expect(plain).not.toContain('hunter2');
    const colored = render(undefined, 160, 48, true);
    const logs = colored.panes.find((p) => p.id === 'logs')!.lines.join('\n');
    expect(logs).toContain('{open}"level":"info"');
    expect(logs).not.toContain('\u001b');
  });

  it('scrolling up pauses and moves back through history', () => {
    const store = createStore();
    for (let i = 0; i < 100; i++)
      store.sink({ type: 'log', service: 'a', pod: 'a-1', container: 'a', line: `line ${i}`, time: 0 });
    store.dispatch({ type: 'ui/scroll', delta: 50 });
    const out = text(stateToView(store.getState(), { width: 80, height: 24, now: 0, color: false }));
    expect(out).toContain('PAUSED');
    expect(out).toContain('line 49');
    expect(out).not.toContain('line 99');
    store.dispatch({ type: 'ui/scroll', delta: 10_000 });
    expect(text(stateToView(store.getState(), { width: 80, height: 24, now: 0, color: false }))).toContain(
      'line 0',
    );
  });
});

describe('header, services and events', () => {
  it('shows project, cluster, node topology, data services and CA', () => {
    const out = text(render(undefined, 160, 48));
    expect(out).toContain('devenv · social   cluster k3d-social');
    expect(out).toContain('server-0 ✓ agent-0 ✓ agent-1 ✓');
    expect(out).toContain('mysql ✓ 127.0.0.1:3306');
    expect(out).toContain('CA trusted');
  });

  it('shows the pod reason instead of the workload status, and pod restarts', () => {
    const row = text(render(undefined, 160, 48))
      .split('\n')
      .find((r) => r.includes('worker ') && r.includes('b2b'))!;
    expect(row).toMatch(/worker\s+b2b\s+0\/1\s+CrashLoopBackOff\s+7\s+2h\s+agent-0\s+dev-3f2a1c9/);
  });

  it('marks the selection and moves it with select actions', () => {
    const store = sampleStore();
    expect(text(render(store))).toMatch(/^> admin /m);
    store.dispatch({ type: 'ui/select', move: 'next' });
    expect(text(render(store))).toMatch(/^> api /m);
  });

  it('lists Warnings first, then newest first; failed steps on top', () => {
    const store = sampleStore();
    store.sink({ type: 'step', id: 'build:chat', phase: 'fail', error: 'exit status 1', ms: 900 });
    const view = render(store, 160, 48);
    const events = view.panes.find((p) => p.id === 'events')!.lines;
    const kinds = events
      .slice(1)
      .filter((l) => /^[WN] /.test(l))
      .map((l) => l[0]);
    expect(kinds).toEqual(['W', 'W', 'W', 'N', 'N']);
    expect(events[1]).toContain('step build:chat Failed: exit status 1');
    expect(text(view)).toContain('✗ build:chat failed');
  });

  it('the help overlay lists every key', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/help' });
    const out = text(render(store, 120, 40));
    for (const [key, what] of HELP_KEYS) {
      expect(out).toContain(key);
      expect(out).toContain(what);
    }
  });
});

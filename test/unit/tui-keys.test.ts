import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from '../../src/store/actions.ts';
import { createStore } from '../../src/store/store.ts';
import { keyToIntent } from '../../src/tui/keys.ts';
import { throttle } from '../../src/tui/throttle.ts';

const store = () => {
  const s = createStore();
  s.dispatch(act.service({ name: 'api' }));
  return s;
};
const k = (name: string, extra: object = {}) => ({ name, full: name, ...extra });

describe('key map', () => {
  it('maps navigation, focus, overlays and commands', () => {
    const st = store().getState();
    expect(keyToIntent(st, 'j', k('j')).actions).toEqual([{ type: 'ui/select', move: 'next' }]);
    expect(keyToIntent(st, undefined, k('down')).actions).toEqual([{ type: 'ui/select', move: 'next' }]);
    expect(keyToIntent(st, 'k', k('k')).actions).toEqual([{ type: 'ui/select', move: 'prev' }]);
    expect(keyToIntent(st, undefined, k('up')).actions).toEqual([{ type: 'ui/select', move: 'prev' }]);
    expect(keyToIntent(st, '\r', k('enter')).actions).toEqual([{ type: 'ui/focus-cycle' }]);
    // blessed emits 'return' AND 'enter' for one Enter: only 'enter' acts.
    expect(keyToIntent(st, '\r', k('return')).actions).toEqual([]);
    expect(keyToIntent(st, '?', k('?')).actions).toEqual([{ type: 'ui/help' }]);
    expect(keyToIntent(st, 'd', k('d')).actions).toEqual([{ type: 'ui/describe' }]);
    expect(keyToIntent(st, 'p', k('p')).actions).toEqual([{ type: 'ui/pause' }]);
    expect(keyToIntent(st, '/', k('/')).actions).toEqual([{ type: 'ui/filter', filter: '', editing: true }]);
    expect(keyToIntent(st, undefined, k('pageup'), 11).actions).toEqual([{ type: 'ui/scroll', delta: 10 }]);
    expect(keyToIntent(st, 'r', k('r')).command).toBe('reload');
    expect(keyToIntent(st, 'R', { name: 'r', full: 'S-r', shift: true }).command).toBe('restart');
    expect(keyToIntent(st, 'q', k('q')).command).toBe('quit');
    expect(keyToIntent(st, '\u0003', { name: 'c', full: 'C-c', ctrl: true }).command).toBe('quit');
    expect(keyToIntent(st, 'x', k('x'))).toEqual({ actions: [] });
  });

  it('types the filter after "/": q is a letter there, Ctrl-C still quits', () => {
    const s = store();
    s.dispatch({ type: 'ui/filter', filter: 'er', editing: true });
    const st = s.getState();
    expect(keyToIntent(st, 'q', k('q'))).toEqual({
      actions: [{ type: 'ui/filter', filter: 'erq', editing: true }],
    });
    expect(keyToIntent(st, undefined, k('backspace')).actions).toEqual([
      { type: 'ui/filter', filter: 'e', editing: true },
    ]);
    expect(keyToIntent(st, '\r', k('enter')).actions).toEqual([
      { type: 'ui/filter', filter: 'er', editing: false },
    ]);
    expect(keyToIntent(st, undefined, k('escape')).actions).toEqual([
      { type: 'ui/filter', filter: '', editing: false },
    ]);
    expect(keyToIntent(st, '\u0003', { name: 'c', full: 'C-c', ctrl: true }).command).toBe('quit');
  });
});

describe('throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at most once per interval, asynchronously, and after the last request', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const t = throttle(fn, 100, () => Date.now());
    for (let i = 0; i < 1000; i++) t.schedule();
    expect(fn).toHaveBeenCalledTimes(0);
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(1);
    for (let ms = 0; ms < 1000; ms += 1) {
      t.schedule();
      vi.advanceTimersByTime(1);
    }
    expect(fn.mock.calls.length).toBeGreaterThanOrEqual(10);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(11);
    t.schedule();
    vi.advanceTimersByTime(200);
    const runs = fn.mock.calls.length;
    t.flush();
    expect(fn).toHaveBeenCalledTimes(runs + 1);
    t.schedule();
    t.cancel();
    vi.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(runs + 1);
  });
});

/**
 * Keyboard -> intent, as a pure function so the key map is unit-tested without a terminal.
 *
 * Contract: `keyToIntent(state, ch, key, pageRows)` returns the ui actions to dispatch and at
 * most one command for the dashboard to run through its injected callbacks (reload, restart,
 * quit). Ctrl-C always quits, even while typing a filter; `q` quits except while typing a
 * filter. Quitting leaves the environment running (the caller decides what happens next).
 */
import type { UiAction } from '../store/actions.ts';
import type { State } from '../store/state.ts';

/** The subset of blessed's key object the map reads. */
export interface KeyInfo {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

export type Command = 'reload' | 'restart' | 'quit';

export interface Intent {
  actions: UiAction[];
  command?: Command;
}

export function keyToIntent(
  state: Readonly<State>,
  ch: string | undefined,
  key: KeyInfo,
  pageRows = 10,
): Intent {
  const ui = state.ui;
  const name = key.name ?? '';
  if (key.full === 'C-c' || (key.ctrl && name === 'c')) return { actions: [], command: 'quit' };

  if (ui.filterEditing) {
    if (name === 'enter' || name === 'linefeed')
      return one({ type: 'ui/filter', filter: ui.filter, editing: false });
    if (name === 'escape') return one({ type: 'ui/filter', filter: '', editing: false });
    if (name === 'backspace') return one({ type: 'ui/filter', filter: dropLast(ui.filter), editing: true });
    if (key.full === 'C-u') return one({ type: 'ui/filter', filter: '', editing: true });
    if (ch && !key.ctrl && !key.meta && isPrintable(ch)) {
      return one({ type: 'ui/filter', filter: ui.filter + ch, editing: true });
    }
    return { actions: [] };
  }

  const page = Math.max(1, pageRows - 1);
  if (Object.hasOwn(NAMED_KEYS, name)) return NAMED_KEYS[name]!(page);
  if (ch === '/') return one({ type: 'ui/filter', filter: ui.filter, editing: true });
  if (ch !== undefined && Object.hasOwn(CHAR_KEYS, ch)) return CHAR_KEYS[ch]!();
  return { actions: [] };
}

/** Keys by blessed's name for them (arrows, Enter, Esc, PgUp/PgDn, End); `page` is the scroll step. */
const NAMED_KEYS: Readonly<Record<string, (page: number) => Intent>> = {
  up: () => one({ type: 'ui/select', move: 'prev' }),
  down: () => one({ type: 'ui/select', move: 'next' }),
  enter: () => one({ type: 'ui/focus-cycle' }),
  linefeed: () => one({ type: 'ui/focus-cycle' }),
  escape: () => one({ type: 'ui/escape' }),
  pageup: (page) => one({ type: 'ui/scroll', delta: page }),
  pagedown: (page) => one({ type: 'ui/scroll', delta: -page }),
  end: () => one({ type: 'ui/pause', paused: false }),
};

/** Printable keys (outside the filter prompt; `/` opens it), as documented in the help overlay. */
const CHAR_KEYS: Readonly<Record<string, () => Intent>> = {
  q: () => ({ actions: [], command: 'quit' }),
  j: () => one({ type: 'ui/select', move: 'next' }),
  k: () => one({ type: 'ui/select', move: 'prev' }),
  r: () => ({ actions: [], command: 'reload' }),
  R: () => ({ actions: [], command: 'restart' }),
  d: () => one({ type: 'ui/describe' }),
  p: () => one({ type: 'ui/pause' }),
  '?': () => one({ type: 'ui/help' }),
  G: () => one({ type: 'ui/pause', paused: false }),
};

function one(a: UiAction): Intent {
  return { actions: [a] };
}

function isPrintable(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0);
}

function dropLast(s: string): string {
  const chars = [...s];
  chars.pop();
  return chars.join('');
}

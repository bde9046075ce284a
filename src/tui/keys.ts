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
  switch (name) {
    case 'up':
      return one({ type: 'ui/select', move: 'prev' });
    case 'down':
      return one({ type: 'ui/select', move: 'next' });
    case 'enter':
    case 'linefeed':
      return one({ type: 'ui/focus-cycle' });
    case 'escape':
      return one({ type: 'ui/escape' });
    case 'pageup':
      return one({ type: 'ui/scroll', delta: page });
    case 'pagedown':
      return one({ type: 'ui/scroll', delta: -page });
    case 'end':
      return one({ type: 'ui/pause', paused: false });
  }
  switch (ch) {
    case 'q':
      return { actions: [], command: 'quit' };
    case 'j':
      return one({ type: 'ui/select', move: 'next' });
    case 'k':
      return one({ type: 'ui/select', move: 'prev' });
    case 'r':
      return { actions: [], command: 'reload' };
    case 'R':
      return { actions: [], command: 'restart' };
    case 'd':
      return one({ type: 'ui/describe' });
    case '/':
      return one({ type: 'ui/filter', filter: ui.filter, editing: true });
    case 'p':
      return one({ type: 'ui/pause' });
    case '?':
      return one({ type: 'ui/help' });
    case 'G':
      return one({ type: 'ui/pause', paused: false });
  }
  return { actions: [] };
}

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

/**
 * The log pane: every service's lines, one service's or one pod's (the focus), filtered and
 * highlighted by the log search, wrapped to the width, following the newest or paused and
 * scrolled.
 */
import type { LogLine, PodInfo } from '../../store/state.ts';
import { redact } from '../redact.ts';
import { searchRegex, splitMatches } from '../search.ts';
import { fitWidth, paint, sanitize, strWidth, truncate, wrap } from '../text.ts';
import { type Ctx, podShort, rule } from './context.ts';

/** The pod the log pane is focused on, when focus is 'pod' and it still exists. */
function focusedPod(ctx: Ctx): PodInfo | undefined {
  const ui = ctx.state.ui;
  return ui.focus === 'pod' && ui.focusPod ? ctx.state.pods.get(ui.focusPod) : undefined;
}

/** Whose lines the pane shows: every service's, the selected service's, or one pod's. */
type LogFocus = { mode: 'all' } | { mode: 'service'; service: string } | { mode: 'pod'; pod: PodInfo };

function logFocus(ctx: Ctx): LogFocus {
  const pod = focusedPod(ctx);
  if (pod) return { mode: 'pod', pod };
  const sel = ctx.selected;
  return ctx.state.ui.focus !== 'all' && sel ? { mode: 'service', service: sel.name } : { mode: 'all' };
}

export function logPane(ctx: Ctx, width: number, rows: number): string[] {
  const { state, color } = ctx;
  const ui = state.ui;
  const logs = state.logs;
  const focus = logFocus(ctx);
  const end = ui.paused ? Math.min(ui.pausedSeq, logs.total) : logs.total;
  const lines = [titleRow(ctx, focus, end, width)];
  const bodyRows = rows - 1;
  if (bodyRows <= 0) return lines.slice(0, rows);

  // Walk back from the newest matching line until the pane (plus the scroll offset) is full.
  const flat = newestRows(ctx, focus, end, width, bodyRows + ui.scroll);
  if (flat.length === 0) {
    lines.push(paint(truncate(emptyReason(ctx, focus), width), 'gray-fg', color));
    return lines;
  }
  // Scrolled further than the history holds: show the oldest page.
  const scroll = Math.min(ui.scroll, Math.max(0, flat.length - bodyRows));
  const stop = flat.length - scroll;
  lines.push(...flat.slice(Math.max(0, stop - bodyRows), stop));
  return lines;
}

/** "─ LOGS · <focus> · filter "x" · PAUSED (+n new) ───", red on a bad regex, yellow when paused. */
function titleRow(ctx: Ctx, focus: LogFocus, end: number, width: number): string {
  const ui = ctx.state.ui;
  let title =
    focus.mode === 'pod'
      ? `LOGS · pod ${focus.pod.name}`
      : focus.mode === 'service'
        ? `LOGS · service ${focus.service}`
        : 'LOGS · all services';
  const search = ctx.search;
  const bad = search && !search.ok ? search.error : undefined;
  if (ui.filter !== '' || ui.filterEditing)
    title += ` · filter "${sanitize(ui.filter)}"${ui.filterEditing ? '▌' : ''}${bad ? ` (${bad}; matched as text)` : ''}`;
  title += ui.paused ? ` · PAUSED (+${ctx.state.logs.total - end} new)` : ' · following';
  return rule(title, width, ctx.color, bad ? 'bold red-fg' : ui.paused ? 'bold yellow-fg' : 'bold');
}

/**
 * The display rows of the newest matching lines before `end`, oldest first: at least `need`
 * rows when the history holds them. Each line is wrapped, its matches highlighted, and
 * prefixed with its service (all) or its pod's short id (service).
 */
function newestRows(ctx: Ctx, focus: LogFocus, end: number, width: number, need: number): string[] {
  const { color, state } = ctx;
  const logs = state.logs;
  const re = ctx.search ? searchRegex(ctx.search) : undefined;
  const match = (l: LogLine): boolean => {
    if (focus.mode === 'service' && l.service !== focus.service) return false;
    if (focus.mode === 'pod' && (l.pod !== focus.pod.name || l.service !== focus.pod.service)) return false;
    return re === undefined || re.test(l.line);
  };
  // Matches are highlighted (colour only), row by row of the wrapped line.
  const show = (t: string): string =>
    re && color
      ? splitMatches(re, t)
          .map(([seg, hit]) => paint(seg, hit ? 'black-fg yellow-bg' : undefined, color))
          .join('')
      : paint(t, undefined, color);

  const prefixW = prefixWidth(ctx, focus, width);
  const textW = prefixW > 0 ? width - prefixW - 3 : width;
  const collected: string[][] = [];
  let count = 0;
  for (let seq = end - 1; seq >= logs.first && count < need; seq--) {
    const l = logs.at(seq);
    if (!l || !match(l)) continue;
    const rowsOf = wrap(redact(sanitize(l.line)), textW).map(show);
    if (prefixW > 0) {
      const label = focus.mode === 'all' ? l.service : podShort(l.pod);
      const style = `${ctx.serviceColor(l.service)}-fg`;
      const head = paint(fitWidth(label, prefixW), style, color) + paint(' │ ', 'gray-fg', color);
      const cont = ' '.repeat(prefixW) + paint(' │ ', 'gray-fg', color);
      for (let i = 0; i < rowsOf.length; i++) rowsOf[i] = (i === 0 ? head : cont) + rowsOf[i];
    }
    collected.push(rowsOf);
    count += rowsOf.length;
  }
  const flat: string[] = [];
  for (let i = collected.length - 1; i >= 0; i--) flat.push(...collected[i]!);
  return flat;
}

/** Prefix columns: the service (all), the pod's short id (service), nothing (pod or narrow). */
function prefixWidth(ctx: Ctx, focus: LogFocus, width: number): number {
  let prefixW = 0;
  if (focus.mode === 'all') prefixW = Math.min(14, Math.max(4, ...ctx.services.map((s) => strWidth(s.name))));
  else if (focus.mode === 'service') prefixW = 5;
  return width - (prefixW + 3) < 12 ? 0 : prefixW;
}

/** Why the pane has no line to show. */
function emptyReason(ctx: Ctx, focus: LogFocus): string {
  const ui = ctx.state.ui;
  if (ctx.state.logs.total === 0) return '(no log lines yet)';
  if (ui.filter !== '') return `(no lines match "${sanitize(ui.filter)}")`;
  return focus.mode === 'all' ? '(no log lines in the window)' : '(no log lines for this focus yet)';
}

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

export function logPane(ctx: Ctx, width: number, rows: number): string[] {
  const { state, color } = ctx;
  const ui = state.ui;
  const logs = state.logs;
  const sel = ctx.selected;
  const pod = focusedPod(ctx);
  const mode: 'all' | 'service' | 'pod' = pod ? 'pod' : ui.focus !== 'all' && sel ? 'service' : 'all';

  let title =
    mode === 'pod'
      ? `LOGS · pod ${pod!.name}`
      : mode === 'service'
        ? `LOGS · service ${sel!.name}`
        : 'LOGS · all services';
  const search = ctx.search;
  const bad = search && !search.ok ? search.error : undefined;
  if (ui.filter !== '' || ui.filterEditing)
    title += ` · filter "${sanitize(ui.filter)}"${ui.filterEditing ? '▌' : ''}${bad ? ` (${bad}; matched as text)` : ''}`;
  const end = ui.paused ? Math.min(ui.pausedSeq, logs.total) : logs.total;
  title += ui.paused ? ` · PAUSED (+${logs.total - end} new)` : ' · following';
  const lines = [rule(title, width, color, bad ? 'bold red-fg' : ui.paused ? 'bold yellow-fg' : 'bold')];
  const bodyRows = rows - 1;
  if (bodyRows <= 0) return lines.slice(0, rows);

  const needle = ui.filter;
  const re = search ? searchRegex(search) : undefined;
  const match = (l: LogLine): boolean => {
    if (mode === 'service' && l.service !== sel!.name) return false;
    if (mode === 'pod' && (l.pod !== pod!.name || l.service !== pod!.service)) return false;
    return re === undefined || re.test(l.line);
  };
  // Matches are highlighted (colour only), row by row of the wrapped line.
  const show = (t: string): string =>
    re && color
      ? splitMatches(re, t)
          .map(([seg, hit]) => paint(seg, hit ? 'black-fg yellow-bg' : undefined, color))
          .join('')
      : paint(t, undefined, color);

  // Prefix: the service (all), the pod's short id (service), nothing (pod).
  let prefixW = 0;
  if (mode === 'all') prefixW = Math.min(14, Math.max(4, ...ctx.services.map((s) => strWidth(s.name))));
  else if (mode === 'service') prefixW = 5;
  if (width - (prefixW + 3) < 12) prefixW = 0;
  const textW = prefixW > 0 ? width - prefixW - 3 : width;

  // Walk back from the newest matching line until the pane (plus the scroll offset) is full.
  const need = bodyRows + ui.scroll;
  const collected: string[][] = [];
  let count = 0;
  for (let seq = end - 1; seq >= logs.first && count < need; seq--) {
    const l = logs.at(seq);
    if (!l || !match(l)) continue;
    const text = redact(sanitize(l.line));
    const rowsOf = wrap(text, textW).map(show);
    if (prefixW > 0) {
      const label = mode === 'all' ? l.service : podShort(l.pod);
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
  if (flat.length === 0) {
    const why =
      logs.total === 0
        ? '(no log lines yet)'
        : needle !== ''
          ? `(no lines match "${sanitize(ui.filter)}")`
          : mode === 'all'
            ? '(no log lines in the window)'
            : '(no log lines for this focus yet)';
    lines.push(paint(truncate(why, width), 'gray-fg', color));
    return lines;
  }
  // Scrolled further than the history holds: show the oldest page.
  const scroll = Math.min(ui.scroll, Math.max(0, flat.length - bodyRows));
  const stop = flat.length - scroll;
  lines.push(...flat.slice(Math.max(0, stop - bodyRows), stop));
  return lines;
}

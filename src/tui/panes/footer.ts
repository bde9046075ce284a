/**
 * The footer: the filter being typed, else a recent notice, else up's failure, else the
 * key hints.
 */
import { paint, sanitize, truncate } from '../text.ts';
import type { Ctx } from './context.ts';

/** Notices (footer messages) stay this long. */
export const NOTICE_MS = 5000;

const FOOTER_HINTS =
  '↑↓/jk select  Enter logs  r reload  R restart  d describe  / filter  p pause  ? help  q quit';

export function footer(ctx: Ctx, width: number): string {
  const { state, color, now } = ctx;
  const ui = state.ui;
  if (ui.filterEditing) {
    const bad = ctx.search && !ctx.search.ok ? `   ${ctx.search.error}` : '';
    return paint(
      truncate(`/${sanitize(ui.filter)}▌${bad}   Enter keep · Esc clear`, width),
      bad ? 'bold red-fg' : 'bold',
      color,
    );
  }
  if (ui.notice && now - ui.notice.at >= 0 && now - ui.notice.at < NOTICE_MS) {
    return paint(truncate(sanitize(ui.notice.text), width), ui.notice.error ? 'red-fg bold' : 'bold', color);
  }
  if (state.up.phase === 'failed') {
    return paint(
      truncate('devenv up failed (the reason is above) · q quits · ? help · / filter logs', width),
      'red-fg bold',
      color,
    );
  }
  return paint(truncate(FOOTER_HINTS, width), 'gray-fg', color);
}

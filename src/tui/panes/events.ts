/**
 * The events pane: failed steps, then Kubernetes Warning events, then Normal ones, newest
 * first, each wrapped to at most a given number of rows.
 */
import { age } from '../format.ts';
import { redact } from '../redact.ts';
import { fitWidth, paint, sanitize, strWidth, truncate, wrap } from '../text.ts';
import { type Ctx, rule } from './context.ts';

export function eventsPane(ctx: Ctx, width: number, rows: number, maxRowsPerEvent: number): string[] {
  const { color, eventItems: items } = ctx;
  const warnings = items.filter((i) => i.warning).length;
  const lines = [rule(`EVENTS · ${warnings} warning${warnings === 1 ? '' : 's'}`, width, color)];
  if (items.length === 0) {
    lines.push(paint(truncate('(no events)', width), 'gray-fg', color));
    return lines.slice(0, rows);
  }
  for (const it of items) {
    if (lines.length >= rows) break;
    const when = it.when === undefined ? '-' : age(ctx.now - it.when);
    const head = `${it.warning ? 'W' : 'N'} ${fitWidth(when, 3)} `;
    const text = redact(
      sanitize(`${it.object} ${it.reason}: ${it.message}${it.count > 1 ? ` (x${it.count})` : ''}`),
    );
    const textW = width - strWidth(head);
    if (textW < 4) {
      lines.push(paint(truncate(head + text, width), it.warning ? 'red-fg' : undefined, color));
      continue;
    }
    let parts = wrap(text, textW);
    if (parts.length > maxRowsPerEvent) {
      parts = parts.slice(0, maxRowsPerEvent);
      parts[maxRowsPerEvent - 1] = truncate(`${parts[maxRowsPerEvent - 1]!}…`, textW);
    }
    parts.forEach((p, i) => {
      const h =
        i === 0 ? paint(head, it.warning ? 'red-fg bold' : 'gray-fg', color) : ' '.repeat(strWidth(head));
      if (lines.length < rows) lines.push(h + paint(p, undefined, color));
    });
  }
  return lines;
}

// ---- footer ---------------------------------------------------------------------------

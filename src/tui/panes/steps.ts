/**
 * The steps pane: up's steps while it runs (or after it failed), each with its time, the
 * newest progress lines of running steps and the supporting lines of a failed one, fitted
 * to the rows it has.
 */
import type { StepState } from '../../store/state.ts';
import { age, shortMs } from '../format.ts';
import { redact } from '../redact.ts';
import { fitWidth, paint, sanitize, strWidth, truncate, wrap } from '../text.ts';
import { type Ctx, rule } from './context.ts';

/** Extra rows under a running step: its newest progress lines (BuildKit steps, pulls). */
const RUNNING_EXTRA = 2;
/** Extra rows under a failed step: its error's supporting lines. */
const FAIL_EXTRA = 8;

interface StepRow {
  step: StepState;
  main: string;
  extra: string[];
}

function stepRows(ctx: Ctx, width: number): StepRow[] {
  const { state, color, now } = ctx;
  const steps = [...state.steps.values()];
  const idW = Math.min(24, Math.max(8, ...steps.map((x) => strWidth(x.id))));
  const timeW = 6;
  const textW = Math.max(0, width - 2 - idW - 2 - timeW - 1);
  const rows: StepRow[] = [];
  for (const st of steps) {
    const icon =
      st.phase === 'done'
        ? paint('✓', 'green-fg', color)
        : st.phase === 'skip'
          ? paint('·', 'gray-fg', color)
          : st.phase === 'fail'
            ? paint('✗', 'red-fg bold', color)
            : paint('…', 'yellow-fg', color);
    const running = st.phase === 'start' || st.phase === 'progress';
    const time = running
      ? st.startedAt === undefined
        ? ''
        : age(now - st.startedAt)
      : st.ms === undefined
        ? ''
        : shortMs(st.ms);
    const what = redact(
      sanitize(
        st.phase === 'fail'
          ? (st.error ?? st.detail ?? 'failed')
          : st.phase === 'skip'
            ? (st.detail ?? st.title ?? '')
            : (st.title ?? st.detail ?? ''),
      ),
    );
    const idStyle = st.phase === 'fail' ? 'red-fg bold' : running ? 'yellow-fg' : undefined;
    const textStyle = st.phase === 'fail' ? 'red-fg' : st.phase === 'skip' ? 'gray-fg' : undefined;
    let main = `${icon} ${paint(fitWidth(st.id, idW), idStyle, color)}  `;
    if (textW > 0) main += `${paint(fitWidth(what, textW), textStyle, color)} `;
    main += paint(fitWidth(time, timeW, 'right'), 'gray-fg', color);
    const indentW = Math.min(idW + 4, Math.max(0, width - 8));
    const innerW = Math.max(1, width - indentW - 2);
    const more = (l: string, style?: string) =>
      `${' '.repeat(indentW)}${paint('│', 'gray-fg', color)} ${paint(truncate(redact(sanitize(l)), innerW), style, color)}`;
    let extra: string[] = [];
    if (running && st.recent && st.recent.length > 0) {
      extra = st.recent.slice(-RUNNING_EXTRA).map((l) => more(l, 'gray-fg'));
    } else if (st.phase === 'fail') {
      // The error may be longer than the row: its rest first, then its lines.
      const full = redact(sanitize(st.error ?? ''));
      const wrapped = textW > 0 && strWidth(full) > textW ? wrap(full, innerW) : [];
      extra = [...wrapped, ...(st.lines ?? [])].slice(0, FAIL_EXTRA).map((l) => more(l));
    }
    rows.push({ step: st, main, extra });
  }
  return rows;
}

/** Rows the steps pane would like: its title, each step, their extra rows, up's own error. */
export function stepsWanted(ctx: Ctx): number {
  const rows = stepRows(ctx, ctx.width);
  const upError = upFailureLines(ctx, ctx.width).length;
  if (rows.length === 0 && upError === 0) return 2;
  return 1 + upError + rows.reduce((n, r) => n + 1 + r.extra.length, 0);
}

/** When `up` failed with an error no step reported (bad input, a lock): that error. */
function upFailureLines(ctx: Ctx, width: number): string[] {
  const { up } = ctx.state;
  if (up.phase !== 'failed' || !up.error) return [];
  for (const st of ctx.state.steps.values()) if (st.phase === 'fail' && st.error === up.error) return [];
  const out = [paint(truncate(redact(sanitize(`✗ ${up.error}`)), width), 'red-fg bold', ctx.color)];
  for (const l of (up.lines ?? []).slice(0, FAIL_EXTRA))
    out.push(paint(truncate(redact(sanitize(`  ${l}`)), width), 'red-fg', ctx.color));
  return out;
}

export function stepsPane(ctx: Ctx, width: number, rows: number): string[] {
  const { state, color, now } = ctx;
  const up = state.up;
  let done = 0;
  for (const st of state.steps.values()) if (st.phase === 'done' || st.phase === 'skip') done++;
  const total = state.steps.size;
  const title =
    up.phase === 'failed'
      ? `UP · FAILED${up.ms !== undefined ? ` after ${shortMs(up.ms)}` : ''} · q quits`
      : `UP · starting${up.since !== undefined ? ` ${age(now - up.since)}` : ''} · ${done}/${total} steps done`;
  const lines = [rule(title, width, color, up.phase === 'failed' ? 'bold red-fg' : 'bold')];
  const budget = rows - 1;
  if (budget <= 0) return lines.slice(0, rows);
  const head = upFailureLines(ctx, width);
  const list = stepRows(ctx, width);
  if (list.length === 0 && head.length === 0) {
    lines.push(paint(truncate('(preparing: config, manifests, pre-flight)', width), 'gray-fg', color));
    return lines;
  }
  // Fit: first the extra rows of finished-ok steps' neighbours go, then old finished steps.
  const size = () => head.length + list.reduce((n, r) => n + 1 + r.extra.length, 0);
  // 1. running steps keep one progress line, then none.
  for (const keep of [1, 0]) {
    if (size() <= budget) break;
    for (const r of list)
      if (r.step.phase !== 'fail' && r.extra.length > keep) r.extra = r.extra.slice(-keep || r.extra.length);
    if (keep === 0) for (const r of list) if (r.step.phase !== 'fail') r.extra = [];
  }
  // 2. the oldest finished (done/skip) steps, summarised in one row.
  let hidden = 0;
  while (size() + (hidden > 0 ? 1 : 0) > budget) {
    const i = list.findIndex((r) => r.step.phase === 'done' || r.step.phase === 'skip');
    if (i < 0) break;
    list.splice(i, 1);
    hidden++;
  }
  const body: string[] = [...head];
  if (hidden > 0)
    body.push(
      paint(truncate(`✓ ${hidden} more step${hidden === 1 ? '' : 's'} done`, width), 'gray-fg', color),
    );
  for (const r of list) body.push(r.main, ...r.extra);
  // 3. still too long (many failures): cut the failures' lines from the end.
  lines.push(...body.slice(0, budget));
  return lines;
}

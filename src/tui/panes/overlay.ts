/**
 * The overlays drawn on top of the view: the key help and the selected service's
 * description (status, reload timings, URLs, pods, related events, last log lines), in a
 * centred, framed box.
 */
import { age, clock, phaseParts, shortMs } from '../format.ts';
import { redact } from '../redact.ts';
import { fitWidth, paint, sanitize, strWidth, truncate, wrap } from '../text.ts';
import { type Ctx, podShort } from './context.ts';
import { serviceCells } from './services.ts';
import type { Pane, PaneId } from './types.ts';

export const HELP_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['↑ ↓  j k', 'select a service'],
  ['Enter', 'focus logs: all → service → each pod → all'],
  ['Esc', 'back: close overlay, clear filter, follow, all logs'],
  ['r', 'rebuild + reload the selected service'],
  ['R', "restart the selected service's pods"],
  ['d', 'describe the selected service'],
  ['/', 'search logs: regex, highlighted (Enter keeps, Esc clears)'],
  ['p', 'pause / follow the logs'],
  ['PgUp PgDn', 'scroll the logs (scrolling up pauses)'],
  ['End  G', 'follow the newest lines again'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit the dashboard (environment keeps running)'],
];

export function helpLines(): string[] {
  const keyW = Math.max(...HELP_KEYS.map(([k]) => strWidth(k)));
  return [
    ...HELP_KEYS.map(([k, what]) => `${fitWidth(k, keyW)}   ${what}`),
    '',
    '`devenv down` stops the environment.',
  ];
}

export function describeLines(ctx: Ctx): string[] {
  const sel = ctx.selected;
  if (!sel) return ['No service selected.'];
  const cells = serviceCells(ctx, sel);
  const out: string[] = [
    `service    ${sel.name}${sel.namespace ? `   namespace ${sel.namespace}` : ''}`,
    `status     ${cells.status!.text}   ready ${sel.ready}/${sel.desired}   restarts ${cells.restarts!.text}   age ${cells.age!.text}`,
    `image tag  ${sel.imageTag ?? '-'}`,
  ];
  const r = sel.lastReload;
  if (r) {
    const t = r.timings;
    const parts = [...phaseParts(t, shortMs), `total ${shortMs(t.totalMs)}`];
    out.push(`reload     ${r.result} at ${clock(r.at)}Z (${age(ctx.now - r.at)} ago): ${parts.join(', ')}`);
    if (r.error) out.push(`  error: ${r.error}`);
  } else out.push('reload     -');
  const urls = ctx.state.endpoints.filter((e) => e.service === sel.name);
  out.push('', `answers at (${urls.length})`);
  if (urls.length === 0) out.push('  -');
  for (const e of urls) out.push(`  ${e.url}${e.note ? `   ${e.note}` : ''}`);
  const pods = ctx.podsByService.get(sel.name) ?? [];
  out.push('', `pods (${pods.length})`);
  if (pods.length === 0) out.push('  -');
  for (const p of pods) {
    const started = p.startedAt === undefined ? '' : `   started ${age(ctx.now - p.startedAt)} ago`;
    out.push(
      `  ${p.name}   ${p.phase}${p.reason ? ` ${p.reason}` : ''}   ${p.ready ? 'ready' : 'not ready'}   restarts ${p.restarts}   node ${p.node ?? '-'}${started}`,
    );
  }
  // Events about this service's objects: its pods, its workload, its ReplicaSets.
  const podNames = new Set(pods.map((p) => p.name));
  const related = ctx.eventItems.filter((e) => {
    const name = e.object.slice(e.object.indexOf('/') + 1);
    return podNames.has(name) || name === sel.name || name.startsWith(`${sel.name}-`);
  });
  out.push('', `events (${related.length})`);
  if (related.length === 0) out.push('  -');
  for (const e of related) {
    out.push(
      `  ${e.warning ? 'Warning' : 'Normal '} ${e.when === undefined ? '' : `${age(ctx.now - e.when)} ago `}${e.object} ${e.reason}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`,
    );
  }
  // The service's last log lines: why a crashing pod crashes is usually there.
  const recent: string[] = [];
  const logs = ctx.state.logs;
  for (let seq = logs.total - 1; seq >= logs.first && recent.length < DESCRIBE_LOG_LINES; seq--) {
    const l = logs.at(seq);
    if (l && l.service === sel.name) recent.push(`  ${podShort(l.pod)} │ ${l.line}`);
  }
  out.push('', `last log lines (${recent.length})`, ...(recent.length ? recent.reverse() : ['  -']));
  return out.map((l) => redact(sanitize(l)));
}

const DESCRIBE_LOG_LINES = 5;

/** A centred, framed box; content wrapped to its inner width and cut to its height. */
export function overlay(
  id: PaneId,
  title: string,
  content: string[],
  ctx: Ctx,
  width: number,
  height: number,
): Pane {
  const { color } = ctx;
  const natural = Math.max(strWidth(title) + 4, ...content.map((l) => strWidth(l) + 4));
  const w = Math.max(Math.min(width, 8), Math.min(width - 2, natural, 110));
  const innerW = Math.max(1, w - 4);
  let body: string[] = [];
  for (const l of content) {
    // Continuation rows keep the line's indent plus two, so wrapped entries stay readable.
    const indent = ' '.repeat(Math.min(innerW >> 1, l.length - l.trimStart().length + 2));
    const first = wrap(l, innerW)[0]!;
    body.push(first);
    const rest = l.slice(first.length).trimStart();
    if (rest !== '') for (const m of wrap(rest, Math.max(1, innerW - indent.length))) body.push(indent + m);
  }
  const maxBody = Math.max(0, Math.min(height - 2, body.length + 2) - 2);
  if (body.length > maxBody) {
    body = body.slice(0, maxBody);
    if (maxBody > 0) body[maxBody - 1] = fitWidth('…', innerW);
  }
  const h = Math.min(height, body.length + 2);
  const top = Math.max(0, Math.floor((height - h) / 2));
  const left = Math.max(0, Math.floor((width - w) / 2));
  const t = truncate(` ${title} `, Math.max(0, w - 4));
  const lines = [paint(`┌─${t}${'─'.repeat(Math.max(0, w - 3 - strWidth(t)))}┐`, 'bold', color)];
  for (const b of body)
    lines.push(
      `${paint('│', 'bold', color)} ${paint(fitWidth(b, innerW), undefined, color)} ${paint('│', 'bold', color)}`,
    );
  if (h >= 2) lines.push(paint(`└${'─'.repeat(Math.max(0, w - 2))}┘`, 'bold', color));
  return { id, top, left, width: w, height: h, lines: lines.slice(0, h) };
}

/**
 * The services table: one row per service (ready, status, restarts, age, node, image tag,
 * last reload, URL), the columns that fit the width chosen by priority, the selected row
 * kept visible and highlighted.
 */
import type { ServiceState, State, StepState } from '../../store/state.ts';
import { age, shortMs } from '../format.ts';
import { fitWidth, paint, strWidth, truncate } from '../text.ts';
import type { Ctx } from './context.ts';

/**
 * A service's status before its pods are reported (while `up` runs): from its build, push
 * and rollout steps.
 */
function stepStatus(state: Readonly<State>, service: string): string | undefined {
  const rollout = [...state.steps.values()].find(
    (x) => x.id.startsWith('rollout:') && (x.id.endsWith(`/${service}`) || x.id === `rollout:${service}`),
  );
  const push = state.steps.get(`load:${service}`);
  const build = state.steps.get(`build:${service}`);
  const running = (x?: StepState) => x !== undefined && (x.phase === 'start' || x.phase === 'progress');
  if (rollout?.phase === 'fail') return 'rollout failed';
  if (push?.phase === 'fail') return 'push failed';
  if (build?.phase === 'fail') return 'build failed';
  if (running(rollout)) return 'rolling out';
  if (rollout) return undefined;
  if (running(push)) return 'pushing';
  if (running(build)) {
    const at = build?.stage?.match(/\[(?:[^\]\s]+ )?(\d+\/\d+)\]/)?.[1];
    return at ? `building ${at}` : 'building';
  }
  if (push) return state.steps.get('apply')?.phase === 'start' ? 'applying' : 'built';
  if (state.up.phase === 'starting') return 'waiting';
  if (state.up.phase === 'failed') return 'not deployed';
  return undefined;
}

// ---- services table -------------------------------------------------------------------

interface Column {
  key: string;
  title: string;
  min: number;
  max: number;
  /** Lower = kept first when the terminal is narrow. */
  prio: number;
  align?: 'right';
}

const COLUMNS: Column[] = [
  { key: 'service', title: 'SERVICE', min: 8, max: 24, prio: 1 },
  { key: 'namespace', title: 'NAMESPACE', min: 9, max: 16, prio: 7 },
  { key: 'ready', title: 'READY', min: 5, max: 7, prio: 2 },
  { key: 'status', title: 'STATUS', min: 9, max: 18, prio: 3 },
  { key: 'restarts', title: 'RESTARTS', min: 8, max: 8, prio: 5, align: 'right' },
  { key: 'age', title: 'AGE', min: 4, max: 5, prio: 6 },
  { key: 'node', title: 'NODE', min: 8, max: 24, prio: 8 },
  { key: 'image', title: 'IMAGE TAG', min: 9, max: 20, prio: 9 },
  { key: 'reload', title: 'LAST RELOAD', min: 11, max: 22, prio: 4 },
  { key: 'url', title: 'URL', min: 12, max: 48, prio: 10 },
];
const GAP = 2;
const MARK = 2;

interface Cell {
  text: string;
  style?: string;
}

export function serviceCells(ctx: Ctx, svc: ServiceState): Record<string, Cell> {
  const pods = ctx.podsByService.get(svc.name) ?? [];
  let restarts = svc.restarts;
  let nodes = svc.nodes;
  let status = svc.status;
  if (pods.length === 0 && (status === 'Unknown' || ctx.starting))
    status = stepStatus(ctx.state, svc.name) ?? status;
  if (pods.length > 0) {
    // Pods are the live truth: their restarts, their nodes, and the reason a pod is unwell
    // (CrashLoopBackOff says more than the workload's "Progressing").
    restarts = pods.reduce((n, p) => n + p.restarts, 0);
    nodes = [...new Set(pods.map((p) => p.node).filter((n): n is string => Boolean(n)))].sort();
    const bad = pods.find((p) => !p.ready && p.reason);
    if (bad?.reason) status = bad.reason;
  }
  const r = svc.lastReload;
  const reload: Cell = r
    ? {
        text: `${r.result}${r.result === 'ok' ? ` ${shortMs(r.timings.totalMs)}` : ''} ${age(ctx.now - r.at)} ago`,
        style: r.result === 'ok' ? 'green-fg' : r.result === 'failed' ? 'red-fg' : 'gray-fg',
      }
    : { text: '-' };
  return {
    service: { text: svc.name, style: `${ctx.serviceColor(svc.name)}-fg` },
    namespace: { text: svc.namespace || '-' },
    ready: {
      text: `${svc.ready}/${svc.desired}`,
      style: svc.ready >= svc.desired && svc.desired > 0 ? 'green-fg' : 'yellow-fg',
    },
    status: { text: status, style: statusStyle(status) },
    restarts: { text: String(restarts), style: restarts > 0 ? 'yellow-fg' : undefined },
    age: { text: svc.createdAt === undefined ? '-' : age(ctx.now - svc.createdAt) },
    node: { text: nodes.length ? nodes.join(',') : '-' },
    image: { text: svc.imageTag ? shortTag(svc.imageTag) : '-' },
    reload,
    url: { text: firstUrl(ctx, svc.name) },
  };
}

/** The service's first URL (+N more), '-' when it has none. */
function firstUrl(ctx: Ctx, service: string): string {
  const list = ctx.state.endpoints.filter((e) => e.service === service);
  if (list.length === 0) return '-';
  return `${list[0]!.url}${list.length > 1 ? ` +${list.length - 1}` : ''}`;
}

function shortTag(tag: string): string {
  const at = tag.lastIndexOf(':');
  return at >= 0 && !tag.slice(at).includes('/') ? tag.slice(at + 1) : tag;
}

export function statusStyle(status: string): string | undefined {
  if (/^(Running|Ready|Available|Succeeded|Completed)$/i.test(status)) return 'green-fg';
  if (/(BackOff|Err|Fail|OOM|Degraded|Invalid|Evicted|Unhealthy)/i.test(status)) return 'red-fg';
  if (/^(Unknown|-)$/i.test(status)) return 'gray-fg';
  return 'yellow-fg';
}

/** Picks the columns that fit (by priority) and their widths. */
function layoutColumns(
  rows: Array<Record<string, Cell>>,
  width: number,
  withUrl: boolean,
): Array<Column & { w: number }> {
  const natural = new Map<string, number>();
  const columns = withUrl ? COLUMNS : COLUMNS.filter((c) => c.key !== 'url');
  for (const col of columns) {
    let w = strWidth(col.title);
    for (const r of rows) w = Math.max(w, strWidth(r[col.key]?.text ?? ''));
    natural.set(col.key, w);
  }
  const avail = width - MARK;
  const chosen = new Map<string, number>();
  let used = 0;
  for (const col of [...columns].sort((a, b) => a.prio - b.prio)) {
    const want = Math.max(col.min, Math.min(col.max, natural.get(col.key)!));
    const gap = chosen.size > 0 ? GAP : 0;
    if (used + gap + want <= avail) {
      chosen.set(col.key, want);
      used += gap + want;
    } else if (used + gap + col.min <= avail) {
      chosen.set(col.key, col.min);
      used += gap + col.min;
    }
  }
  // Spare columns go to cells that were cut, in display order, then to the last column.
  let spare = avail - used;
  const out = columns.filter((c) => chosen.has(c.key)).map((c) => ({ ...c, w: chosen.get(c.key)! }));
  for (const c of out) {
    if (spare <= 0) break;
    const need = Math.max(0, natural.get(c.key)! - c.w);
    const add = Math.min(need, spare);
    c.w += add;
    spare -= add;
  }
  if (out.length === 0) out.push({ ...COLUMNS[0]!, w: Math.max(1, avail) });
  return out;
}

export function servicesTable(ctx: Ctx, rows: number): string[] {
  const { color, width } = ctx;
  const cells = ctx.services.map((s) => serviceCells(ctx, s));
  const cols = layoutColumns(cells, width, ctx.state.endpoints.length > 0);
  const headerText =
    ' '.repeat(MARK) + cols.map((c) => fitWidth(c.title, c.w, c.align)).join(' '.repeat(GAP));
  const lines = [paint(fitWidth(headerText, width), 'bold underline', color)];
  if (ctx.services.length === 0) {
    lines.push(paint(truncate('  (no services deployed yet)', width), 'gray-fg', color));
    return lines.slice(0, rows);
  }
  const body = rows - 1;
  const selIndex = Math.max(
    0,
    ctx.services.findIndex((s) => s.name === ctx.selected?.name),
  );
  // Keep the selection visible when there are more services than rows.
  const start = Math.min(Math.max(0, selIndex - body + 1), Math.max(0, ctx.services.length - body));
  for (let i = start; i < Math.min(ctx.services.length, start + body); i++) {
    const selected = i === selIndex;
    const row = cells[i]!;
    const mark = selected ? '> ' : '  ';
    if (selected && color) {
      // Whole row in reverse video; per-cell colours would fight the highlight.
      const text = mark + cols.map((c) => fitWidth(row[c.key]!.text, c.w, c.align)).join(' '.repeat(GAP));
      lines.push(paint(fitWidth(text, width), 'inverse bold', color));
      continue;
    }
    const parts = cols.map((c) => {
      const cell = row[c.key]!;
      return paint(fitWidth(cell.text, c.w, c.align), cell.style, color);
    });
    lines.push(mark + parts.join(' '.repeat(GAP)));
  }
  return lines;
}

// ---- logs -----------------------------------------------------------------------------

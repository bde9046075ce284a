/**
 * The dashboard's view: a PURE function from the state store to what is drawn
 * (Tilt's `stateToView(state)`).
 *
 * Contract:
 * - `stateToView(state, {width, height, now, color})` returns panes (position, size, text
 *   lines) and never reads the clock, the terminal, Kubernetes or anything else: the same
 *   state, size and `now` always give the same view (golden-file tested with a fixed clock).
 * - Every line fits its pane's width in terminal columns; it never throws, whatever the size
 *   (0x0, 10x3, 80x24, 160x48, 1000x500) or the content (escape codes, wide characters,
 *   megabyte lines).
 * - With `color` the lines carry blessed tags (and foreign text is tag-escaped); without it
 *   they are plain text, and the blessed boxes must be created with `tags: false`.
 * - Foreign text (logs, event messages, step errors) is sanitised (no escape codes or control
 *   characters) and passed through the secret redaction guard before it is shown.
 * - Layout: header (project, cluster, nodes, data services, CA), services table, log pane,
 *   events pane (beside the logs when width >= 120, below them otherwise), footer; the help
 *   or describe overlay is the last pane (drawn on top).
 */
import {
  type KubeEvent,
  type LogLine,
  type PodInfo,
  type ServiceState,
  type State,
  type StepState,
  selectedService,
  serviceList,
} from '../store/state.ts';
import { age, clock, shortMs } from './format.ts';
import { redact } from './redact.ts';
import { compileSearch, type Search, searchRegex, splitMatches } from './search.ts';
import { fitWidth, paint, sanitize, strWidth, truncate, wrap } from './text.ts';

export interface ViewOptions {
  width: number;
  height: number;
  /** Epoch ms: ages and "x ago" are computed against it (fixed in tests). */
  now: number;
  /** Emit blessed colour tags. */
  color: boolean;
}

export type PaneId =
  | 'header'
  | 'services'
  | 'steps'
  | 'logs'
  | 'events'
  | 'footer'
  | 'help'
  | 'describe'
  | 'small';

export interface Pane {
  id: PaneId;
  top: number;
  left: number;
  width: number;
  height: number;
  /** At most `height` lines, each at most `width` columns once tags are removed. */
  lines: string[];
}

export interface View {
  width: number;
  height: number;
  /** Back to front: an overlay (help, describe) comes last. */
  panes: Pane[];
}

/** Notices (footer messages) stay this long. */
export const NOTICE_MS = 5000;
/** Below this size only a "too small" line is drawn. */
export const MIN_WIDTH = 20;
export const MIN_HEIGHT = 6;

const SERVICE_COLORS = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'white'] as const;

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

const FOOTER_HINTS =
  '↑↓/jk select  Enter logs  r reload  R restart  d describe  / filter  p pause  ? help  q quit';

export function stateToView(state: Readonly<State>, opts: ViewOptions): View {
  const width = safeInt(opts.width);
  const height = safeInt(opts.height);
  const view: View = { width, height, panes: [] };
  if (width <= 0 || height <= 0) return view;
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    view.panes.push({
      id: 'small',
      top: 0,
      left: 0,
      width,
      height,
      lines: [truncate(`devenv: window too small (${width}x${height}); q quits`, width)],
    });
    return view;
  }
  const ctx = makeContext(state, opts, width);

  const headerRows = height >= 16 ? 3 : 1;
  const footerRows = 1;
  const body = height - headerRows - footerRows;

  const services = ctx.services;
  // Services table: its heading + one row per service, at most 40% of the body.
  const servicesRows = Math.max(2, Math.min(services.length + 1, Math.floor(body * 0.4)));
  const rest = body - servicesRows;
  const wide = width >= 120;
  const eventCount = ctx.eventItems.length;
  let eventsWidth = 0;
  if (wide) eventsWidth = Math.min(70, Math.max(30, Math.floor(width * 0.35)));
  const leftWidth = wide ? width - eventsWidth - 1 : width;
  // While `up` runs (or after it failed) its steps come first, above the logs.
  let stepsRows = 0;
  if (ctx.starting && rest >= 3) {
    const want = stepsWanted(ctx);
    const share = state.logs.total === 0 ? 0.75 : 0.55;
    stepsRows = Math.min(want, Math.max(2, Math.floor(rest * share)));
  }
  const below = rest - stepsRows;
  let eventsRows = 0;
  if (!wide && below >= 8)
    eventsRows = Math.min(Math.max(2, eventCount + 1), Math.max(2, Math.floor(below * 0.3)));
  const logsRows = wide ? below : below - eventsRows;
  const logsWidth = leftWidth;

  let top = 0;
  view.panes.push({ id: 'header', top, left: 0, width, height: headerRows, lines: header(ctx, headerRows) });
  top += headerRows;
  view.panes.push({
    id: 'services',
    top,
    left: 0,
    width,
    height: servicesRows,
    lines: servicesTable(ctx, servicesRows),
  });
  top += servicesRows;
  if (wide) {
    view.panes.push({
      id: 'events',
      top,
      left: logsWidth + 1,
      width: eventsWidth,
      height: rest,
      lines: eventsPane(ctx, eventsWidth, rest, 3),
    });
  }
  if (stepsRows > 0) {
    view.panes.push({
      id: 'steps',
      top,
      left: 0,
      width: leftWidth,
      height: stepsRows,
      lines: stepsPane(ctx, leftWidth, stepsRows),
    });
    top += stepsRows;
  }
  if (logsRows > 0 || stepsRows === 0)
    view.panes.push({
      id: 'logs',
      top,
      left: 0,
      width: logsWidth,
      height: logsRows,
      lines: logPane(ctx, logsWidth, logsRows),
    });
  if (!wide && eventsRows > 0) {
    view.panes.push({
      id: 'events',
      top: top + logsRows,
      left: 0,
      width,
      height: eventsRows,
      lines: eventsPane(ctx, width, eventsRows, 1),
    });
  }
  view.panes.push({ id: 'footer', top: height - 1, left: 0, width, height: 1, lines: [footer(ctx, width)] });

  if (state.ui.showHelp) view.panes.push(overlay('help', 'help · keys', helpLines(), ctx, width, height));
  else if (state.ui.describe) {
    const sel = ctx.selected;
    const title = sel ? `describe · ${sel.name}` : 'describe';
    view.panes.push(overlay('describe', title, describeLines(ctx), ctx, width, height));
  }
  return view;
}

// ---------------------------------------------------------------------------------------

interface Ctx {
  state: Readonly<State>;
  /** `up` runs or failed: its steps pane is shown. */
  starting: boolean;
  now: number;
  color: boolean;
  width: number;
  services: ServiceState[];
  selected: ServiceState | undefined;
  podsByService: Map<string, PodInfo[]>;
  eventItems: EventItem[];
  serviceColor: (name: string) => string;
  /** The log search (ui.filter compiled), undefined without one. */
  search: Search | undefined;
}

interface EventItem {
  warning: boolean;
  when?: number;
  object: string;
  reason: string;
  message: string;
  count: number;
}

function makeContext(state: Readonly<State>, opts: ViewOptions, width: number): Ctx {
  const services = serviceList(state);
  const podsByService = new Map<string, PodInfo[]>();
  for (const p of state.pods.values()) {
    const list = podsByService.get(p.service);
    if (list) list.push(p);
    else podsByService.set(p.service, [p]);
  }
  for (const list of podsByService.values())
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const colorIndex = new Map(services.map((s, i) => [s.name, i]));
  return {
    state,
    starting: state.up.phase === 'starting' || state.up.phase === 'failed',
    now: Number.isFinite(opts.now) ? opts.now : 0,
    color: opts.color,
    width,
    services,
    selected: selectedService(state),
    podsByService,
    eventItems: eventItems(state),
    search: state.ui.filter === '' ? undefined : compileSearch(state.ui.filter),
    serviceColor: (name) =>
      SERVICE_COLORS[(colorIndex.get(name) ?? hash(name)) % SERVICE_COLORS.length] ?? 'white',
  };
}

/** Failed steps first (they block `up`), then Warnings, then Normal events; newest first. */
function eventItems(state: Readonly<State>): EventItem[] {
  const items: EventItem[] = [];
  for (const s of state.steps.values()) {
    if (s.phase !== 'fail') continue;
    items.push({
      warning: true,
      object: `step ${s.id}`,
      reason: 'Failed',
      message: s.error ?? s.detail ?? '',
      count: 1,
    });
  }
  const events = [...state.events.values()].sort(
    (a: KubeEvent, b: KubeEvent) =>
      Number(b.type === 'Warning') - Number(a.type === 'Warning') ||
      b.lastSeen - a.lastSeen ||
      (a.object < b.object ? -1 : a.object > b.object ? 1 : 0),
  );
  for (const e of events) {
    items.push({
      warning: e.type === 'Warning',
      when: e.lastSeen,
      object: e.object,
      reason: e.reason,
      message: e.message,
      count: e.count,
    });
  }
  return items;
}

// ---- header ---------------------------------------------------------------------------

function header(ctx: Ctx, rows: number): string[] {
  const { state, color, width } = ctx;
  const line1: Seg[] = [
    ['devenv', 'bold'],
    [state.project ? ` · ${state.project}` : '', 'bold'],
    ['   cluster ', 'gray-fg'],
    [state.cluster.name || '-'],
  ];
  if (state.cluster.context && state.cluster.context !== state.cluster.name) {
    line1.push([` (context ${state.cluster.context})`]);
  }
  const steps = stepsSummary(state);
  if (steps) line1.push(['   '], steps);
  if (rows === 1) return [segs(line1, width, color)];

  const nodes: Seg[] = [['nodes ', 'gray-fg']];
  if (state.cluster.nodes.length === 0) nodes.push(['-']);
  for (const n of state.cluster.nodes) {
    nodes.push([` ${n.name} `], n.ready ? ['✓', 'green-fg'] : ['✗', 'red-fg']);
  }
  nodes.push(['    CA ', 'gray-fg'], caSeg(state));

  const data: Seg[] = [['data  ', 'gray-fg']];
  // Before up reports its data services, their steps say how far they are.
  const dataSteps =
    state.dataServices.length === 0
      ? (['database', 'objectStore'] as const).flatMap((id) => {
          const st = state.steps.get(id);
          if (!st) return [];
          const health =
            st.phase === 'done' || st.phase === 'skip'
              ? 'healthy'
              : st.phase === 'fail'
                ? 'unhealthy'
                : 'starting';
          return [{ name: id === 'database' ? 'database' : 'object store', health }];
        })
      : [];
  if (state.dataServices.length === 0 && dataSteps.length === 0) data.push([' -']);
  for (const d of dataSteps) data.push([` ${d.name} `], healthSeg(d.health), ['  ']);
  for (const d of state.dataServices) {
    data.push([` ${d.name} `], healthSeg(d.health));
    if (d.endpoint) data.push([` ${d.endpoint}`]);
    data.push(['  ']);
  }
  return [segs(line1, width, color), segs(nodes, width, color), segs(data, width, color)];
}

type Seg = [text: string, style?: string];

/** Joins styled segments, truncated to `width` columns (a cut segment ends with "…"). */
function segs(list: Seg[], width: number, color: boolean): string {
  let out = '';
  let used = 0;
  for (const [text, style] of list) {
    if (text === '') continue;
    const w = strWidth(text);
    if (used + w > width) {
      out += paint(truncate(text, width - used), style, color);
      return out;
    }
    out += paint(text, style, color);
    used += w;
  }
  return out;
}

function stepsSummary(state: Readonly<State>): Seg | undefined {
  let ok = 0;
  const running: string[] = [];
  const failed: string[] = [];
  for (const s of state.steps.values()) {
    if (s.phase === 'done' || s.phase === 'skip') ok++;
    else if (s.phase === 'fail') failed.push(s.id);
    else running.push(s.id);
  }
  const total = state.steps.size;
  if (state.up.phase === 'failed' && failed.length === 0) return ['✗ up failed', 'red-fg bold'];
  if (total === 0) return state.up.phase === 'starting' ? ['… starting', 'yellow-fg'] : undefined;
  if (failed.length > 0) {
    return [`✗ ${failed[0]} failed${failed.length > 1 ? ` (+${failed.length - 1})` : ''}`, 'red-fg bold'];
  }
  if (running.length > 0) return [`… ${running.join(' ')} (${ok}/${total})`, 'yellow-fg'];
  return [`✓ up (${total} steps)`, 'green-fg'];
}

function healthSeg(h: string): Seg {
  switch (h) {
    case 'healthy':
      return ['✓', 'green-fg'];
    case 'starting':
      return ['…', 'yellow-fg'];
    case 'unhealthy':
      return ['✗ unhealthy', 'red-fg'];
    case 'stopped':
      return ['■ stopped', 'red-fg'];
    default:
      return ['?', 'gray-fg'];
  }
}

function caSeg(state: Readonly<State>): Seg {
  const { status, detail } = state.ca;
  const text = detail ? `${status} (${sanitize(detail)})` : status;
  const style =
    status === 'trusted' || status === 'created'
      ? 'green-fg'
      : status === 'untrusted' || status === 'expiring'
        ? 'yellow-fg'
        : status === 'missing'
          ? 'red-fg'
          : 'gray-fg';
  return [text, style];
}

// ---- steps of `up` (while it runs, or after it failed) ----------------------------------

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
function stepsWanted(ctx: Ctx): number {
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

function stepsPane(ctx: Ctx, width: number, rows: number): string[] {
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

function serviceCells(ctx: Ctx, svc: ServiceState): Record<string, Cell> {
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

function servicesTable(ctx: Ctx, rows: number): string[] {
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

function rule(title: string, width: number, color: boolean, style = 'bold'): string {
  const t = truncate(`─ ${title} `, width);
  return paint(t + '─'.repeat(Math.max(0, width - strWidth(t))), style, color);
}

/** The pod the log pane is focused on, when focus is 'pod' and it still exists. */
function focusedPod(ctx: Ctx): PodInfo | undefined {
  const ui = ctx.state.ui;
  return ui.focus === 'pod' && ui.focusPod ? ctx.state.pods.get(ui.focusPod) : undefined;
}

function logPane(ctx: Ctx, width: number, rows: number): string[] {
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

/** The distinguishing suffix of a pod name: "api-7d9f8c-x1k2p" -> "x1k2p". */
function podShort(name: string): string {
  const i = name.lastIndexOf('-');
  return i >= 0 && i < name.length - 1 ? name.slice(i + 1) : name;
}

// ---- events ---------------------------------------------------------------------------

function eventsPane(ctx: Ctx, width: number, rows: number, maxRowsPerEvent: number): string[] {
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

function footer(ctx: Ctx, width: number): string {
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

// ---- overlays -------------------------------------------------------------------------

function helpLines(): string[] {
  const keyW = Math.max(...HELP_KEYS.map(([k]) => strWidth(k)));
  return [
    ...HELP_KEYS.map(([k, what]) => `${fitWidth(k, keyW)}   ${what}`),
    '',
    '`devenv down` stops the environment.',
  ];
}

function describeLines(ctx: Ctx): string[] {
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
    const parts = [
      t.buildMs !== undefined ? `build ${shortMs(t.buildMs)}` : '',
      t.loadMs !== undefined ? `load ${shortMs(t.loadMs)}` : '',
      t.syncMs !== undefined ? `sync ${shortMs(t.syncMs)}` : '',
      t.rolloutMs !== undefined ? `rollout ${shortMs(t.rolloutMs)}` : '',
      `total ${shortMs(t.totalMs)}`,
    ].filter(Boolean);
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
function overlay(
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

// ---- helpers --------------------------------------------------------------------------

function safeInt(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0;
}

function hash(s: string): number {
  let h = 5381;
  for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
  return h;
}

/**
 * Composes a view into plain text rows (tags removed, panes at their positions, later panes
 * on top): golden files, the headless benchmark, and debugging. Pure.
 */
export function viewToText(view: View, strip: (s: string) => string = (s) => s): string {
  const rows: string[][] = [];
  for (let y = 0; y < view.height; y++) rows.push(new Array<string>(view.width).fill(' '));
  for (const pane of view.panes) {
    pane.lines.forEach((raw, i) => {
      const y = pane.top + i;
      if (y < 0 || y >= view.height || i >= pane.height) return;
      const row = rows[y]!;
      let x = pane.left;
      // Clear the pane's row first (an overlay hides what is under it).
      for (let k = pane.left; k < Math.min(view.width, pane.left + pane.width); k++) row[k] = ' ';
      for (const ch of strip(raw)) {
        const cw = strWidth(ch);
        if (x + cw > Math.min(view.width, pane.left + pane.width)) break;
        row[x] = ch;
        if (cw === 2) row[x + 1] = '';
        x += cw;
      }
    });
  }
  return rows.map((r) => r.join('').trimEnd()).join('\n');
}

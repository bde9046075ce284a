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
import type { State } from '../store/state.ts';
import { type Ctx, makeContext } from './panes/context.ts';
import { eventsPane } from './panes/events.ts';
import { footer } from './panes/footer.ts';
import { header } from './panes/header.ts';
import { logPane } from './panes/logs.ts';
import { describeLines, helpLines, overlay } from './panes/overlay.ts';
import { servicesTable } from './panes/services.ts';
import { stepsPane, stepsWanted } from './panes/steps.ts';
import type { Pane, View, ViewOptions } from './panes/types.ts';
import { strWidth, truncate } from './text.ts';

/** Below this size only a "too small" line is drawn. */
export const MIN_WIDTH = 20;
export const MIN_HEIGHT = 6;

export function stateToView(state: Readonly<State>, opts: ViewOptions): View {
  const width = safeInt(opts.width);
  const height = safeInt(opts.height);
  const view: View = { width, height, panes: [] };
  if (width <= 0 || height <= 0) return view;
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    view.panes.push(tooSmallPane(width, height));
    return view;
  }
  const ctx = makeContext(state, opts, width);
  const layout = planLayout(ctx, width, height);
  view.panes.push(...bodyPanes(ctx, layout));
  view.panes.push({ id: 'footer', top: height - 1, left: 0, width, height: 1, lines: [footer(ctx, width)] });
  const top = overlayPane(ctx, width, height);
  if (top) view.panes.push(top);
  return view;
}

function tooSmallPane(width: number, height: number): Pane {
  return {
    id: 'small',
    top: 0,
    left: 0,
    width,
    height,
    lines: [truncate(`devenv: window too small (${width}x${height}); q quits`, width)],
  };
}

/** The rows and columns of each pane between the header and the footer. */
interface Layout {
  width: number;
  headerRows: number;
  servicesRows: number;
  /** Rows under the services table: steps + logs (+ events when narrow), or events when wide. */
  rest: number;
  /** Wide terminals (>= 120 columns) put the events beside the steps and logs. */
  wide: boolean;
  eventsWidth: number;
  /** Columns of the steps and log panes. */
  leftWidth: number;
  stepsRows: number;
  logsRows: number;
  /** Rows of the events pane below the logs (narrow terminals only). */
  eventsRows: number;
}

function planLayout(ctx: Ctx, width: number, height: number): Layout {
  const headerRows = height >= 16 ? 3 : 1;
  const footerRows = 1;
  const body = height - headerRows - footerRows;
  // Services table: its heading + one row per service, at most 40% of the body.
  const servicesRows = Math.max(2, Math.min(ctx.services.length + 1, Math.floor(body * 0.4)));
  const rest = body - servicesRows;
  const wide = width >= 120;
  const eventsWidth = wide ? Math.min(70, Math.max(30, Math.floor(width * 0.35))) : 0;
  const leftWidth = wide ? width - eventsWidth - 1 : width;
  // While `up` runs (or after it failed) its steps come first, above the logs.
  let stepsRows = 0;
  if (ctx.starting && rest >= 3) {
    const share = ctx.state.logs.total === 0 ? 0.75 : 0.55;
    stepsRows = Math.min(stepsWanted(ctx), Math.max(2, Math.floor(rest * share)));
  }
  const below = rest - stepsRows;
  let eventsRows = 0;
  if (!wide && below >= 8)
    eventsRows = Math.min(Math.max(2, ctx.eventItems.length + 1), Math.max(2, Math.floor(below * 0.3)));
  const logsRows = wide ? below : below - eventsRows;
  return {
    width,
    headerRows,
    servicesRows,
    rest,
    wide,
    eventsWidth,
    leftWidth,
    stepsRows,
    logsRows,
    eventsRows,
  };
}

/** Header, services, then (back to front) the events beside, the steps, the logs, the events below. */
function bodyPanes(ctx: Ctx, l: Layout): Pane[] {
  const { width, headerRows, servicesRows, rest, wide, eventsWidth, leftWidth, stepsRows, logsRows } = l;
  const panes: Pane[] = [];
  let top = 0;
  panes.push({ id: 'header', top, left: 0, width, height: headerRows, lines: header(ctx, headerRows) });
  top += headerRows;
  const services = servicesTable(ctx, servicesRows);
  panes.push({ id: 'services', top, left: 0, width, height: servicesRows, lines: services });
  top += servicesRows;
  if (wide) {
    const lines = eventsPane(ctx, eventsWidth, rest, 3);
    panes.push({ id: 'events', top, left: leftWidth + 1, width: eventsWidth, height: rest, lines });
  }
  if (stepsRows > 0) {
    const lines = stepsPane(ctx, leftWidth, stepsRows);
    panes.push({ id: 'steps', top, left: 0, width: leftWidth, height: stepsRows, lines });
    top += stepsRows;
  }
  if (logsRows > 0 || stepsRows === 0) {
    const lines = logPane(ctx, leftWidth, logsRows);
    panes.push({ id: 'logs', top, left: 0, width: leftWidth, height: logsRows, lines });
  }
  if (!wide && l.eventsRows > 0) {
    const lines = eventsPane(ctx, width, l.eventsRows, 1);
    panes.push({ id: 'events', top: top + logsRows, left: 0, width, height: l.eventsRows, lines });
  }
  return panes;
}

/** The help or the describe overlay, when one is open (help wins). */
function overlayPane(ctx: Ctx, width: number, height: number): Pane | undefined {
  if (ctx.state.ui.showHelp) return overlay('help', 'help · keys', helpLines(), ctx, width, height);
  if (!ctx.state.ui.describe) return undefined;
  const sel = ctx.selected;
  const title = sel ? `describe · ${sel.name}` : 'describe';
  return overlay('describe', title, describeLines(ctx), ctx, width, height);
}

function safeInt(n: number): number {
  return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0;
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

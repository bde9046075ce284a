/**
 * The terminal dashboard: the blessed layer. It only DRAWS what `stateToView` computes and
 * turns keys into ui actions (through the pure key map) or injected callbacks.
 *
 * Contract:
 * - `startDashboard(store, opts)` takes over the terminal (alternate screen, raw keys) and
 *   redraws from `stateToView(store.getState(), ...)` whenever the store changes, throttled
 *   to `fps` (default 10) so thousands of log lines per second cost ~10 renders per second;
 *   plus once a second so ages tick.
 * - `q` / Ctrl-C: the dashboard restores the terminal FIRST, then calls `onQuit()`. The
 *   environment keeps running; the caller only stops watching (and exits or falls back to
 *   the plain printer).
 * - `r` / `R` call `onReload(service)` / `onRestart(service)` for the selected service; a
 *   rejected promise becomes a red footer notice, never an exception.
 * - `stop()` is idempotent and always restores the terminal (screen.destroy()); it also runs
 *   if the process exits while the dashboard is open.
 * - blessed is imported lazily: it is heavy, and non-TTY runs never need it.
 */
import type { Widgets } from 'blessed';
import { selectedService } from '../store/state.ts';
import type { Store } from '../store/store.ts';
import { useColor } from './color.ts';
import { type Intent, type KeyInfo, keyToIntent } from './keys.ts';
import type { PaneId, View } from './panes/types.ts';
import { throttle } from './throttle.ts';
import { stateToView } from './view.ts';

export interface DashboardOptions {
  /** Rebuild + reload the service (the watch/reload loop's entry point). */
  onReload(service: string): unknown;
  /** Restart the service's pods (rollout restart). */
  onRestart(service: string): unknown;
  /** Called after the terminal was restored, on q / Ctrl-C. The environment keeps running. */
  onQuit(): void;
  /** Called (after the terminal was restored) if drawing failed; default: print to stderr. */
  onError?(err: unknown): void;
  /** Maximum redraws per second (default 10). */
  fps?: number;
  /** Colours (default: useColor(output), i.e. a TTY and no NO_COLOR). */
  color?: boolean;
  /** Clock for ages and notices (default Date.now). */
  now?: () => number;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

export interface Dashboard {
  /** Restore the terminal and stop listening (idempotent). */
  stop(): void;
  /** Draw now, bypassing the throttle. */
  redraw(): void;
  /** Redraws so far (for tests and benchmarks). */
  readonly frames: number;
  /** When the first frame was drawn: ms since the process started (performance.now()). */
  readonly firstFrameMs: number;
}

const OVERLAYS: ReadonlySet<PaneId> = new Set(['help', 'describe']);

export async function startDashboard(store: Store, opts: DashboardOptions): Promise<Dashboard> {
  const blessed = (await import('blessed')).default;
  const output = (opts.output ?? process.stdout) as NodeJS.WriteStream;
  const input = (opts.input ?? process.stdin) as NodeJS.ReadStream;
  const color = opts.color ?? useColor(output);
  const now = opts.now ?? Date.now;
  const fps = opts.fps && opts.fps > 0 ? opts.fps : 10;

  const title = store.getState().project ? `devenv · ${store.getState().project}` : 'devenv';
  const screen = openScreen(blessed, input, output, title);

  let logRows = 10;
  let stopped = false;
  const boxes = new PaneBoxes(
    (): Widgets.BoxElement =>
      // Plain boxes: the view already laid out, wrapped and cut every line.
      blessed.box({ parent: screen, tags: color, wrap: false, scrollable: false }),
  );

  const draw = (): void => {
    if (stopped) return;
    try {
      const view = stateToView(store.getState(), {
        width: Number(screen.width),
        height: Number(screen.height),
        now: now(),
        color,
      });
      logRows = boxes.show(view) ?? logRows;
      screen.render();
    } catch (err) {
      stop();
      (opts.onError ?? defaultOnError)(err);
    }
  };

  const redraws = throttle(draw, 1000 / fps);
  const unsubscribe = store.subscribe(() => redraws.schedule());
  const ticker = setInterval(() => redraws.schedule(), 1000);
  ticker.unref();

  screen.on('keypress', (ch: string | undefined, key: KeyInfo | undefined) => {
    if (stopped) return;
    const intent = keyToIntent(store.getState(), ch, key ?? {}, logRows);
    if (intent.command === 'quit') {
      for (const a of intent.actions) store.dispatch(a);
      stop();
      opts.onQuit();
      return;
    }
    runIntent(store, opts, now, intent);
    // Keys are answered at once, not at the next throttle slot.
    if (intent.actions.length > 0 || intent.command) redraws.flush();
  });
  screen.on('resize', () => redraws.flush());

  const onExit = () => stop();
  process.once('exit', onExit);

  function stop(): void {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    redraws.cancel();
    clearInterval(ticker);
    process.removeListener('exit', onExit);
    screen.destroy();
  }

  draw();
  const firstFrameMs = Math.round(performance.now());
  return {
    firstFrameMs,
    stop,
    redraw: () => redraws.flush(),
    get frames() {
      return redraws.runs + 1;
    },
  };
}

type Blessed = typeof import('blessed');

/** The blessed screen on the given streams: alternate screen, raw keys, cursor hidden. */
function openScreen(
  blessed: Blessed,
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  title: string,
): Widgets.Screen {
  const screen = blessed.screen({
    input,
    output,
    smartCSR: true,
    fullUnicode: true,
    autoPadding: false,
    warnings: false,
    dockBorders: false,
    title,
  });
  // On a UTF-8 terminal write box-drawing characters as UTF-8: blessed otherwise swaps them
  // for the terminal's ACS line-drawing set, which tmux/screen setups often render as
  // "q"/"x". Non-UTF-8 locales keep blessed's ASCII fallbacks.
  const tput = screen.tput as unknown as { unicode?: boolean; brokenACS?: boolean };
  if (tput.unicode) tput.brokenACS = true;
  screen.program.hideCursor();
  return screen;
}

/** One blessed box per pane id, created on first use; content is set only when it changed. */
class PaneBoxes {
  private readonly boxes = new Map<PaneId, Widgets.BoxElement>();
  private readonly drawn = new Map<PaneId, string>();
  private readonly create: () => Widgets.BoxElement;
  constructor(create: () => Widgets.BoxElement) {
    this.create = create;
  }

  /**
   * Puts each pane of the view in its box (overlays in front) and hides the boxes of panes
   * the view lacks. Returns the log pane's body rows (the page size of PgUp/PgDn), when shown.
   */
  show(view: View): number | undefined {
    let logRows: number | undefined;
    const shown = new Set<PaneId>();
    for (const pane of view.panes) {
      const box = this.boxFor(pane.id);
      box.top = pane.top;
      box.left = pane.left;
      box.width = pane.width;
      box.height = pane.height;
      const content = pane.lines.join('\n');
      if (this.drawn.get(pane.id) !== content) {
        box.setContent(content);
        this.drawn.set(pane.id, content);
      }
      box.show();
      if (OVERLAYS.has(pane.id)) box.setFront();
      if (pane.id === 'logs') logRows = pane.height - 1;
      shown.add(pane.id);
    }
    for (const [id, box] of this.boxes) if (!shown.has(id)) box.hide();
    return logRows;
  }

  private boxFor(id: PaneId): Widgets.BoxElement {
    let box = this.boxes.get(id);
    if (!box) {
      box = this.create();
      this.boxes.set(id, box);
    }
    return box;
  }
}

/** Dispatches a key's ui actions and runs its reload / restart command, if any. */
function runIntent(store: Store, opts: DashboardOptions, now: () => number, intent: Intent): void {
  for (const a of intent.actions) store.dispatch(a);
  if (intent.command === 'reload') runForSelected(store, now, 'reload', opts.onReload);
  else if (intent.command === 'restart') runForSelected(store, now, 'restart', opts.onRestart);
}

/**
 * Runs a reload / restart callback for the selected service; says so in a footer notice,
 * and turns a throw or a rejected promise into a red notice, never an exception.
 */
function runForSelected(
  store: Store,
  now: () => number,
  what: 'reload' | 'restart',
  fn: (s: string) => unknown,
): void {
  const svc = selectedService(store.getState());
  if (!svc) {
    store.dispatch({ type: 'ui/notice', text: `${what}: no service selected`, at: now(), error: true });
    return;
  }
  store.dispatch({ type: 'ui/notice', text: `${what} requested: ${svc.name}`, at: now() });
  const fail = (err: unknown) =>
    store.dispatch({
      type: 'ui/notice',
      text: `${what} ${svc.name} failed: ${err instanceof Error ? err.message : String(err)}`,
      at: now(),
      error: true,
    });
  try {
    Promise.resolve(fn(svc.name)).catch(fail);
  } catch (err) {
    fail(err);
  }
}

function defaultOnError(err: unknown): void {
  process.stderr.write(
    `devenv: the dashboard failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
}

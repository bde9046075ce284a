/**
 * Typed progress events: the one vocabulary in which every part of devenv reports what it
 * does. The `up` engine, data services, builds, rollouts and the reload loop emit them;
 * the plain printer (non-TTY, --no-tui), the dashboard's state store and `status --json`
 * consume them. Producers never print directly.
 */

/** Phases of a step: one `start`, then exactly one of `done` | `skip` | `fail`. */
export type StepPhase = 'start' | 'progress' | 'done' | 'skip' | 'fail';

export interface StepEvent {
  type: 'step';
  /** Stable id, e.g. "cluster", "database", "objectStore", "build:api", "load:api", "apply", "rollout:api". */
  id: string;
  phase: StepPhase;
  /** One human line: what happens or happened (never a secret). */
  detail?: string;
  /** Wall time of the step, on done/skip/fail. */
  ms?: number;
  /** On fail: the reason, and supporting lines (compiler output, last log lines, ...). */
  error?: string;
  lines?: string[];
  /**
   * On fail, when the failure is a nested step's: that step's id. Its own fail event
   * carried the error's lines; this one carries none, so a consumer shows them once.
   */
  cause?: string;
  /**
   * Epoch ms when it happened. Producers leave it out (they never read a wall clock for
   * it); a consumer that shows how long a step runs (the dashboard session) stamps it.
   */
  time?: number;
}

export interface LogEvent {
  type: 'log';
  service: string;
  pod: string;
  container: string;
  line: string;
  time: number;
}

export interface ReloadEvent {
  type: 'reload';
  service: string;
  result: 'ok' | 'failed' | 'unchanged';
  /** Split of the save → Ready time. */
  timings: { buildMs?: number; loadMs?: number; rolloutMs?: number; syncMs?: number; totalMs: number };
  error?: string;
  tag?: string;
  time: number;
}

export type ProgressEvent = StepEvent | LogEvent | ReloadEvent;

export type EventSink = (e: ProgressEvent) => void;

/** The id of the step whose fail event reported an error (the innermost step it crossed). */
const failedIn = new WeakMap<object, string>();

/**
 * Times an async step and reports start / done / fail through the sink. An error is
 * reported with its lines by the innermost step it fails; each enclosing step still emits
 * its `fail`, naming that step as `cause`, without the lines.
 */
export async function step<T>(
  sink: EventSink,
  id: string,
  detail: string,
  fn: () => Promise<T | { skipped: true; detail?: string; value: T }>,
): Promise<T> {
  const t0 = performance.now();
  sink({ type: 'step', id, phase: 'start', detail });
  try {
    const r = await fn();
    const ms = Math.round(performance.now() - t0);
    if (r && typeof r === 'object' && 'skipped' in r && (r as { skipped: unknown }).skipped === true) {
      const s = r as { skipped: true; detail?: string; value: T };
      sink({ type: 'step', id, phase: 'skip', detail: s.detail ?? detail, ms });
      return s.value;
    }
    sink({ type: 'step', id, phase: 'done', detail, ms });
    return r as T;
  } catch (err) {
    const ms = Math.round(performance.now() - t0);
    const e = err as Error & { details?: readonly string[] };
    const error = e?.message ?? String(err);
    const inner = typeof err === 'object' && err !== null ? failedIn.get(err) : undefined;
    if (inner !== undefined) {
      sink({ type: 'step', id, phase: 'fail', detail, ms, error, cause: inner });
    } else {
      if (typeof err === 'object' && err !== null) failedIn.set(err, id);
      sink({ type: 'step', id, phase: 'fail', detail, ms, error, lines: [...(e?.details ?? [])] });
    }
    throw err;
  }
}

/** Marks a step result as "nothing to do" (reconciled: desired == actual). */
export function skipped<T>(value: T, detail?: string): { skipped: true; detail?: string; value: T } {
  return detail === undefined ? { skipped: true, value } : { skipped: true, detail, value };
}

/**
 * The one polling helper of the tests: asks `probe` again and again until its answer is
 * accepted, and on timeout throws an Error that names what was awaited and the last answer
 * (or the probe's last error), so a failure says what the test saw.
 */

export interface UntilOptions<T> {
  /** How long to keep asking; the probe runs at least once and once more after this. */
  timeoutMs: number;
  /** The pause between two tries (default 500 ms). */
  intervalMs?: number;
  /** When an answer is the one awaited (default: any answer but `undefined`). */
  accept?: (value: T) => boolean;
  /** A probe that throws counts as a miss and its error is named on timeout (default: the error ends the wait). */
  retryOnError?: boolean;
  /** Asked after each miss: a reason to stop waiting now (e.g. the process exited). */
  stopIf?: () => string | undefined;
  /** More context for the timeout error (e.g. what a process printed). */
  detail?: () => string;
}

/** The error of a wait that ran out of time (or was stopped by `stopIf`). */
export class UntilTimeout extends Error {
  readonly last: unknown;
  constructor(message: string, last: unknown) {
    super(message);
    this.name = 'UntilTimeout';
    this.last = last;
  }
}

/** Prints the last answer: a string as it is (a screen, a log), anything else as JSON (cut). */
function show(v: unknown): string {
  if (typeof v === 'string') return v.includes('\n') ? `\n${v}` : JSON.stringify(v);
  if (v instanceof Error) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 600 ? `${s.slice(0, 600)}…` : s;
  } catch {
    return String(v);
  }
}

/**
 * Polls `probe` until `accept` holds for its answer (by default: an answer that is not
 * undefined) and returns that answer; throws an UntilTimeout naming `what` and the last
 * answer or error when `timeoutMs` pass.
 */
export async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: UntilOptions<T>,
): Promise<Exclude<T, undefined>> {
  const { timeoutMs, intervalMs = 500, accept = (v: T) => v !== undefined, retryOnError = false } = options;
  const t0 = Date.now();
  let tries = 0;
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (;;) {
    tries++;
    try {
      const value = await probe();
      if (accept(value)) return value as Exclude<T, undefined>;
      last = { value };
    } catch (err) {
      if (!retryOnError) throw err;
      lastError = err;
    }
    const stopped = options.stopIf?.();
    const ms = Date.now() - t0;
    if (stopped !== undefined || ms > timeoutMs) {
      const why =
        stopped !== undefined ? `stopped (${stopped}) after ${ms} ms` : `timed out after ${timeoutMs} ms`;
      const parts = [`${why} waiting for ${what} (${tries} tries)`];
      if (last && last.value !== undefined) parts.push(`the last answer was: ${show(last.value)}`);
      if (lastError !== undefined) parts.push(`the last error was: ${show(lastError)}`);
      const more = options.detail?.();
      if (more) parts.push(more);
      throw new UntilTimeout(parts.join('; '), last ? last.value : lastError);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

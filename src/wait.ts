/**
 * Readiness as wait strategies: the ONE poll-until-ready loop of devenv.
 *
 * A `WaitStrategy` says what is awaited (`describe`, e.g. `the database container "x" to
 * answer "SELECT 1"`) and has one `probe` that answers "ready" (with a value, when the
 * caller wants one) or "not yet" with a reason (the line a timeout reports). A probe that
 * THROWS ends the wait with its error: that is for answers that will not change by
 * waiting (wrong credentials, a crashed container, a failed rollout).
 *
 * `waitUntil` probes at once, then every `intervalMs` until ready; after `timeoutMs` it
 * throws a DevenvError "timed out after N s waiting for <describe>." whose detail lines
 * are the last reason and what `diagnose` adds. An aborted `signal` ends the wait with
 * the signal's reason. Data services (database, object store) and Kubernetes waits use it.
 *
 * Ground floor: imports nothing from src/ but errors.ts.
 */
import { DevenvError } from './errors.ts';

export type ProbeResult<T = void> = { ready: true; value: T } | { ready: false; reason: string };

export interface WaitStrategy<T = void> {
  /** What is awaited, completing "waiting for …" (no final period). */
  readonly describe: string;
  /**
   * One check. Resolves ready or not-yet (`reason`: a line for the user, '' for none);
   * throws to stop waiting. The signal aborts when the wait is given up.
   */
  probe(signal: AbortSignal): Promise<ProbeResult<T>>;
  /** Extra detail lines for the timeout error (e.g. the last lines of a log). */
  diagnose?(): Promise<string[]>;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes (default 500 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** A ready answer (`ready()` for strategies without a value). */
export function ready(): ProbeResult<void>;
export function ready<T>(value: T): ProbeResult<T>;
export function ready<T>(value?: T): ProbeResult<T | undefined> {
  return { ready: true, value };
}

/** A not-yet answer; `reason` is what a timeout reports if nothing better comes. */
export function notYet(reason: string): { ready: false; reason: string } {
  return { ready: false, reason };
}

/** Polls `strategy` until it is ready (returns its value), throws, times out or is aborted. */
export async function waitUntil<T>(strategy: WaitStrategy<T>, opts: WaitOptions): Promise<T> {
  const interval = opts.intervalMs ?? 500;
  const deadline = Date.now() + opts.timeoutMs;
  const inner = new AbortController();
  const abort = () => inner.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const r = await strategy.probe(inner.signal);
      if (r.ready) return r.value;
      if (Date.now() > deadline) {
        throw new DevenvError(
          `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${strategy.describe}.`,
          { details: [...(r.reason ? [r.reason] : []), ...((await strategy.diagnose?.()) ?? [])] },
        );
      }
      await sleep(interval, inner.signal);
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    inner.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A trailing-edge throttle for redraws: however many times `schedule()` is called, `fn` runs
 * at most once per `intervalMs`, always asynchronously (never inside a dispatch), and always
 * after the last call (so the final state is drawn). Shared by the dashboard and the headless
 * benchmark, so the benchmark measures the real rendering cadence.
 */
export interface Throttle {
  /** Ask for a run; O(1) when one is already pending. */
  schedule(): void;
  /** Run now (cancelling a pending run), e.g. on resize or a key press. */
  flush(): void;
  cancel(): void;
  /** Runs so far. */
  readonly runs: number;
}

export function throttle(
  fn: () => void,
  intervalMs: number,
  now: () => number = () => performance.now(),
): Throttle {
  let timer: NodeJS.Timeout | undefined;
  let last = Number.NEGATIVE_INFINITY;
  let runs = 0;
  const run = () => {
    timer = undefined;
    last = now();
    runs++;
    fn();
  };
  return {
    schedule() {
      if (timer !== undefined) return;
      timer = setTimeout(run, Math.max(0, last + intervalMs - now()));
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      run();
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    get runs() {
      return runs;
    },
  };
}

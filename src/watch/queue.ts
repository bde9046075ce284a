/**
 * One service's reload queue: at most one run at a time, and at most ONE queued follow-up.
 * Work pushed while a run is in flight is merged into the single pending item, so twenty
 * saves during a slow build give exactly one more build afterwards, never twenty.
 * No I/O: the run and merge functions are injected.
 */
export class ReloadQueue<T> {
  readonly #run: (item: T) => Promise<void>;
  readonly #merge: (queued: T, next: T) => T;
  #running: Promise<void> | undefined;
  #pending: T | undefined;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  /** `run` must not throw (report failures itself); a throw is swallowed so the queue keeps going. */
  constructor(run: (item: T) => Promise<void>, merge: (queued: T, next: T) => T) {
    this.#run = run;
    this.#merge = merge;
  }

  push(item: T): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#pending = this.#pending === undefined ? item : this.#merge(this.#pending, item);
      return;
    }
    this.#start(item);
  }

  #start(item: T): void {
    this.#running = (async () => {
      try {
        await this.#run(item);
      } catch {
        // contract: run reports its own failures; the queue must survive them
      }
    })().then(() => {
      this.#running = undefined;
      const next = this.#pending;
      this.#pending = undefined;
      if (next !== undefined && !this.#closed) this.#start(next);
      else this.#notifyIdle();
    });
  }

  #notifyIdle(): void {
    const ws = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of ws) w();
  }

  /** True while a run is in flight. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** True when a follow-up is queued. */
  get hasPending(): boolean {
    return this.#pending !== undefined;
  }

  /** Resolves when no run is in flight and none is queued. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((res) => this.#idleWaiters.push(res));
  }

  /** Drops the queued follow-up and accepts no more work; waits for the run in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    await this.idle();
  }
}

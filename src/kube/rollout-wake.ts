/**
 * The rollout wait's trigger (rollout.ts): watch streams on the workload and on its pods
 * that only say "something changed". What changed is read afresh by the wait, so no event
 * needs parsing and none can be misread. A watch that cannot be opened (RBAC without
 * `watch`, a proxy that drops long requests) or that ends turns `watching` off: the wait
 * then polls as it did without watches.
 */
import type { KubeClient } from './client.ts';

/**
 * Wakes a rollout wait when something it watches changes. `arm()` before reading; a change
 * seen since then makes `next()` return at once, otherwise `next()` waits for the next
 * change or the given time, whichever comes first. Watch streams are only triggers: what
 * changed is read afresh by the caller, so no event needs parsing and none can be misread.
 */
export class ChangeWake {
  readonly #client: KubeClient;
  readonly #handles: Array<{ stop(): void }> = [];
  #open = 0;
  #failed = false;
  #stopped = false;
  #changed = false;
  #wakeUp: (() => void) | undefined;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** True while every watch asked for is open (then polling is only a safety net). */
  get watching(): boolean {
    return this.#open > 0 && !this.#failed;
  }

  /** Opens a watch on a collection; any event wakes the wait. A watch that fails or ends
   * turns `watching` off for good (the wait polls again), and wakes the wait once. */
  async watch(path: string, query: Record<string, string>): Promise<void> {
    if (this.#stopped || this.#failed) return;
    try {
      const h = await this.#client.stream(path, { query: { ...query, watch: 'true' } }, () => this.#change());
      if (this.#stopped) {
        h.stop();
        return;
      }
      this.#handles.push(h);
      this.#open++;
      void h.done.then(() => {
        if (this.#stopped) return;
        this.#failed = true;
        this.#change();
      });
    } catch {
      this.#failed = true; // e.g. 403: no `watch` verb; polling does the job
    }
  }

  arm(): void {
    this.#changed = false;
  }

  next(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#changed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#wakeUp = done;
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const h of this.#handles) h.stop();
    this.#wakeUp?.();
  }

  #change(): void {
    this.#changed = true;
    this.#wakeUp?.();
  }
}

/**
 * A fixed-capacity ring buffer: the dashboard's log window.
 *
 * Contract: `push` is O(1) and never moves existing items (no array shifting), so a burst of
 * thousands of log lines per second costs the same per line whatever the fill level. When
 * full, a push overwrites the oldest item. Items are addressed by a monotonically increasing
 * sequence number (0 for the first item ever pushed): the window always holds exactly the
 * items with sequence numbers in [total - size, total), so a reader can tell what it missed.
 */
export class RingBuffer<T> {
  readonly capacity: number;
  private readonly items: Array<T | undefined>;
  /** Items ever pushed; the next item's sequence number. */
  private pushed = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.items = new Array<T | undefined>(capacity);
  }

  /** Appends an item (overwriting the oldest when full); returns its sequence number. */
  push(item: T): number {
    const seq = this.pushed;
    this.items[seq % this.capacity] = item;
    this.pushed = seq + 1;
    return seq;
  }

  /** Items ever pushed (= sequence number of the next push). */
  get total(): number {
    return this.pushed;
  }

  /** Items currently held: min(total, capacity). */
  get size(): number {
    return Math.min(this.pushed, this.capacity);
  }

  /** Sequence number of the oldest item still held (== total when empty). */
  get first(): number {
    return this.pushed - this.size;
  }

  /** Items overwritten so far (pushed out of the window, by design). */
  get evicted(): number {
    return this.pushed - this.size;
  }

  /** The item with this sequence number, or undefined if it left the window or never existed. */
  at(seq: number): T | undefined {
    if (!Number.isInteger(seq) || seq < this.first || seq >= this.pushed) return undefined;
    return this.items[seq % this.capacity];
  }

  /** Oldest to newest copy of the window (O(size): for tests and snapshots, not hot paths). */
  toArray(): T[] {
    const out: T[] = [];
    for (let s = this.first; s < this.pushed; s++) out.push(this.items[s % this.capacity] as T);
    return out;
  }
}

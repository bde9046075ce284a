import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../src/store/ring.ts';

describe('RingBuffer', () => {
  it('holds up to capacity items, oldest first', () => {
    const r = new RingBuffer<number>(3);
    expect(r.size).toBe(0);
    expect(r.toArray()).toEqual([]);
    for (let i = 0; i < 2; i++) r.push(i);
    expect(r.toArray()).toEqual([0, 1]);
    expect(r.first).toBe(0);
    for (let i = 2; i < 7; i++) r.push(i);
    expect(r.size).toBe(3);
    expect(r.total).toBe(7);
    expect(r.first).toBe(4);
    expect(r.evicted).toBe(4);
    expect(r.toArray()).toEqual([4, 5, 6]);
  });

  it('addresses items by sequence number; evicted and future ones are undefined', () => {
    const r = new RingBuffer<string>(4);
    for (let i = 0; i < 10; i++) expect(r.push(`v${i}`)).toBe(i);
    expect(r.at(5)).toBeUndefined();
    expect(r.at(6)).toBe('v6');
    expect(r.at(9)).toBe('v9');
    expect(r.at(10)).toBeUndefined();
    expect(r.at(-1)).toBeUndefined();
    expect(r.at(7.5)).toBeUndefined();
  });

  it('never loses an item inside the window, across many wrap-arounds', () => {
    const cap = 5000;
    const r = new RingBuffer<number>(cap);
    const n = 123_457;
    for (let i = 0; i < n; i++) r.push(i);
    let missing = 0;
    for (let s = n - cap; s < n; s++) if (r.at(s) !== s) missing++;
    expect(missing).toBe(0);
    expect(r.size).toBe(cap);
  });

  it('capacity 1 works; invalid capacities are refused', () => {
    const r = new RingBuffer<number>(1);
    r.push(1);
    r.push(2);
    expect(r.toArray()).toEqual([2]);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new RingBuffer(bad)).toThrow(RangeError);
  });
});

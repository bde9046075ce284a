// src/wait.ts: the one poll-until-ready loop (data services, Kubernetes waits).
import { describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { notYet, ready, type WaitStrategy, waitUntil } from '../../src/wait.ts';

/** A strategy that is not ready for `n` probes, then ready with `value`. */
function readyAfter<T>(n: number, value: T): WaitStrategy<T> & { probes: number } {
  const s = {
    describe: 'the thing to answer',
    probes: 0,
    async probe() {
      s.probes++;
      return s.probes > n ? ready(value) : notYet(`attempt ${s.probes}: not yet`);
    },
  };
  return s;
}

describe('waitUntil', () => {
  it('probes until ready and returns the value', async () => {
    const s = readyAfter(2, 'v');
    await expect(waitUntil(s, { timeoutMs: 5000, intervalMs: 1 })).resolves.toBe('v');
    expect(s.probes).toBe(3);
  });

  it('times out naming what was awaited and the last reason', async () => {
    const s: WaitStrategy = { ...readyAfter(1e9, undefined), diagnose: async () => ['log: x'] };
    const err = (await waitUntil(s, { timeoutMs: 30, intervalMs: 5 }).catch((e) => e)) as DevenvError;
    expect(err).toBeInstanceOf(DevenvError);
    expect(err.message).toBe('timed out after 0 s waiting for the thing to answer.');
    expect(err.details[0]).toMatch(/^attempt \d+: not yet$/);
    expect(err.details[1]).toBe('log: x');
  });

  it('stops at once when a probe throws', async () => {
    let probes = 0;
    const s: WaitStrategy = {
      describe: 'x',
      async probe() {
        probes++;
        throw new DevenvError('refused');
      },
    };
    await expect(waitUntil(s, { timeoutMs: 5000 })).rejects.toThrow('refused');
    expect(probes).toBe(1);
  });

  it('ends when the signal aborts, during the pause', async () => {
    const ac = new AbortController();
    const s = readyAfter(1e9, undefined);
    const t0 = Date.now();
    setTimeout(() => ac.abort(new Error('cancelled')), 20);
    await expect(waitUntil(s, { timeoutMs: 60_000, intervalMs: 10_000, signal: ac.signal })).rejects.toThrow(
      'cancelled',
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

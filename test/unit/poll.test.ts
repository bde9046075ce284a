// The tests' one polling helper (test/support/poll.ts): what it returns, and what its
// timeout error says (the tests' failures are read through it).
import { describe, expect, it } from 'vitest';
import { UntilTimeout, until } from '../support/poll.ts';

describe('until', () => {
  it('returns the first accepted answer (by default: the first that is not undefined)', async () => {
    let n = 0;
    const v = await until('the third try', () => (++n === 3 ? `answer ${n}` : undefined), {
      timeoutMs: 5000,
      intervalMs: 1,
    });
    expect(v).toBe('answer 3');
    let m = 0;
    const screen = await until('a screen with "ready"', () => (++m >= 2 ? 'ready' : 'loading'), {
      timeoutMs: 5000,
      intervalMs: 1,
      accept: (s) => s.includes('ready'),
    });
    expect(screen).toBe('ready');
  });

  it('on timeout: an UntilTimeout naming what it waited for, the tries and the last answer', async () => {
    const err = await until('the green light', () => 'red', {
      timeoutMs: 30,
      intervalMs: 5,
      accept: (s) => s === 'green',
      detail: () => 'the log said: waiting',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UntilTimeout);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^timed out after 30 ms waiting for the green light \(\d+ tries\)/);
    expect(msg).toContain('the last answer was: "red"');
    expect(msg).toContain('the log said: waiting');
    expect((err as UntilTimeout).last).toBe('red');
  });

  it('a probe that throws ends the wait, unless retryOnError: then its last error is named', async () => {
    const boom = () => {
      throw new Error('ECONNREFUSED');
    };
    await expect(until('a server', boom, { timeoutMs: 1000, intervalMs: 1 })).rejects.toThrow(
      /^ECONNREFUSED$/,
    );
    await expect(
      until('a server', boom, { timeoutMs: 20, intervalMs: 1, retryOnError: true }),
    ).rejects.toThrow(/waiting for a server .*the last error was: Error: ECONNREFUSED/);
  });

  it('stopIf ends the wait early with its reason', async () => {
    const t0 = Date.now();
    await expect(
      until('the dashboard', () => 'screen', {
        timeoutMs: 60_000,
        intervalMs: 1,
        accept: () => false,
        stopIf: () => 'exit=2',
      }),
    ).rejects.toThrow(/^stopped \(exit=2\) after \d+ ms waiting for the dashboard/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

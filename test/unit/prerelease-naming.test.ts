// Prerelease namespace naming, prefix fence, expiry and the quiet window: pure functions
// with a fixed clock.
import { describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import {
  expiresAt,
  expiryState,
  humanSpan,
  parseDuration,
  parseTimestamp,
  timestamp,
} from '../../src/prerelease/expiry.ts';
import {
  assertInPrefix,
  assertSafePrefix,
  dateStamp,
  defaultName,
  inPrefix,
  namespaceFor,
  prefixProblem,
} from '../../src/prerelease/naming.ts';
import { assertInWindow, inWindow, localMinutes, parseWindow } from '../../src/prerelease/window.ts';

const badInput = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).exitCode).toBe(2);
    return (err as DevenvError).message;
  }
  throw new Error('expected bad input');
};

describe('namespace naming', () => {
  it('defaults the name to nightly-YYYYMMDD of the UTC date, or of a given zone', () => {
    const t = new Date('2026-03-01T23:30:00Z');
    expect(defaultName(t)).toBe('nightly-20260301');
    // 00:30 next day in Warsaw (CET, UTC+1).
    expect(defaultName(t, 'Europe/Warsaw')).toBe('nightly-20260302');
    expect(dateStamp(new Date('2026-12-31T12:00:00Z'))).toBe('20261231');
  });

  it('names the namespace <prefix>-<name> and checks it', () => {
    expect(namespaceFor('prerelease', 'nightly-20260301')).toBe('prerelease-nightly-20260301');
    expect(badInput(() => namespaceFor('prerelease', 'Nightly_1'))).toMatch(/not valid/);
    expect(badInput(() => namespaceFor('prerelease', 'x'.repeat(60)))).toMatch(/at most 63/);
    expect(namespaceFor('pr', 'a'.repeat(60))).toHaveLength(63);
  });

  it('refuses prefixes that would reach namespaces devenv does not own', () => {
    for (const p of ['', '  ', 'default', 'kube', 'kube-system', 'kube-public', 'Pre_release']) {
      expect(prefixProblem(p)).toBeDefined();
      expect(badInput(() => assertSafePrefix(p))).toMatch(/refusing to manage prerelease namespaces/);
    }
    expect(prefixProblem(undefined)).toBe('no namespace prefix is configured');
    expect(assertSafePrefix('prerelease')).toBe('prerelease');
    expect(badInput(() => namespaceFor('kube', 'x'))).toMatch(/kube-\*/);
  });

  it('knows what lies inside the prefix', () => {
    expect(inPrefix('prerelease-nightly-1', 'prerelease')).toBe(true);
    expect(inPrefix('prerelease', 'prerelease')).toBe(false);
    expect(inPrefix('prerelease-', 'prerelease')).toBe(false);
    expect(inPrefix('prereleasex-1', 'prerelease')).toBe(false);
    expect(inPrefix('kube-system', 'kube')).toBe(false); // unsafe prefix: nothing is inside
    expect(badInput(() => assertInPrefix('default', 'prerelease'))).toMatch(/only manages namespaces named/);
  });
});

describe('expiry', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('12h')).toBe(12 * 3600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(badInput(() => parseDuration('12 hours'))).toMatch(/not a duration/);
    expect(badInput(() => parseDuration(''))).toMatch(/not a duration/);
    expect(badInput(() => parseDuration('0h'))).toMatch(/longer than zero/);
  });

  it('computes expires-at from created-at and the ttl, as RFC 3339 UTC', () => {
    const created = new Date('2026-03-01T22:05:07.123Z');
    expect(timestamp(expiresAt(created, '12h'))).toBe('2026-03-02T10:05:07Z');
    expect(parseTimestamp('2026-03-02T10:05:07Z')?.getTime()).toBe(Date.parse('2026-03-02T10:05:07Z'));
    expect(parseTimestamp('2026-03-02T11:05:07+01:00')?.getTime()).toBe(Date.parse('2026-03-02T10:05:07Z'));
    expect(parseTimestamp('tomorrow')).toBeUndefined();
    expect(parseTimestamp('2026-13-45T99:00:00Z')).toBeUndefined();
  });

  it('says expired / alive / unknown against a fixed clock', () => {
    const now = new Date('2026-03-02T12:00:00Z');
    expect(expiryState('2026-03-02T10:00:00Z', now)).toMatchObject({
      state: 'expired',
      overdueMs: 2 * 3600_000,
    });
    expect(expiryState('2026-03-02T12:00:00Z', now).state).toBe('expired');
    expect(expiryState('2026-03-02T12:30:00Z', now)).toMatchObject({
      state: 'alive',
      remainingMs: 30 * 60_000,
    });
    expect(expiryState(undefined, now).state).toBe('unknown');
    expect(expiryState('soon', now).state).toBe('unknown');
    expect(humanSpan(3 * 3600_000 + 20 * 60_000)).toBe('3h 20m');
    expect(humanSpan(45_000)).toBe('45s');
  });
});

describe('quiet window', () => {
  const warsaw = parseWindow('22:00-06:00 Europe/Warsaw');

  it('parses start, end and zone; UTC without a zone', () => {
    expect(warsaw).toMatchObject({ start: 22 * 60, end: 6 * 60, timeZone: 'Europe/Warsaw' });
    expect(parseWindow('01:00-05:30')).toMatchObject({ start: 60, end: 330, timeZone: 'UTC' });
    expect(badInput(() => parseWindow('22:00-06:00 Mars/Olympus'))).toMatch(/unknown time zone/);
    expect(badInput(() => parseWindow('25:00-06:00'))).toMatch(/not a time of day/);
    expect(badInput(() => parseWindow('10pm-6am'))).toMatch(/must look like/);
  });

  it('reads the local time in the zone, daylight saving included', () => {
    expect(localMinutes(new Date('2026-01-15T21:30:00Z'), 'Europe/Warsaw')).toBe(22 * 60 + 30); // CET
    expect(localMinutes(new Date('2026-07-15T21:30:00Z'), 'Europe/Warsaw')).toBe(23 * 60 + 30); // CEST
    expect(localMinutes(new Date('2026-07-15T23:59:00Z'), 'UTC')).toBe(23 * 60 + 59);
  });

  it('handles a window that crosses midnight', () => {
    const at = (iso: string) => inWindow(warsaw, new Date(iso));
    expect(at('2026-01-15T20:59:00Z')).toBe(false); // 21:59 Warsaw
    expect(at('2026-01-15T21:00:00Z')).toBe(true); // 22:00: start is inside
    expect(at('2026-01-15T23:30:00Z')).toBe(true); // 00:30 next day
    expect(at('2026-01-16T04:59:00Z')).toBe(true); // 05:59
    expect(at('2026-01-16T05:00:00Z')).toBe(false); // 06:00: end is outside
    expect(at('2026-01-16T11:00:00Z')).toBe(false); // noon
    // Summer (CEST, UTC+2): 21:30 UTC is 23:30 in Warsaw, inside; 04:30 UTC is 06:30, outside.
    expect(at('2026-07-15T21:30:00Z')).toBe(true);
    expect(at('2026-07-16T04:30:00Z')).toBe(false);
  });

  it('handles a same-day window and a whole-day window', () => {
    const day = parseWindow('09:00-17:00 America/New_York');
    expect(inWindow(day, new Date('2026-01-15T14:00:00Z'))).toBe(true); // 09:00 EST
    expect(inWindow(day, new Date('2026-01-15T22:00:00Z'))).toBe(false); // 17:00 EST
    expect(inWindow(parseWindow('00:00-00:00'), new Date('2026-01-15T13:37:00Z'))).toBe(true);
  });

  it('refuses up outside the window unless forced; no window means always', () => {
    const noon = new Date('2026-01-15T11:00:00Z');
    const msg = badInput(() => assertInWindow('22:00-06:00 Europe/Warsaw', noon, false));
    expect(msg).toBe(
      'refusing to deploy outside the quiet window 22:00-06:00 Europe/Warsaw: it is 12:00 there now.',
    );
    expect(() => assertInWindow('22:00-06:00 Europe/Warsaw', noon, true)).not.toThrow();
    expect(() =>
      assertInWindow('22:00-06:00 Europe/Warsaw', new Date('2026-01-15T23:00:00Z'), false),
    ).not.toThrow();
    expect(() => assertInWindow(undefined, noon, false)).not.toThrow();
  });
});

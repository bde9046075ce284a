// Pure helpers of the log follower and of `devenv logs`: timestamp normalisation (the
// resume point of a reconnected stream must compare as time order) and --since parsing.
import { describe, expect, it } from 'vitest';
import { durationSeconds } from '../../src/cli/commands/logs.ts';
import { normTs } from '../../src/kube/logstream.ts';

describe('normTs', () => {
  it('pads the fraction so string order is time order (the kubelet trims trailing zeros)', () => {
    const a = normTs('2026-11-23T14:09:33.1234Z')!;
    const b = normTs('2026-11-23T14:09:33.12345Z')!;
    expect(a).toBe('2026-11-23T14:09:33.123400000');
    expect(b > a).toBe(true);
    expect(normTs('2026-11-23T14:09:33Z')).toBe('2026-11-23T14:09:33.000000000');
    expect(normTs('2026-11-23T14:09:34Z')! > normTs('2026-11-23T14:09:33.999999999Z')!).toBe(true);
  });

  it('rejects what is not a timestamp (a line without one is delivered as is)', () => {
    expect(normTs('hello')).toBeUndefined();
    expect(normTs('2026-11-23 14:09:33Z')).toBeUndefined();
  });
});

describe('durationSeconds', () => {
  it('reads Go-style durations', () => {
    expect(durationSeconds('10m')).toBe(600);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('45s')).toBe(45);
    expect(durationSeconds('2h')).toBe(7200);
  });
  it('rejects anything else, and zero', () => {
    expect(durationSeconds('')).toBeUndefined();
    expect(durationSeconds('0s')).toBeUndefined();
    expect(durationSeconds('10')).toBeUndefined();
    expect(durationSeconds('yesterday')).toBeUndefined();
    expect(durationSeconds('5m1h')).toBeUndefined();
  });
});

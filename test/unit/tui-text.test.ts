import { describe, expect, it } from 'vitest';
import { age, isoSeconds, plainMs, shortMs } from '../../src/tui/format.ts';
import { redact } from '../../src/tui/redact.ts';
import {
  escapeTags,
  fitWidth,
  paint,
  sanitize,
  stripTags,
  strWidth,
  truncate,
  wrap,
} from '../../src/tui/text.ts';

describe('text helpers', () => {
  it('sanitises escape codes and control characters', () => {
    expect(sanitize('\u001b[1;32mOK\u001b[0m\tdone\r\n\u0007x')).toBe('OK    done x');
    expect(sanitize('\u001b]0;title\u0007plain')).toBe('plain');
  });

  it('measures terminal columns', () => {
    expect(strWidth('abc')).toBe(3);
    expect(strWidth('日本')).toBe(4);
    expect(strWidth('e\u0301')).toBe(1);
    expect(strWidth('🙂')).toBe(2);
    expect(strWidth('✓ │ ─')).toBe(5);
  });

  it('truncates and pads by columns', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('abc', 0)).toBe('');
    expect(truncate('日本語', 5)).toBe('日本…');
    expect(fitWidth('ab', 4)).toBe('ab  ');
    expect(fitWidth('ab', 4, 'right')).toBe('  ab');
    expect(fitWidth('abcdef', -1)).toBe('');
  });

  it('wraps at spaces when sensible, inside words otherwise, and never loses characters', () => {
    expect(wrap('hello world again', 11)).toEqual(['hello world', 'again']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrap('日本語テキスト', 5)).toEqual(['日本', '語テ', 'キス', 'ト']);
    expect(wrap('日', 1)).toEqual(['日']);
    expect(wrap('', 10)).toEqual(['']);
    expect(wrap('abc', 0)).toEqual(['']);
    const s = 'x'.repeat(1000);
    expect(wrap(s, 7).join('')).toBe(s);
    for (const row of wrap('The quick brown fox jumps over the lazy dog '.repeat(20), 13)) {
      expect(strWidth(row)).toBeLessThanOrEqual(13);
    }
  });

  it('paints with blessed tags only when colour is on, escaping braces', () => {
    expect(paint('{x}', 'red-fg', false)).toBe('{x}');
    expect(paint('{x}', 'red-fg bold', true)).toBe('{red-fg}{bold}{open}x{close}{/bold}{/red-fg}');
    expect(stripTags(paint('{x} y', 'red-fg', true))).toBe('{x} y');
    expect(escapeTags('a{b}')).toBe('a{open}b{close}');
  });
});

describe('formatters', () => {
  it('formats ages like kubectl and durations', () => {
    expect([age(5_000), age(125_000), age(7_200_000), age(3 * 86_400_000), age(-1)]).toEqual([
      '5s',
      '2m',
      '2h',
      '3d',
      '0s',
    ]);
    expect([shortMs(850), shortMs(1234), shortMs(12_345), shortMs(190_000)]).toEqual([
      '850ms',
      '1.2s',
      '12s',
      '3m10s',
    ]);
    expect([plainMs(45), plainMs(1200)]).toEqual(['45 ms', '1.2 s']);
    expect(isoSeconds(Date.UTC(2026, 10, 23, 13, 44, 11, 999))).toBe('2026-11-23T13:44:11Z');
  });
});

describe('redact', () => {
  it.each([
    ['password=hunter2 next', 'password=*** next'],
    ['DB_PASSWORD: "a b c"', 'DB_PASSWORD: "***"'],
    ['{"password":"x1","user":"u"}', '{"password":"***","user":"u"}'],
    ['postgres://app:s3cr3t@localhost:5432/db', 'postgres://app:***@localhost:5432/db'],
    ['MINIO_ROOT_PASSWORD=minio123 MINIO_ROOT_USER=admin', 'MINIO_ROOT_PASSWORD=*** MINIO_ROOT_USER=admin'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer ***'],
    ['aws_secret_access_key = AKIAxyz', 'aws_secret_access_key = ***'],
    ['-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----', '[redacted private key]'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    for (const s of ['passwords are hashed', 'author: bob', 'GET /v1/tokens 200', 'oauth=enabled'])
      expect(redact(s)).toBe(s);
  });
});

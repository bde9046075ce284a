// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose ${VAR} syntax is what these tests are about
import { describe, expect, it } from 'vitest';
import { InterpolationError, interpolate } from '../../src/compose/interpolate.ts';

const v = (s: string, vars: Record<string, string | undefined> = {}) => interpolate(s, vars).value;

describe('compose interpolation', () => {
  it('substitutes $VAR and ${VAR}', () => {
    expect(v('a-$X-${Y}-b', { X: '1', Y: '2' })).toBe('a-1-2-b');
  });

  it('applies defaults: ":-" for unset or empty, "-" for unset only', () => {
    expect(v('${P:-5432}', {})).toBe('5432');
    expect(v('${P:-5432}', { P: '' })).toBe('5432');
    expect(v('${P-5432}', { P: '' })).toBe('');
    expect(v('${P-5432}', {})).toBe('5432');
    expect(v('${P:-5432}', { P: '6543' })).toBe('6543');
  });

  it('expands nested expressions in defaults', () => {
    expect(v('${A:-${B:-x}y}', { B: 'b' })).toBe('by');
    expect(v('${A:-${B:-x}y}', {})).toBe('xy');
  });

  it('":+" / "+" give the alternative only when set', () => {
    expect(v('${A:+on}', { A: '1' })).toBe('on');
    expect(v('${A:+on}', { A: '' })).toBe('');
    expect(v('${A+on}', { A: '' })).toBe('on');
  });

  it('keeps "$$" as a literal "$" for the container shell', () => {
    expect(v('pg_isready -U "$$POSTGRES_USER"', {})).toBe('pg_isready -U "$POSTGRES_USER"');
    expect(v('$${NOT_ME:-x}', {})).toBe('${NOT_ME:-x}');
  });

  it('fails on ":?" with the message, and reports unset variables without default', () => {
    expect(() => v('${PW:?PW must be set}', {})).toThrow(/required variable PW is missing: PW must be set/);
    expect(() => v('${PW:?}', { PW: '' })).toThrow(/PW is empty/);
    expect(v('${PW?x}', { PW: '' })).toBe('');
    expect(interpolate('$A-${B}', {}).missing).toEqual(['A', 'B']);
  });

  it('rejects malformed expressions with their position', () => {
    try {
      v('ab${X', {});
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InterpolationError);
      expect((e as InterpolationError).index).toBe(2);
    }
    expect(() => v('${X!y}', {})).toThrow(/invalid interpolation format/);
    expect(() => v('cost $5', {})).toThrow(/use "\$\$"/);
  });
});

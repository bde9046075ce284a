/**
 * Compose variable interpolation, as `docker compose` does it (compose-spec
 * "Interpolation"): `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}`,
 * `${VAR:?error}` / `${VAR?error}`, `${VAR:+alt}` / `${VAR+alt}`, nested expressions in
 * the default/alt part, and `$$` for a literal `$` (left for the container's shell).
 *
 * The colon forms treat an empty value like an unset one; the plain forms only an unset
 * one. An unset variable without a default becomes "" (compose warns; so do we, through
 * `missing`). Pure: no I/O, no process.env (the caller passes the variables).
 */

export type Vars = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {
  /** Offset inside the input string where the bad expression starts. */
  readonly index: number;
  constructor(message: string, index: number) {
    super(message);
    this.name = 'InterpolationError';
    this.index = index;
  }
}

export interface InterpolationResult {
  value: string;
  /** Variables referenced without a default and not set (compose substitutes ""). */
  missing: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(input: string, vars: Vars): InterpolationResult {
  const missing: string[] = [];
  const value = expand(input, 0, input.length, vars, missing);
  return { value, missing };
}

function expand(s: string, from: number, to: number, vars: Vars, missing: string[]): string {
  let out = '';
  let i = from;
  while (i < to) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const close = matchingBrace(s, i + 1, to);
      if (close < 0) throw new InterpolationError(`unterminated "\${" in ${JSON.stringify(s)}`, i);
      out += braced(s, i, i + 2, close, vars, missing);
      i = close + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1, to));
    if (m) {
      const v = vars[m[0]];
      if (v === undefined) missing.push(m[0]);
      out += v ?? '';
      i += 1 + m[0].length;
      continue;
    }
    throw new InterpolationError(
      `invalid interpolation format in ${JSON.stringify(s)}: use "$$" for a literal "$"`,
      i,
    );
  }
  return out;
}

/** Index of the "}" closing the "{" at `open`, honouring nested "${...}". */
function matchingBrace(s: string, open: number, to: number): number {
  let depth = 0;
  for (let i = open; i < to; i++) {
    if (s[i] === '$' && s[i + 1] === '$') {
      i++;
      continue;
    }
    if (s[i] === '{') depth++;
    else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function braced(
  s: string,
  dollar: number,
  from: number,
  close: number,
  vars: Vars,
  missing: string[],
): string {
  const m = NAME.exec(s.slice(from, close));
  if (!m)
    throw new InterpolationError(
      `invalid variable name in ${JSON.stringify(s.slice(dollar, close + 1))}`,
      dollar,
    );
  const name = m[0];
  const rest = from + name.length;
  const v = vars[name];
  if (rest === close) {
    if (v === undefined) missing.push(name);
    return v ?? '';
  }
  const colon = s[rest] === ':';
  const op = s[colon ? rest + 1 : rest];
  const argFrom = (colon ? rest + 2 : rest + 1) as number;
  const unset = v === undefined || (colon && v === '');
  switch (op) {
    case '-':
      return unset ? expand(s, argFrom, close, vars, missing) : v!;
    case '+':
      return unset ? '' : expand(s, argFrom, close, vars, missing);
    case '?': {
      if (!unset) return v!;
      const msg = expand(s, argFrom, close, vars, missing);
      throw new InterpolationError(
        `required variable ${name} is ${v === undefined ? 'missing' : 'empty'}${msg ? `: ${msg}` : ''}`,
        dollar,
      );
    }
    default:
      throw new InterpolationError(
        `invalid interpolation format in ${JSON.stringify(s.slice(dollar, close + 1))}`,
        dollar,
      );
  }
}

/**
 * Log search, shared by the dashboard's log filter (`/`) and `devenv logs --grep` (pure).
 *
 * A pattern is a JavaScript regular expression, smart-case: case-insensitive unless it
 * holds an upper-case letter (as ripgrep's and vim's smartcase). A pattern that is not a
 * valid regular expression is an error: `devenv logs` exits 2 with it; the dashboard says
 * so in the log pane and filters by the text literally meanwhile (the user is still typing).
 */

export type Search = { ok: true; re: RegExp } | { ok: false; error: string; literal: RegExp };

export function compileSearch(pattern: string): Search {
  const flags = /\p{Lu}/u.test(pattern) ? 'u' : 'iu';
  try {
    return { ok: true, re: new RegExp(pattern, flags) };
  } catch (err) {
    const msg = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return {
      ok: false,
      error: `not a regular expression: ${msg}`,
      literal: new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags),
    };
  }
}

/** The regex a search filters with (its literal text when the pattern is invalid). */
export function searchRegex(s: Search): RegExp {
  return s.ok ? s.re : s.literal;
}

/** The non-empty matches of `re` in `text` as [start, end) ranges, in order. */
export function matchRanges(re: RegExp, text: string): Array<[number, number]> {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  const out: Array<[number, number]> = [];
  for (let m = g.exec(text); m !== null; m = g.exec(text)) {
    if (m[0] === '') {
      g.lastIndex++;
      if (g.lastIndex > text.length) break;
      continue;
    }
    out.push([m.index, m.index + m[0].length]);
    if (out.length >= 1000) break;
  }
  return out;
}

/** `text` cut into [segment, matched] pieces by the matches of `re`. */
export function splitMatches(re: RegExp, text: string): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  let at = 0;
  for (const [a, b] of matchRanges(re, text)) {
    if (a > at) out.push([text.slice(at, a), false]);
    out.push([text.slice(a, b), true]);
    at = b;
  }
  if (at < text.length || out.length === 0) out.push([text.slice(at), false]);
  return out;
}

/** The matches in bold red for a terminal (as grep --color), the rest untouched. */
export function highlightAnsi(re: RegExp, text: string): string {
  return splitMatches(re, text)
    .map(([s, hit]) => (hit ? `\u001b[1;31m${s}\u001b[0m` : s))
    .join('');
}

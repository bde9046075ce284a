/**
 * Terminal text helpers for the views and the plain printer: sanitising foreign text
 * (container logs carry escape codes and control characters), display widths (CJK and emoji
 * take two columns, combining marks none), truncation, padding, wrapping, and blessed tags.
 *
 * Contract: every function here is pure and total (never throws, whatever the input or the
 * width, including 0 and negative), and every width is in terminal columns, not UTF-16 units.
 */

// CSI / OSC / other ESC sequences, as emitted by coloured loggers.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape codes is the point
const ANSI_RE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Removes escape sequences and control characters; tabs become spaces, newlines spaces. */
export function sanitize(s: string): string {
  let out = s;
  if (out.includes('\u001b')) out = out.replace(ANSI_RE, '');
  if (out.includes('\t')) out = out.replace(/\t/g, '    ');
  if (out.includes('\n')) out = out.replace(/\r?\n/g, ' ');
  return out.replace(CONTROL_RE, '');
}

/** Code point ranges (inclusive) of combining marks, zero-width spaces and variation selectors. */
const ZERO_WIDTH: ReadonlyArray<readonly [number, number]> = [
  [0x300, 0x36f],
  [0x200b, 0x200f],
  [0x20d0, 0x20ff],
  [0xfe00, 0xfe0f],
  [0xe0100, 0xe01ef],
];

/** Code point ranges (inclusive) of East Asian wide characters and emoji: two columns. */
const DOUBLE_WIDTH: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

function inRanges(cp: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  return ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** Columns taken by one code point. */
export function charWidth(cp: number): number {
  if (cp === 0 || inRanges(cp, ZERO_WIDTH)) return 0;
  return inRanges(cp, DOUBLE_WIDTH) ? 2 : 1;
}

/** Display width of a (sanitised, untagged) string. */
export function strWidth(s: string): number {
  let w = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x300) {
      w += 1;
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    w += charWidth(cp);
  }
  return w;
}

/** Cuts to at most `width` columns; adds "…" when something was cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (strWidth(s) <= width) return s;
  return `${take(s, width - 1)[0]}…`;
}

/** Truncates or pads with spaces to exactly `width` columns. */
export function fitWidth(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const t = truncate(s, width);
  const pad = ' '.repeat(Math.max(0, width - strWidth(t)));
  return align === 'left' ? t + pad : pad + t;
}

/**
 * Wraps to rows of at most `width` columns. Breaks after a space when one falls in the second
 * half of the row (readable prose), otherwise inside the word (logs are often long JSON or
 * URLs without spaces). Always returns at least one row; never loses a character.
 */
export function wrap(s: string, width: number): string[] {
  if (width <= 0) return [''];
  const rows: string[] = [];
  let rest = s;
  while (strWidth(rest) > width) {
    let [head, tail] = take(rest, width);
    if (head === '') {
      // A wide character in a 1-column pane: emit it alone rather than loop forever.
      const n = rest.codePointAt(0)! > 0xffff ? 2 : 1;
      rows.push(rest.slice(0, n));
      rest = rest.slice(n);
      continue;
    }
    if (tail[0] !== ' ') {
      const space = head.lastIndexOf(' ');
      if (space >= head.length / 2) {
        tail = head.slice(space + 1) + tail;
        head = head.slice(0, space + 1);
      }
    }
    rows.push(head.trimEnd() === '' ? head : head.trimEnd());
    rest = tail[0] === ' ' && head.trimEnd() !== '' ? tail.slice(1) : tail;
  }
  if (rest !== '' || rows.length === 0) rows.push(rest);
  return rows;
}

/** Splits after at most `width` columns: [head, tail]. */
function take(s: string, width: number): [string, string] {
  let w = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const cw = charWidth(cp);
    if (w + cw > width) break;
    w += cw;
    i += cp > 0xffff ? 2 : 1;
  }
  return [s.slice(0, i), s.slice(i)];
}

/** Escapes text for a blessed box with `tags: true` (braces would start a tag). */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Removes blessed tags (the inverse of `paint`): for width checks and plain goldens. */
export function stripTags(s: string): string {
  return s.replace(/\{(\/?[a-z0-9-]*|open|close)\}/g, (m) =>
    m === '{open}' ? '{' : m === '{close}' ? '}' : '',
  );
}

export type Style = string;

/**
 * Colours text with blessed tags when `color` is on, e.g. paint('x', 'red-fg', true) ->
 * "{red-fg}x{/red-fg}"; with colour off the text is returned untouched (no tags, no escaping:
 * boxes are then created with `tags: false`). Several styles: 'bold red-fg'.
 */
export function paint(text: string, style: Style | undefined, color: boolean): string {
  if (!color) return text;
  const esc = escapeTags(text);
  if (!style || text === '') return esc;
  const names = style.split(' ').filter(Boolean);
  return `${names.map((n) => `{${n}}`).join('')}${esc}${names
    .reverse()
    .map((n) => `{/${n}}`)
    .join('')}`;
}

/**
 * Messages to a user never name an issue number ("tracked in issue #5"): a user cannot
 * act on them, and they outlive the issue. Every string literal in src/ is checked (comments
 * may cite issues; what is printed may not).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * String and template literals on one line that mention an issue by number: "issue 5",
 * "issue #5", or a bare tracker reference "#5" ("PKCS#8" and "&#8" are not references).
 */
const ISSUE_IN_LITERAL = /(['"`])(?:(?!\1).)*(\bissues?\s*#?\s*(\d+|\$\{)|(?<![\w&])#\d+\b)(?:(?!\1).)*\1/i;

describe('messages to a user', () => {
  it('name no issue number', () => {
    const hits = files(SRC).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /^\s*(\/\/|\*|\/\*)/.test(line) || !ISSUE_IN_LITERAL.test(line)
            ? []
            : [`${relative(SRC, f)}:${i + 1}: ${line.trim()}`],
        ),
    );
    expect(hits).toEqual([]);
  });

  it('the check finds one (it can fail)', () => {
    // The message devenv printed before issue 13 was fixed, as it stood in src/errors.ts.
    const $ = '$';
    const old = `    \`"devenv ${$}{command}" is not available yet in this version (tracked in issue #${$}{issue}).\`,`;
    expect(ISSUE_IN_LITERAL.test(old)).toBe(true);
    expect(ISSUE_IN_LITERAL.test("msg('see issue 13')")).toBe(true);
    expect(ISSUE_IN_LITERAL.test("msg('no issues found')")).toBe(false);
    expect(ISSUE_IN_LITERAL.test("msg('not supported yet (see #12)')")).toBe(true);
    expect(ISSUE_IN_LITERAL.test("msg('a PKCS#8 key')")).toBe(false);
    expect(ISSUE_IN_LITERAL.test(`line(\`#${$}{step} DONE\`)`)).toBe(false);
  });
});

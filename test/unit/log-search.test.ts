/**
 * Log search (src/tui/search.ts): the dashboard's `/` filter and `devenv logs --grep`.
 * Regex, smart-case, highlighted matches; an invalid regex is a clear error: exit 2 for
 * the CLI flag (run through the real CLI, which fails before it looks for a cluster), a
 * message in the dashboard's log pane.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lineWriter } from '../../src/cli/commands/logs.ts';
import { DevenvError } from '../../src/errors.ts';
import { compileSearch, highlightAnsi, matchRanges, splitMatches } from '../../src/tui/search.ts';
import { stripTags } from '../../src/tui/text.ts';
import { stateToView, viewToText } from '../../src/tui/view.ts';
import { SAMPLE_NOW, sampleStore } from '../support/dashboard-demo.ts';

const root = join(import.meta.dirname, '..', '..');

describe('compileSearch', () => {
  it('is a regex, case-insensitive unless the pattern has an upper-case letter', () => {
    const lower = compileSearch('get /v1/\\w+');
    expect(lower.ok && lower.re.test('GET /v1/posts?page=2')).toBe(true);
    const upper = compileSearch('GET');
    expect(upper.ok && upper.re.test('get /')).toBe(false);
    expect(upper.ok && upper.re.test('GET /')).toBe(true);
  });

  it('an invalid pattern: the reason, and the text matched literally', () => {
    const s = compileSearch('handler(');
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.error).toMatch(/^not a regular expression: .*(unterminated|group)/i);
    expect(s.literal.test('calling handler( now')).toBe(true);
    expect(s.literal.test('calling handler now')).toBe(false);
  });

  it('matches: every non-empty one, zero-width patterns terminate', () => {
    expect(matchRanges(/o/i, 'foo bOo')).toEqual([
      [1, 2],
      [2, 3],
      [5, 6],
      [6, 7],
    ]);
    expect(matchRanges(/x*/, 'abc')).toEqual([]);
    expect(splitMatches(/b+/, 'abbc')).toEqual([
      ['a', false],
      ['bb', true],
      ['c', false],
    ]);
    expect(splitMatches(/z/, '')).toEqual([['', false]]);
    expect(highlightAnsi(/err/i, 'an Error here')).toBe('an \u001b[1;31mErr\u001b[0mor here');
  });
});

describe('devenv logs --grep', () => {
  const sink = () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    return { stream, text: () => text };
  };

  it('prints only matching lines; highlighted with colour, untouched without', async () => {
    const plain = sink();
    const out = await lineWriter('GET /v\\d', plain.stream, false);
    out('api-1', 'api', 'GET /v1/posts 200');
    out('api-1', 'api', 'POST /v1/uploads 201');
    out('api-1', 'api', 'get /v2 lower-case');
    expect(plain.text()).toBe('[api-1/api] GET /v1/posts 200\n');
    const colour = sink();
    const out2 = await lineWriter('posts', colour.stream, true);
    out2('api-1', 'api', 'GET /v1/Posts 200');
    expect(colour.text()).toBe('[api-1/api] GET /v1/\u001b[1;31mPosts\u001b[0m 200\n');
  });

  it('without --grep every line is printed', async () => {
    const s = sink();
    const out = await lineWriter(undefined, s.stream, true);
    out('p', 'c', 'x');
    expect(s.text()).toBe('[p/c] x\n');
  });

  it('an invalid regex is bad input (exit 2) naming the flag and the reason', async () => {
    const err = await lineWriter('a[', sink().stream, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).exitCode).toBe(2);
    expect((err as DevenvError).message).toMatch(/^--grep "a\[" is not a regular expression: /);
  });

  it('the real CLI: exit 2 and the message, before looking for a cluster', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'devenv'),
        '-c',
        join(root, 'fixtures', 'pyapp', 'devenv.yaml'),
        'logs',
        'web',
        '--grep',
        '(x',
      ],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--grep "(x" is not a regular expression');
    expect(r.stdout).toBe('');
  });
});

describe('the dashboard log search', () => {
  const view = (store = sampleStore(), color = false) =>
    stateToView(store.getState(), { width: 160, height: 48, now: SAMPLE_NOW, color });

  it('filters by regex and highlights the matches (colour)', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/filter', filter: 'get /(v1|healthz)', editing: false });
    const out = viewToText(view(store));
    expect(out).toContain('GET /v1/posts?page=2 200 11ms');
    expect(out).toContain('GET /healthz 200 0.3ms');
    expect(out).not.toContain('GET / 200 3ms');
    expect(out).not.toContain('compiled client bundle');
    const logs = view(store, true)
      .panes.find((p) => p.id === 'logs')!
      .lines.join('\n');
    expect(logs).toContain('{black-fg}{yellow-bg}GET /v1{/yellow-bg}{/black-fg}/posts?page=2');
    expect(stripTags(logs)).toContain('GET /v1/posts?page=2 200 11ms');
  });

  it('a bad regex: the reason in the pane title and the prompt, the text matched literally', () => {
    const store = sampleStore();
    store.dispatch({ type: 'ui/filter', filter: 'page=2 (', editing: true });
    const out = viewToText(view(store));
    expect(out).toMatch(/filter "page=2 \("▌ \(not a regular expression: Unterminated group/);
    expect(out).toMatch(/^\/page=2 \(▌ {3}not a regular expression: /m);
    expect(out).toContain('(no lines match "page=2 (")');
    store.dispatch({ type: 'ui/filter', filter: 'page=2 ', editing: false });
    expect(viewToText(view(store))).toContain('GET /v1/posts?page=2 200 11ms');
  });
});

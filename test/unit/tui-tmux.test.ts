/**
 * The real dashboard in a real terminal: tmux runs test/support/dashboard-demo.ts (the
 * blessed dashboard over a sample store fed with log lines), the test sends keys and reads
 * the screen with `tmux capture-pane -p`.
 *
 * Without tmux the suite is skipped with the reason printed, unless CI is set: then a missing
 * tmux fails the run (install it: apt-get install -y tmux). A private tmux server (-L) is
 * used, so a developer's own tmux sessions are never touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolMissing } from '../setup/tier.ts';

const root = join(import.meta.dirname, '..', '..');
const demo = join(root, 'test', 'support', 'dashboard-demo.ts');
const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
if (!hasTmux) toolMissing('tui-tmux', 'tmux is not installed (apt-get install -y tmux)');

const WIDTH = 100;
const HEIGHT = 40;
const socket = `devenv-tui-test-${process.pid}`;
const session = 'dash';
const tmp = mkdtempSync(join(tmpdir(), 'devenv-tui-'));
const exitFile = join(tmp, 'exit');

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);
const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function waitFor(what: string, ok: (s: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    last = screen();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${last}`);
}

/** Rows of the log pane: between its title rule and the events title rule (narrow layout). */
function logRows(s: string): string[] {
  const rows = s.split('\n');
  const from = rows.findIndex((r) => r.startsWith('─ LOGS'));
  const to = rows.findIndex((r) => r.startsWith('─ EVENTS'));
  return rows.slice(from + 1, to).filter((r) => r.trim() !== '');
}

describe.skipIf(!hasTmux)('dashboard in a real terminal (tmux)', () => {
  beforeAll(() => {
    if (!hasTmux) throw new Error('tmux is missing and CI is set: install tmux (apt-get install -y tmux)');
    const cmd = [
      `cd ${sq(root)}`,
      `LANG=C.UTF-8 ${sq(process.execPath)} ${sq(demo)} --rate 20`,
      `echo "exit=$?" > ${sq(exitFile)}`,
      'sleep 120',
    ].join('; ');
    tmux(
      '-f',
      '/dev/null',
      '-u',
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      String(WIDTH),
      '-y',
      String(HEIGHT),
      cmd,
    );
  });

  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('draws the header, every service row and the interleaved logs', async () => {
    const s = await waitFor('the services table', (x) => x.includes('> admin') && x.includes('demo '));
    expect(s).toContain('devenv · social   cluster k3d-social');
    expect(s).toContain('server-0 ✓ agent-0 ✓ agent-1 ✓');
    expect(s).toMatch(/^> admin\s+back\s+1\/1\s+Running/m);
    expect(s).toMatch(/^ {2}api\s+back\s+2\/2\s+Running/m);
    expect(s).toMatch(/^ {2}worker\s+b2b\s+0\/1\s+CrashLoopBackOff\s+7/m);
    expect(s).toContain('─ LOGS · all services · following');
    expect(s).toMatch(/^W +\d+s +pod\/worker-9a8b7c-p0o9i BackOff/m);
  }, 60_000);

  it('j selects the next service; Enter shows only its logs', async () => {
    keys('j');
    await waitFor('api selected', (x) => /^> api /m.test(x));
    keys('Enter');
    const s = await waitFor('api logs', (x) => x.includes('─ LOGS · service api') && /demo api line/.test(x));
    const rows = logRows(s);
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r).toMatch(/^(x1k2p|q8w4z| {5}) │ /);
    expect(rows.join('\n')).not.toMatch(/demo (chat|front|admin|worker) line/);
  }, 60_000);

  it('? shows the help screen, and ? closes it', async () => {
    keys('?');
    const s = await waitFor('help', (x) => x.includes('help · keys'));
    expect(s).toContain('select a service');
    expect(s).toContain('quit the dashboard (environment keeps running)');
    keys('?');
    await waitFor('help closed', (x) => !x.includes('help · keys'));
  }, 60_000);

  it('r calls the reload callback for the selected service', async () => {
    keys('r');
    await waitFor('reload notice', (x) => x.includes('demo: reload requested for api'));
    keys('R');
    await waitFor('restart failure notice', (x) => x.includes('restart api failed: demo cannot restart api'));
  }, 60_000);

  it('q leaves cleanly: terminal restored, process exits 0', async () => {
    keys('q');
    const s = await waitFor('exit', (x) => x.includes('dashboard closed') && existsSync(exitFile));
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('exit=0');
    expect(s).not.toContain('─ LOGS');
    expect(s).not.toContain('SERVICE');
  }, 60_000);
});

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
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolMissing } from '../setup/tier.ts';
import { until } from '../support/poll.ts';
import { sq, tmuxSession } from '../support/tmux.ts';

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

const { tmux, screen, keys } = tmuxSession(socket, session);

const waitFor = (what: string, ok: (s: string) => boolean, timeoutMs = 20_000): Promise<string> =>
  until(what, screen, { timeoutMs, intervalMs: 100, accept: ok });

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

/**
 * `devenv up` opens the dashboard from its first second. Two runs in tmux:
 * - the REAL CLI (`./devenv up`, a TTY, no --no-tui) on a copy of the pyapp fixture with a
 *   context that is not allow-listed: the dashboard opens before up does anything, up's
 *   failure shows in it with its reason, q quits, the CLI prints the error and exits 2. The
 *   time from spawning the process to its first frame (seen from outside, on tmux's screen)
 *   is printed. (A cold up that creates a cluster needs the engine tiers; here nothing is
 *   created.)
 * - up's dashboard session driven by a scripted cold up (test/support/up-demo.ts): cluster,
 *   data services, builds with their BuildKit steps, push, apply, rollouts as they happen,
 *   then pods, logs and URLs; and a build failure shown with its reason until q (exit 1).
 */
describe.skipIf(!hasTmux)('devenv up: the dashboard from the first second (tmux)', () => {
  const upSocket = `devenv-tui-up-${process.pid}`;
  const t = (...args: string[]) => execFileSync('tmux', ['-L', upSocket, ...args], { encoding: 'utf8' });
  const shot = (s: string) => t('capture-pane', '-p', '-t', s);
  const upTmp = mkdtempSync(join(tmpdir(), 'devenv-tui-up-'));
  const exitOf = (name: string) => join(upTmp, `exit-${name}`);
  const start = (name: string, command: string): number => {
    const cmd = [`cd ${sq(root)}`, command, `echo "exit=$?" > ${sq(exitOf(name))}`, 'sleep 120'].join('; ');
    const t0 = Date.now();
    t('-f', '/dev/null', '-u', 'new-session', '-d', '-s', name, '-x', '100', '-y', '34', cmd);
    return t0;
  };
  const shotUntil = (
    name: string,
    what: string,
    ok: (s: string) => boolean,
    timeoutMs = 20_000,
    everyMs = 100,
  ) => until(what, () => shot(name), { timeoutMs, intervalMs: everyMs, accept: ok });
  const exited = (name: string) =>
    existsSync(exitOf(name)) ? readFileSync(exitOf(name), 'utf8').trim() : '';

  afterAll(() => {
    spawnSync('tmux', ['-L', upSocket, 'kill-server']);
    rmSync(upTmp, { recursive: true, force: true });
  });

  it('the real devenv up: first frame at once, the failure in the dashboard, q exits 2 with the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devenv-tui-up-'));
    cpSync(join(root, 'fixtures', 'pyapp'), dir, { recursive: true });
    const env = `LANG=C.UTF-8 DEVENV_STATE_DIR=${sq(join(dir, 'state'))}`;
    const t0 = start(
      'real',
      `${env} ${sq(process.execPath)} ${sq(join(root, 'devenv'))} -c ${sq(join(dir, 'devenv.yaml'))} up --context not-allowed-ctx`,
    );
    await shotUntil('real', 'the first frame', (x) => x.includes('devenv · pyapp'), 20_000, 10);
    const firstFrameMs = Date.now() - t0;
    process.stdout.write(
      `[tui-tmux] devenv up: first dashboard frame ${firstFrameMs} ms after spawning the CLI\n`,
    );
    const s = await shotUntil('real', 'the failure', (x) => x.includes('UP · FAILED'));
    expect(s).toMatch(/✗ .*not-allowed-ctx/);
    expect(s).toContain('devenv up failed (the reason is above) · q quits');
    expect(exited('real')).toBe('');
    t('send-keys', '-t', 'real', '?');
    await shotUntil('real', 'help over the failed up', (x) => x.includes('help · keys'));
    t('send-keys', '-t', 'real', 'q');
    const after = await shotUntil('real', 'exit', () => exited('real') !== '');
    expect(exited('real')).toBe('exit=2');
    const end = shot('real');
    expect(end).toContain('not-allowed-ctx');
    expect(end).not.toContain('UP · FAILED');
    void after;
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a scripted cold up: steps, BuildKit lines, push, rollouts, then pods, logs and URLs; q exits 0', async () => {
    const demo = join(root, 'test', 'support', 'up-demo.ts');
    const t0 = start('cold', `LANG=C.UTF-8 ${sq(process.execPath)} ${sq(demo)} --speed 1.5`);
    const first = await shotUntil(
      'cold',
      'the first frame',
      (x) => x.includes('devenv · social'),
      20_000,
      10,
    );
    process.stdout.write(
      `[tui-tmux] scripted up: first dashboard frame ${Date.now() - t0} ms after spawning\n`,
    );
    expect(first).toContain('UP · starting');
    const building = await shotUntil('cold', 'a BuildKit step of the api build', (x) =>
      x.includes('#7 [3/4] RUN pip install --no-index -r /app/requirements.txt'),
    );
    expect(building).toMatch(/^ {2}api\s+-\s+0\/0\s+building 3\/4/m);
    expect(building).toMatch(/… cluster\s+k3d cluster social/);
    const rolling = await shotUntil('cold', 'the rollouts', (x) => x.includes('rollout:social/api'));
    expect(rolling).toMatch(/✓ apply/);
    const ready = await shotUntil(
      'cold',
      'pods, logs and URLs',
      (x) => /^> admin\s+social\s+1\/1\s+Running/m.test(x) && x.includes('api listening'),
    );
    expect(ready).not.toContain('UP ·');
    t('send-keys', '-t', 'cold', 'j', 'd');
    const described = await shotUntil('cold', 'the describe overlay of api', (x) =>
      x.includes('describe · api'),
    );
    expect(described).toContain('http://social.localhost/api');
    t('send-keys', '-t', 'cold', 'd');
    await shotUntil('cold', 'the overlay closed', (x) => !x.includes('describe · api'));
    t('send-keys', '-t', 'cold', 'q');
    await shotUntil('cold', 'exit', () => exited('cold') !== '');
    expect(exited('cold')).toBe('exit=0');
    const end = shot('cold');
    const m = end.match(/first frame (\d+) ms after the process started/);
    expect(m).not.toBeNull();
    process.stdout.write(
      `[tui-tmux] scripted up: first frame ${m![1]} ms after the process started (inside)\n`,
    );
  }, 60_000);

  it('a scripted up whose build fails: reason and output shown, the dashboard usable, q exits 1', async () => {
    const demo = join(root, 'test', 'support', 'up-demo.ts');
    start('fail', `LANG=C.UTF-8 ${sq(process.execPath)} ${sq(demo)} --fail --speed 2`);
    const s = await shotUntil('fail', 'the failed build', (x) => x.includes('UP · FAILED'));
    expect(s).toContain('✗ build:chat failed');
    expect(s).toContain('SyntaxError: invalid syntax (server.py, line 12)');
    expect(s).toMatch(/^ {2}chat\s+-\s+0\/0\s+build failed/m);
    t('send-keys', '-t', 'fail', 'j');
    await shotUntil('fail', 'the selection moved', (x) => /^> api /m.test(x));
    expect(exited('fail')).toBe('');
    t('send-keys', '-t', 'fail', 'q');
    await shotUntil('fail', 'exit', () => exited('fail') !== '');
    expect(exited('fail')).toBe('exit=1');
    expect(shot('fail')).toContain('devenv: build chat: the command');
  }, 60_000);
});

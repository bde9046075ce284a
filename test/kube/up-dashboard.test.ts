/**
 * A cold `devenv up` in a real terminal (tmux) against the REAL test cluster (an
 * allow-listed existing context): the real CLI on a TTY, no --no-tui. The dashboard must be
 * there from the first second and show up's steps as they happen (pre-flight, the database
 * container, the build with its BuildKit lines, the push, apply, the rollout), then the pod
 * and its logs; `q` closes it, exit 0, and up's summary (with where the service answers)
 * is printed after the terminal is restored. The time from spawning the CLI to its first
 * frame is printed. "Cold": a project nobody deployed, an image content nobody built
 * (version.py carries the run id), a new database container.
 *
 * Without tmux the suite is skipped with the reason printed, unless CI is set.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliEnv, DEVENV, prepareFixture, ROOT, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';
import { newRunId } from '../support/kube.ts';
import { until } from '../support/poll.ts';
import { sq, tmuxSession } from '../support/tmux.ts';

const kubeconfig = inject('kubeconfig');
const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
const runId = newRunId();
const project = `updash-${runId}`;
const socket = `devenv-updash-${process.pid}`;
const session = 'up';

describe.skipIf(!kubeconfig || (!hasTmux && !process.env.CI))(
  'devenv up: the dashboard from the first second, on the test cluster (tmux)',
  () => {
    const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
    const tmp = mkdtempSync(join(tmpdir(), 'devenv-updash-'));
    const exitFile = join(tmp, 'exit');
    const env = cliEnv(kubeconfig ?? '', state);
    let dir = '';
    let file = '';
    const { tmux, screen } = tmuxSession(socket, session);
    const exited = () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : '');
    /** Every distinct screen seen while waiting (what the user saw, frame by frame). */
    const seen: string[] = [];
    const waitFor = (what: string, ok: (s: string) => boolean, timeoutMs = 300_000, everyMs = 50) =>
      until(
        what,
        () => {
          const s = screen();
          if (seen.at(-1) !== s) seen.push(s);
          return s;
        },
        { timeoutMs, intervalMs: everyMs, accept: ok, stopIf: () => exited() || undefined },
      );

    beforeAll(async () => {
      if (!hasTmux) throw new Error('tmux is missing: install it (apt-get install -y tmux)');
      ({ dir, file } = await prepareFixture('pyapp', { project, sync: false }));
      // Content nobody built before: the build runs (cold), it is not "already built".
      writeFileSync(join(dir, 'app', 'version.py'), `VERSION = "1.0.0-${runId}"\n`);
    }, 120_000);

    afterAll(() => {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      if (file) runDevenv(file, ['destroy', '--yes', '--context', TEST_CONTEXT], env);
      for (const d of [dir, state, tmp]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('steps as they happen, then the pod and its logs; q exits 0 and prints the summary', async () => {
      // The tmux server inherits this process's environment; the CLI gets the test's kubeconfig
      // and state dir, and colours (a real terminal).
      const vars = `KUBECONFIG=${sq(env.KUBECONFIG ?? '')} DEVENV_STATE_DIR=${sq(state)} LANG=C.UTF-8`;
      const cmd = [
        `cd ${sq(ROOT)}`,
        'unset NO_COLOR',
        `env ${vars} ${sq(process.execPath)} ${sq(DEVENV)} -c ${sq(file)} up --context ${TEST_CONTEXT}`,
        `echo "exit=$?" > ${sq(exitFile)}`,
        'sleep 600',
      ].join('; ');
      const t0 = Date.now();
      tmux('-f', '/dev/null', '-u', 'new-session', '-d', '-s', session, '-x', '120', '-y', '40', cmd);
      const first = await waitFor('the first frame', (x) => x.includes(`devenv · ${project}`), 60_000, 10);
      const firstFrameMs = Date.now() - t0;
      process.stdout.write(
        `[up-dashboard] cold up: first dashboard frame ${firstFrameMs} ms after spawning the CLI\n`,
      );
      expect(first).toMatch(/starting/);

      const built = await waitFor('the build step in the dashboard', (x) => /[✓…] build:web /.test(x));
      expect(built).toContain('UP · starting');
      const ready = await waitFor(
        'the pod running and its log',
        (x) => /^> web\s+\S+\s+1\/1\s+Running/m.test(x) && x.includes('listening on'),
      );
      expect(ready).not.toContain('UP ·');
      const all = seen.join('\n');
      // The steps of a cold up, each seen in the dashboard while up ran.
      for (const step of ['preflight', 'database', 'build:web', 'load:web', 'apply', 'rollout:'])
        expect(all, `step ${step}`).toContain(step);
      const buildkit = seen.some((s) => /build:web[\s\S]*│ #\d+ /.test(s));
      const rolling = seen.some((s) =>
        /web\s+\S+\s+0\/\d\s+(rolling out|waiting|Pending|ContainerCreating)/.test(s),
      );
      process.stdout.write(
        `[up-dashboard] ${seen.length} distinct screens; BuildKit lines seen: ${buildkit}; service shown rolling out: ${rolling}\n`,
      );
      if (process.env.DEVENV_TEST_SHOW_SCREEN)
        process.stdout.write(`[up-dashboard] screens:\n${seen.join('\n----\n')}\n`);

      tmux('send-keys', '-t', session, 'd');
      const described = await waitFor('describe web', (x) => x.includes('describe · web'), 20_000);
      expect(described).toContain('http://pyapp.localhost/');
      tmux('send-keys', '-t', session, 'd');
      await waitFor('describe closed', (x) => !x.includes('describe · web'), 20_000);
      tmux('send-keys', '-t', session, 'q');
      await waitFor('exit', () => exited() !== '', 60_000).catch(() => undefined);
      expect(exited()).toBe('exit=0');
      const end = screen();
      expect(end).toMatch(/devenv is up in [\d.]+ s — project /);
      expect(end).toContain('where services answer:');
      expect(end).toMatch(/web\s+http:\/\/pyapp\.localhost\//);
    }, 600_000);
  },
);

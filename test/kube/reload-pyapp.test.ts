/**
 * Hot reload on the real test cluster, through the real CLI: `devenv up` keeps watching;
 * an edit changes the HTTP answer; a syntax error is reported while the old pod keeps
 * answering; the fix rolls out. Sync mode updates the running container with no build.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prepareFixture, ROOT, TEST_CONTEXT } from '../support/fixture.ts';
import { until } from '../support/poll.ts';

const kubeconfig = inject('kubeconfig');
const root = ROOT;
const CONTEXT = TEST_CONTEXT;

/** The `up` being watched, so a timeout can show what it printed. */
let watched: Up | undefined;

function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
): Promise<T> {
  // What devenv printed is the only way to tell a slow cluster from a lost report.
  const detail = () => {
    const tail = watched?.out.split('\n').slice(-60).join('\n') ?? '';
    return tail ? `devenv up printed (last 60 lines):\n${tail}` : '';
  };
  return until(what, fn, { timeoutMs, intervalMs: 300, detail }) as Promise<T>;
}

async function get(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

class Up {
  out = '';
  proc: ChildProcess;
  constructor(dir: string, state: string) {
    this.proc = spawn(
      process.execPath,
      [join(root, 'devenv'), '-c', join(dir, 'devenv.yaml'), 'up', '--no-tui', '--context', CONTEXT],
      {
        env: { ...process.env, KUBECONFIG: kubeconfig ?? '', DEVENV_STATE_DIR: state, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.proc.stdout!.on('data', (c) => (this.out += c));
    this.proc.stderr!.on('data', (c) => (this.out += c));
    watched = this;
  }
  async stop(): Promise<number | null> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    const exited = new Promise<number | null>((r) => this.proc.once('exit', (code) => r(code)));
    this.proc.kill('SIGINT');
    return exited;
  }
}

async function prepare(project: string, keepSync: boolean): Promise<string> {
  return (await prepareFixture('pyapp', { project, sync: keepSync })).dir;
}

function serviceUrl(project: string): string {
  const ip = execFileSync(
    'kubectl',
    ['--kubeconfig', kubeconfig!, '-n', project, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'],
    {
      encoding: 'utf8',
    },
  ).trim();
  return `http://${ip}:80/`;
}

function countOk(out: string): number {
  return out.match(/reload:web ok/g)?.length ?? 0;
}

/** true once `n` answers in a row contain `want` (a Service may still hold an old pod). */
async function onlyAnswer(url: string, want: string, n: number): Promise<true | undefined> {
  for (let i = 0; i < n; i++) if (!(await get(url))?.includes(want)) return undefined;
  return true;
}

/** The version every one of 5 answers in a row names, or undefined while they differ. */
async function settledVersion(url: string): Promise<string | undefined> {
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 5; i++) seen.add((await get(url))?.match(/pyapp (\S+)/)?.[1]);
  const [only] = seen;
  return seen.size === 1 ? only : undefined;
}

function setVersion(dir: string, v: string): void {
  writeFileSync(join(dir, 'app', 'version.py'), `VERSION = "${v}"\n`);
}

/** `devenv up` on the project in `dir`, once it says it is watching (5 min at most; its output if it exits first). */
async function watchingUp(dir: string, state: string): Promise<Up> {
  const up = new Up(dir, state);
  await waitFor(
    'devenv up to watch',
    () =>
      up.out.includes('watching')
        ? true
        : up.proc.exitCode !== null
          ? Promise.reject(new Error(up.out))
          : undefined,
    300_000,
  );
  return up;
}

/** Stops the watching up, destroys what it made on the test context, removes the fixture copy. */
async function tearDown(up: Up | undefined, dir: string, state: string): Promise<void> {
  await up?.stop();
  execFileSync(
    process.execPath,
    [join(root, 'devenv'), '-c', join(dir, 'devenv.yaml'), 'destroy', '--yes', '--context', CONTEXT],
    {
      env: { ...process.env, KUBECONFIG: kubeconfig ?? '', DEVENV_STATE_DIR: state },
      stdio: 'ignore',
    },
  );
  rmSync(dir, { recursive: true, force: true });
}

describe.skipIf(!kubeconfig)('hot reload (rebuild) on the real test cluster', () => {
  const project = `reload${Date.now().toString(36).slice(-5)}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  let dir = '';
  let up: Up;
  let url = '';

  beforeAll(async () => {
    dir = await prepare(project, false);
    up = await watchingUp(dir, state);
    url = serviceUrl(project);
  });
  afterAll(() => tearDown(up, dir, state));

  it('an edit changes the HTTP answer', async () => {
    expect(await waitFor('first answer', () => get(url))).toContain('pyapp 1.0.0');
    const t0 = Date.now();
    setVersion(dir, '1.1.0');
    await waitFor('pyapp 1.1.0', async () => ((await get(url))?.includes('pyapp 1.1.0') ? true : undefined));
    console.log(`save -> new answer: ${Date.now() - t0} ms`);
    await waitFor('the reload report', () => (/reload:web ok/.test(up.out) ? true : undefined), 60_000);
    // The old pod may answer for a moment after the report (it leaves the Service's
    // endpoints while it terminates): the next test starts once only 1.1.0 answers.
    await waitFor('only pyapp 1.1.0 behind the Service', () => onlyAnswer(url, 'pyapp 1.1.0', 5), 60_000);
  });

  let fixVersion = '1.2.0';
  it('a syntax error is reported and the old pod keeps answering; the fix rolls out', async () => {
    // Retry-safe: a second attempt starts from whatever the first one left serving and
    // fixes with a version of its own.
    const serving = await waitFor('one version answering', () => settledVersion(url));
    const fix = serving === '1.2.0' ? '1.2.1' : '1.2.0';
    fixVersion = fix;
    const appPy = join(dir, 'app', 'app.py');
    const good = readFileSync(appPy, 'utf8').replace(/\ndef broken\(:\n$/, '');
    const failures = up.out.match(/reload:web FAILED/g)?.length ?? 0;
    writeFileSync(appPy, `${good}\ndef broken(:\n`);
    await waitFor(
      'the failure report',
      () => ((up.out.match(/reload:web FAILED/g)?.length ?? 0) > failures ? true : undefined),
      180_000,
    );
    expect(up.out).toMatch(/SyntaxError|CrashLoopBackOff|Error/);
    expect(await get(url)).toContain(`pyapp ${serving}`);
    const oks = countOk(up.out);
    writeFileSync(appPy, good);
    setVersion(dir, fix);
    await waitFor(
      `pyapp ${fix}`,
      async () => ((await get(url))?.includes(`pyapp ${fix}`) ? true : undefined),
      180_000,
    );
    // The first new answer can come while the old pod is still behind the Service
    // (the rollout is not over yet). The fix's own reload report says the rollout is
    // done; after it, only kube-proxy's sync stands between us and new answers only.
    await waitFor('the reload report of the fix', () => (countOk(up.out) > oks ? true : undefined), 180_000);
    await waitFor(`only pyapp ${fix} behind the Service`, () => onlyAnswer(url, `pyapp ${fix}`, 5), 60_000);
  });

  it('Ctrl-C stops watching and leaves the environment running', async () => {
    expect(await up.stop()).toBe(0);
    expect(up.out).toContain('the environment is still running');
    expect(await get(url)).toContain(`pyapp ${fixVersion}`);
  });
});

describe.skipIf(!kubeconfig)('sync mode on the real test cluster', () => {
  const project = `sync${Date.now().toString(36).slice(-5)}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  let dir = '';
  let up: Up;

  beforeAll(async () => {
    dir = await prepare(project, true);
    up = await watchingUp(dir, state);
  });
  afterAll(() => tearDown(up, dir, state));

  it('copies the changed file into the running container, with no image build', async () => {
    const url = serviceUrl(project);
    expect(await waitFor('first answer', () => get(url))).toContain('pyapp 1.0.0');
    const buildsBefore = (up.out.match(/build:web start/g) ?? []).length;
    const t0 = Date.now();
    setVersion(dir, '2.0.0-synced');
    await waitFor(
      'synced answer',
      async () => ((await get(url))?.includes('2.0.0-synced') ? true : undefined),
      60_000,
    );
    console.log(`save -> synced answer: ${Date.now() - t0} ms`);
    expect(up.out).toMatch(/sync:web/);
    expect((up.out.match(/build:web start/g) ?? []).length).toBe(buildsBefore);
  });

  it('a new pod gets the synced files before it is reported current (delete the pod after a sync)', async () => {
    const url = serviceUrl(project);
    // Retry-safe: each attempt syncs a version of its own.
    const version = `3.0.${Date.now() % 100_000}-synced`;
    setVersion(dir, version);
    await waitFor(`${version} synced`, () => onlyAnswer(url, `pyapp ${version}`, 3), 60_000);
    const pods = (): Array<{ name: string; deleting: boolean }> =>
      JSON.parse(
        execFileSync(
          'kubectl',
          [
            '--kubeconfig',
            kubeconfig!,
            '-n',
            project,
            'get',
            'pods',
            '-l',
            'app.kubernetes.io/name=web',
            '-o',
            'json',
          ],
          { encoding: 'utf8' },
        ),
      ).items.map((p: { metadata: { name: string; deletionTimestamp?: string } }) => ({
        name: p.metadata.name,
        deleting: Boolean(p.metadata.deletionTimestamp),
      }));
    const old = pods().filter((p) => !p.deleting);
    expect(old).toHaveLength(1);
    const oldPod = old[0]!.name;
    const buildsBefore = (up.out.match(/build:web start/g) ?? []).length;
    const mark = up.out.length;
    const t0 = Date.now();
    execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig!, '-n', project, 'delete', 'pod', oldPod, '--wait=false'],
      {
        stdio: 'ignore',
      },
    );
    // Until the new pod serves the synced version: every answer with the image's code
    // (1.0.0) must come while devenv says so (a started resync naming a new container),
    // never after it reported the re-sync done.
    let staleAnswers = 0;
    let firstSynced = 0;
    await waitFor(
      'the new pod serving the synced version, re-synced',
      async () => {
        // What devenv had said when the request left (a re-sync reported done by then must
        // be in place), and by the time the answer came (the stale pod must be reported).
        const before = up.out.slice(mark);
        const answer = await get(url);
        const said = up.out.slice(mark);
        if (answer?.includes('pyapp 1.0.0')) {
          staleAnswers++;
          expect(said, `stale code served before devenv reported it; devenv printed:\n${said}`).toMatch(
            /resync:web start \S+ is a new container: it runs the image's code, without the \d+ file\(s\) synced/,
          );
          expect(
            before,
            `stale code served after devenv reported it current; devenv printed:\n${said}`,
          ).not.toMatch(/resync:web done/);
          return undefined;
        }
        if (!/resync:web done/.test(said)) return undefined;
        if (pods().some((p) => p.name === oldPod)) return undefined; // the old pod still answers
        if (!answer?.includes(`pyapp ${version}`)) return undefined;
        firstSynced ||= Date.now() - t0;
        return onlyAnswer(url, `pyapp ${version}`, 5);
      },
      120_000,
    );
    const said = up.out.slice(mark);
    const announced = /resync:web start (\S+) is a new container/.exec(said)?.[1] ?? '';
    expect(announced).toContain(`${project}/web-`);
    expect(announced).not.toContain(oldPod);
    // Reported current again only after the re-sync; by a re-sync, not a rebuild.
    expect(said.indexOf('reload:web ok')).toBeGreaterThan(said.indexOf('resync:web done'));
    expect((up.out.match(/build:web start/g) ?? []).length).toBe(buildsBefore);
    console.log(
      `pod deleted -> new pod serves the synced version: ${firstSynced} ms (stale answers seen meanwhile: ${staleAnswers}, each while devenv reported the re-sync as pending)`,
    );
  });
});

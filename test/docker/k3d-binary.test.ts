/**
 * The k3d binary, as `status` and `doctor` see it, with the REAL k3d CLI (built by
 * test/cluster/build.sh) asking the real Docker engine:
 *   - `status` with no k3d cluster (before the first `up`, after `destroy`) reports
 *     `cluster.state: "absent"`, exit 0, and still reports the data services;
 *   - with a k3d that cannot be run, `status` says so (state "unknown", the reason) instead
 *     of failing;
 *   - `doctor` checks the k3d that `up` runs: DEVENV_K3D, not only PATH.
 * PATH holds no k3d here, so only DEVENV_K3D can make the k3d check pass.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { destroyDataServices } from '../../src/data/destroy.ts';
import { ensureDataServices } from '../../src/data/lifecycle.ts';
import { toolMissing } from '../setup/tier.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/fixture.ts';
import { cachedK3d } from '../support/tool-mirror.ts';

const ok = inject('dockerAvailable');
const PROJECT = `t-k3dbin-${Math.random().toString(36).slice(2, 8)}`;
const k3d = cachedK3d();
if (ok && !k3d) toolMissing('k3d-binary', 'k3d binary missing: run test/cluster/build.sh');

let dir = '';

/** The CLI with a PATH that holds node and the system tools, but no k3d. */
function cli(
  args: string[],
  extra: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`,
    DEVENV_STATE_DIR: join(dir, '.state'),
    DEVENV_CACHE_DIR: join(dir, '.cache'), // no k3d devenv fetched earlier on this machine
    NO_COLOR: '1',
    ...extra,
  };
  if (!('DEVENV_K3D' in extra)) delete env.DEVENV_K3D;
  return runCli(args, { cwd: dir, env, timeoutMs: 60_000 });
}

describe.skipIf(!ok || !k3d)('status and doctor use the k3d binary up uses', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-k3dbin-'));
    await writeFile(
      join(dir, 'devenv.yaml'),
      [
        'apiVersion: devenv.dev/v1alpha1',
        `project: ${PROJECT}`,
        'database:',
        '  engine: postgres',
        `  image: ${process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15'}`,
        `  port: ${await freePort()}`,
        '',
      ].join('\n'),
    );
    process.env.DEVENV_STATE_DIR = join(dir, '.state');
    const { config, root } = loadConfig(join(dir, 'devenv.yaml'));
    await ensureDataServices({ config, root, onEvent: () => {}, timeoutMs: 120_000 });
  });
  afterAll(async () => {
    await destroyDataServices(PROJECT).catch(() => {});
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('no k3d cluster: status --json says "absent", exit 0, and reports the data services', async () => {
    const r = await cli(['status', '--json'], { DEVENV_K3D: k3d! });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.cluster).toMatchObject({ kind: 'k3d', context: `k3d-${PROJECT}`, state: 'absent' });
    expect(report.data).toEqual([
      expect.objectContaining({ role: 'database', container: `devenv-${PROJECT}-db`, status: 'running' }),
    ]);
    const text = await cli(['status'], { DEVENV_K3D: k3d! });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^cluster +k3d k3d-${PROJECT} +absent`, 'm'));
    expect(text.stdout).toContain(`devenv-${PROJECT}-db`);
  });

  it('a k3d that cannot be run: status says so (state "unknown", why), exit 0, data still reported', async () => {
    const r = await cli(['status', '--json'], { DEVENV_K3D: join(dir, 'no-such-k3d') });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.cluster.state).toBe('unknown');
    expect(report.cluster.detail).toContain(`k3d not found at DEVENV_K3D=${join(dir, 'no-such-k3d')}`);
    expect(report.data).toHaveLength(1);
    // And without DEVENV_K3D, on a PATH with no k3d:
    const bare = JSON.parse((await cli(['status', '--json'], {})).stdout);
    expect(bare.cluster).toMatchObject({
      state: 'unknown',
      detail: expect.stringMatching(/^k3d not found on PATH/),
    });
  });

  it('doctor checks the k3d named by DEVENV_K3D (the one up runs)', async () => {
    const r = await cli(['doctor', '--json'], { DEVENV_K3D: k3d! });
    const check = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'k3d');
    expect(check).toMatchObject({
      status: 'ok',
      data: { version: expect.stringMatching(/^5\./), binary: k3d },
    });
    expect(check.detail).toContain(`(${k3d}, from DEVENV_K3D)`);

    const missing = await cli(['doctor', '--json'], { DEVENV_K3D: join(dir, 'no-such-k3d') });
    const failed = JSON.parse(missing.stdout).checks.find((c: { id: string }) => c.id === 'k3d');
    expect(failed).toMatchObject({ status: 'fail', detail: expect.stringContaining('DEVENV_K3D=') });
    expect(missing.code).toBe(1);
  });
});

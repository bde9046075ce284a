/**
 * The real thing, on a laptop with internet: `devenv up` creates a k3d cluster of 1 server
 * + 2 agents from k3d/cluster.yaml, the database beside it, builds and deploys pyapp with
 * the official base images, then `status`, `down` and `destroy`. Where the k3s image
 * cannot be pulled (the build machines), the global setup says why and this is skipped.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';

const reason = inject('e2eReason');
const root = join(import.meta.dirname, '..', '..');

describe.skipIf(reason !== null)('devenv up with real k3d (e2e)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-e2e-'));
  cpSync(join(root, 'fixtures', 'pyapp'), dir, { recursive: true });
  cpSync(join(root, 'k3d'), join(dir, 'k3d'), { recursive: true });
  const devenv = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'devenv'), '-c', join(dir, 'devenv.yaml'), ...args], {
      encoding: 'utf8',
      timeout: 900_000,
    });
  afterAll(() => {
    devenv('destroy', '--yes');
    rmSync(dir, { recursive: true, force: true });
  });

  it('up creates 1 server + 2 agents and the service becomes ready', () => {
    const r = devenv('up', '--no-watch');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const status = JSON.parse(devenv('status', '--json').stdout);
    expect(status.cluster.state).toBe('running');
    expect(status.services[0].workloads[0].ready).toBe(true);
    const nodes = spawnSync('kubectl', ['--context', 'k3d-pyapp', 'get', 'nodes', '-o', 'name'], {
      encoding: 'utf8',
    })
      .stdout.trim()
      .split('\n');
    expect(nodes).toHaveLength(3);
  });

  it('a second up changes nothing', () => {
    const r = devenv('up', '--no-watch');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nothing to change');
  });

  it('down stops, destroy removes', () => {
    expect(devenv('down').status).toBe(0);
    expect(JSON.parse(devenv('status', '--json').stdout).cluster.state).toBe('stopped');
  });
});

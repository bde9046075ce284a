/**
 * An interrupted `devenv up` (kill -9 in the middle) leaves nothing that blocks the next
 * one: the lock is stale and taken over, and the next `up` completes without duplicates.
 * Two `up` of the same project at once: the second is refused with a clear message.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterProject } from '../support/cluster-project.ts';
import { DEVENV, TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const CONTEXT = TEST_CONTEXT;

describe.skipIf(!kubeconfig)('interrupted and concurrent up', () => {
  const project = `intr${Date.now().toString(36).slice(-5)}`;
  const p = clusterProject(kubeconfig, 'pyapp', { project });
  const { env } = p;
  const args = () => [DEVENV, '-c', p.file, 'up', '--no-watch', '--context', CONTEXT];

  beforeAll(() => {
    writeFileSync(join(p.dir, 'app', 'version.py'), `VERSION = "intr-${project}"\n`);
  });

  it('kill -9 during up, then up again: completes, no duplicates', async () => {
    const first: ChildProcess = spawn(process.execPath, args(), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    first.stdout!.on('data', (c) => (out += c));
    // Kill it once the data service and the build are under way (before the apply).
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (/build:web (start|done)/.test(out) || first.exitCode !== null) {
          clearInterval(t);
          resolve();
        }
      }, 50);
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = spawnSync(process.execPath, args(), { env, encoding: 'utf8', timeout: 600_000 });
    expect(second.status, second.stdout + second.stderr).toBe(0);
    const containers = execFileSync(
      'docker',
      ['ps', '-a', '-q', '--filter', `label=dev.devenv/project=${project}`],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .filter(Boolean);
    expect(containers).toHaveLength(1);
    const deployments = JSON.parse(
      execFileSync('kubectl', ['--kubeconfig', kubeconfig!, '-n', project, 'get', 'deploy', '-o', 'json'], {
        encoding: 'utf8',
      }),
    ).items;
    expect(deployments).toHaveLength(1);
    expect(deployments[0].status.readyReplicas).toBe(1);
  });

  it('a second concurrent up of the same project is refused with a clear message', async () => {
    // A new version, so the first up has a build and a rollout to do (an up with nothing to
    // change is over in about a second); the second starts once the first is building,
    // which it does only while holding the project's lock.
    writeFileSync(join(p.dir, 'app', 'version.py'), `VERSION = "intr2-${project}"\n`);
    const first = spawn(process.execPath, args(), { env, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((r) => first.once('exit', r));
    let out = '';
    first.stdout!.on('data', (c) => (out += c));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (/build:web start/.test(out) || first.exitCode !== null) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    const second = spawnSync(process.execPath, args(), { env, encoding: 'utf8', timeout: 120_000 });
    await exited;
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another "devenv up" is running for project/);
  });
});

// `devenv logs SERVICE` as a user runs it: the real CLI in a child process, against the
// REAL test cluster (an allow-listed existing context), for a project deployed from its
// manifests with devenv's own render + reconcile (so workloads carry dev.devenv/source).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { deleteNamespace } from '../../src/kube/namespaces.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import {
  applyManifestDirs,
  newRunId,
  pushBaseImageAs,
  WATCH_IMAGE,
  WATCH_IMAGES,
  watchDeployment,
  writeManifestProject,
} from '../support/kube.ts';
import { until } from '../support/poll.ts';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const root = join(import.meta.dirname, '..', '..');
const devenv = join(root, 'devenv');
const image = WATCH_IMAGE;

const runId = newRunId();
const project = `logs-${runId}`;
const ns = `devenv-logs-${runId}`;

describe.skipIf(!kubeconfig)('devenv logs on the real test cluster', () => {
  let client: KubeClient;
  let dir: string;
  let context: string;
  const children: ChildProcess[] = [];

  const cli = (...args: string[]) =>
    run(
      process.execPath,
      [
        devenv,
        '-c',
        join(dir, 'devenv.yaml'),
        ...args,
        '--context',
        context,
        '--kubeconfig',
        kubeconfig as string,
      ],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
    );

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string });
    context = client.contextName();
    pushBaseImageAs(image);
    dir = await mkdtemp(join(tmpdir(), 'devenv-logs-test-'));
    await writeManifestProject(dir, project, context, ['web', 'api']);
    // Two web pods that greet and count; one api pod whose lines must NOT show up for web.
    await writeFile(
      join(dir, 'k8s', 'web', 'deploy.yaml'),
      watchDeployment(
        'web',
        'echo hello from $HOSTNAME; i=0; while true; do echo web tick $i; i=$((i+1)); sleep 0.3; done',
        2,
      ),
    );
    await writeFile(
      join(dir, 'k8s', 'api', 'deploy.yaml'),
      watchDeployment('api', 'while true; do echo api line; sleep 0.5; done', 1),
    );
    const { objects } = await applyManifestDirs(client, dir, ['k8s/web', 'k8s/api'], {
      project,
      namespace: ns,
      images: WATCH_IMAGES,
    });
    await waitForRollouts({ client, objects: objects.map((o) => o.object), timeoutMs: 120_000 });
  }, 300_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (client) await deleteNamespace(client, ns, { project, env: 'dev' }).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints [pod/container] lines of every pod of the service, and only of that service', async () => {
    const { stdout } = await cli('logs', 'web');
    const lines = stdout.trim().split('\n');
    const pods = new Set(lines.map((l) => /^\[(web-[a-z0-9]+-[a-z0-9]+)\/app\] /.exec(l)?.[1]));
    expect(pods.has(undefined)).toBe(false); // every line is prefixed
    expect(pods.size).toBe(2);
    for (const pod of pods) {
      expect(lines).toContain(`[${pod}/app] hello from ${pod}`);
      expect(lines).toContain(`[${pod}/app] web tick 0`);
    }
    expect(stdout).not.toContain('api line');
  });

  it('--since limits the history', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const { stdout } = await cli('logs', 'web', '--since', '1s');
    expect(stdout).not.toContain('hello from');
    expect(stdout).not.toContain('web tick 0\n');
    const n = stdout.trim().split('\n').filter(Boolean).length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(20); // 2 pods x ~3 lines a second
  });

  it('-f follows until Ctrl-C, including pods that appear later', async () => {
    const child = spawn(
      process.execPath,
      [
        devenv,
        '-c',
        join(dir, 'devenv.yaml'),
        'logs',
        'web',
        '-f',
        '--since',
        '2s',
        '--context',
        context,
        '--kubeconfig',
        kubeconfig as string,
      ],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const waitOut = (what: string, ok: () => boolean, ms = 60_000) =>
      until(what, ok, {
        timeoutMs: ms,
        intervalMs: 100,
        accept: (v) => v,
        detail: () => `stdout:\n${out}\nstderr:\n${err}`,
      });
    await waitOut(
      'ticks of both pods',
      () => new Set([...out.matchAll(/^\[(web-[^/]+)\/app\] web tick/gm)].map((m) => m[1])).size === 2,
    );
    // Scale up: the new pod's lines arrive in the same stream.
    await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web/scale`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { replicas: 3 } },
    });
    await waitOut(
      'lines of a third pod',
      () => new Set([...out.matchAll(/^\[(web-[^/]+)\/app\] /gm)].map((m) => m[1])).size === 3,
    );
    expect(out).not.toContain('api line');
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
  });

  it('an unknown service exits 2 and lists the services; a bad --since exits 2', async () => {
    const e = await cli('logs', 'nope').then(
      () => undefined,
      (x: { code: number; stderr: string }) => x,
    );
    expect(e?.code).toBe(2);
    expect(e?.stderr).toContain('no service "nope"');
    expect(e?.stderr).toContain('services: web, api');
    const s = await cli('logs', 'web', '--since', 'yesterday').then(
      () => undefined,
      (x: { code: number; stderr: string }) => x,
    );
    expect(s?.code).toBe(2);
    expect(s?.stderr).toContain('--since');
  });
});

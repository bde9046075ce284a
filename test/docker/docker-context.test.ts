/**
 * Docker engine selection on the real engine, through the real CLI, exactly as the docker
 * CLI selects it: DOCKER_HOST, else the current docker context (DOCKER_CONTEXT, else
 * currentContext in $DOCKER_CONFIG/config.json) and its endpoint from
 * contexts/meta/<sha256>/meta.json, else the default socket.
 *
 * Without a second engine, each context's endpoint is ANOTHER PATH to the running engine: a
 * symlink to its socket in a temp dir. A context is proven used when removing only its
 * symlink (nothing else changes) turns the engine check from ok to a failure naming that
 * endpoint; a context whose endpoint does not exist fails with the endpoint and the context.
 * k3d (a stand-in binary through DEVENV_K3D that records its environment) is handed the
 * same engine as DOCKER_HOST.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureCredentials } from '../../src/data/credentials.ts';
import { runCli } from '../support/cli.ts';

const ok = inject('dockerAvailable');
/** The engine the tier runs on (its global setup found it the default way). */
const ENGINE_SOCKET = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');

let dir = '';
let cfg = '';

function sha(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** A docker context as `docker context create NAME --docker host=HOST` writes it. */
function writeContext(name: string, host: string): void {
  const d = join(cfg, 'contexts', 'meta', sha(name));
  mkdirSync(d, { recursive: true });
  writeFileSync(
    join(d, 'meta.json'),
    JSON.stringify({
      Name: name,
      Metadata: { Description: 'devenv test' },
      Endpoints: { docker: { Host: host } },
    }),
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with no Docker variables of the caller's, plus `extra`. */
function cli(args: string[], extra: NodeJS.ProcessEnv): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: cfg, NO_COLOR: '1', ...extra };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT'] as const) if (!(k in extra)) delete env[k];
  return runCli(args, { cwd: dir, env, timeoutMs: 60_000 });
}

interface DockerCheck {
  status: string;
  detail: string;
  fix?: string;
  data?: { endpoint?: string; source?: string; context?: string; serverVersion?: string };
}

async function dockerCheck(extra: NodeJS.ProcessEnv): Promise<DockerCheck> {
  const r = await cli(['doctor', '--json'], extra);
  const report = JSON.parse(r.stdout) as { checks: Array<DockerCheck & { id: string }> };
  return report.checks.find((c) => c.id === 'docker') as DockerCheck;
}

const sock = (name: string) => join(dir, `${name}.sock`);

describe.skipIf(!ok)('docker engine selection like the docker CLI (real engine, real CLI)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-dctx-'));
    cfg = join(dir, 'docker-config');
    mkdirSync(cfg);
    for (const n of ['current', 'other', 'host']) symlinkSync(ENGINE_SOCKET, sock(n));
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'devenv-current' }));
    writeContext('devenv-current', `unix://${sock('current')}`);
    writeContext('devenv-other', `unix://${sock('other')}`);
    writeContext('devenv-broken', `unix://${sock('missing')}`);
    writeFileSync(
      join(dir, 'devenv.yaml'),
      'apiVersion: devenv.dev/v1alpha1\nproject: dctx\ndatabase:\n  engine: postgres\n',
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the current context (currentContext in $DOCKER_CONFIG/config.json) is the engine used', async () => {
    const c = await dockerCheck({});
    expect(c.status, c.detail).not.toBe('fail');
    expect(c.data).toMatchObject({
      endpoint: `unix://${sock('current')}`,
      source: 'currentContext',
      context: 'devenv-current',
      serverVersion: expect.any(String),
    });
    expect(c.detail).toContain(
      `at unix://${sock('current')} (docker context "devenv-current", the current context in ${join(cfg, 'config.json')})`,
    );
    // Proof that the connection goes through the context's endpoint: remove only its path.
    rmSync(sock('current'));
    try {
      const gone = await dockerCheck({});
      expect(gone.status).toBe('fail');
      expect(gone.detail).toContain(`unix://${sock('current')}`);
      expect(gone.detail).toContain('docker context "devenv-current"');
    } finally {
      symlinkSync(ENGINE_SOCKET, sock('current'));
    }
  });

  it('DOCKER_CONTEXT overrides currentContext; DOCKER_HOST wins over both', async () => {
    const c = await dockerCheck({ DOCKER_CONTEXT: 'devenv-other' });
    expect(c.status, c.detail).not.toBe('fail');
    expect(c.data).toMatchObject({
      endpoint: `unix://${sock('other')}`,
      source: 'DOCKER_CONTEXT',
      context: 'devenv-other',
    });
    expect(c.detail).toContain('(docker context "devenv-other", from DOCKER_CONTEXT)');

    const h = await dockerCheck({ DOCKER_CONTEXT: 'devenv-other', DOCKER_HOST: `unix://${sock('host')}` });
    expect(h.status, h.detail).not.toBe('fail');
    expect(h.data).toMatchObject({ endpoint: `unix://${sock('host')}`, source: 'DOCKER_HOST' });
    expect(h.data?.context).toBeUndefined();
    expect(h.detail).toContain(`at unix://${sock('host')} (from DOCKER_HOST)`);
  });

  it('a context whose endpoint does not exist: a clear error naming the endpoint and the context', async () => {
    const c = await dockerCheck({ DOCKER_CONTEXT: 'devenv-broken' });
    expect(c.status).toBe('fail');
    expect(c.detail).toBe(
      `Docker engine not reachable (ENOENT no socket at ${sock('missing')}; unix://${sock('missing')}, the endpoint of docker context "devenv-broken" (from DOCKER_CONTEXT)). ` +
        `${c.fix} Or switch to another docker context ("docker context use NAME", or DOCKER_CONTEXT).`,
    );
    // The same one line from a command that needs the engine (exit 1), as current context too.
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'devenv-broken' }));
    const state = join(dir, '.state');
    const before = process.env.DEVENV_STATE_DIR;
    process.env.DEVENV_STATE_DIR = state;
    ensureCredentials('dctx'); // as after a first `devenv up`
    if (before === undefined) delete process.env.DEVENV_STATE_DIR;
    else process.env.DEVENV_STATE_DIR = before;
    try {
      const r = await cli(['db', 'snapshots'], { DEVENV_STATE_DIR: state });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`unix://${sock('missing')}, the endpoint of docker context "devenv-broken"`);
      expect(lines[0]).toContain(`the current context in ${join(cfg, 'config.json')}`);
    } finally {
      writeFileSync(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'devenv-current' }));
    }
  });

  it('a context that does not exist: an error naming it and where it was chosen', async () => {
    const c = await dockerCheck({ DOCKER_CONTEXT: 'devenv-nope' });
    expect(c.status).toBe('fail');
    expect(c.detail).toBe(
      `docker context "devenv-nope" (from DOCKER_CONTEXT) does not exist: no ${join(cfg, 'contexts', 'meta', sha('devenv-nope'), 'meta.json')}`,
    );
    expect(c.fix).toMatch(/docker context ls/);
  });

  it('k3d is handed the same engine: DOCKER_HOST at the context’s endpoint, no DOCKER_CONTEXT', async () => {
    const seen = join(dir, 'k3d-env.txt');
    const fake = join(dir, 'fake-k3d');
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        `printf 'DOCKER_HOST=%s DOCKER_CONTEXT=%s ARGS=%s\\n' "$DOCKER_HOST" "$DOCKER_CONTEXT" "$*" >> '${seen}'`,
        'case "$1" in version) echo "k3d version v5.8.3";; cluster) echo "[]";; esac',
        '',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    const r = await cli(['status', '--json'], {
      DEVENV_K3D: fake,
      DEVENV_STATE_DIR: join(dir, '.state'),
      DOCKER_CONTEXT: 'devenv-other',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(seen)).toBe(true);
    const calls = readFileSync(seen, 'utf8').trim().split('\n');
    expect(calls.some((l) => l.includes('ARGS=cluster list'))).toBe(true);
    for (const l of calls)
      expect(l).toMatch(new RegExp(`^DOCKER_HOST=unix://${sock('other')} DOCKER_CONTEXT= `));
  });
});

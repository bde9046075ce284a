/**
 * `devenv up` on a machine without k3d (none on PATH, DEVENV_K3D unset): pre-flight fetches
 * devenv's pinned k3d (src/tools/pinned.ts) through DEVENV_TOOLS_MIRROR. When that fails
 * (the mirror unreachable, or serving a file whose sha256 is not the pinned one), `up`
 * stops with ONE error carrying the manual remedy, a non-zero exit code, and nothing was
 * created: no Docker network k3d-<project>, no container, no volume, nothing in the cache.
 * `doctor` says which k3d `up` will use and why (here: to be fetched, from where).
 * The real CLI, the real Docker engine; only the release host is local.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listContainers } from '../../src/docker/containers.ts';
import { networkExists } from '../../src/docker/networks.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import { MIN_K3D } from '../../src/doctor/checks.ts';
import { projectLabels } from '../../src/labels.ts';
import { currentPlatform, K3D } from '../../src/tools/pinned.ts';
import { runCli } from '../support/cli.ts';
import { closedPort, filesUnder, startMirror } from '../support/tool-mirror.ts';

const ok = inject('dockerAvailable');
const PROJECT = `t-k3dfetch-${Math.random().toString(36).slice(2, 8)}`;
const platform = currentPlatform();

let dir = '';
let server: Awaited<ReturnType<typeof startMirror>> | undefined;
let mirror = '';
let downPort = 0;

async function cli(args: string[], extra: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // node and the system tools, no k3d (node is run by its absolute path anyway)
    PATH: `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`,
    DEVENV_STATE_DIR: join(dir, 'state'),
    DEVENV_CACHE_DIR: join(dir, 'cache'),
    NO_COLOR: '1',
    ...extra,
  };
  delete env.DEVENV_K3D;
  const r = await runCli(args, { cwd: dir, env, timeoutMs: 120_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

async function nothingCreated(): Promise<void> {
  expect(await networkExists(`k3d-${PROJECT}`)).toBe(false);
  expect(await listContainers(projectLabels(PROJECT))).toEqual([]);
  expect(await listVolumes(projectLabels(PROJECT))).toEqual([]);
  expect(filesUnder(join(dir, 'cache'))).toEqual([]);
}

describe.skipIf(!ok || !platform)(
  'up without k3d: devenv provisions the pinned k3d, or stops before creating anything',
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'devenv-k3dfetch-'));
      await writeFile(
        join(dir, 'devenv.yaml'),
        ['apiVersion: devenv.dev/v1alpha1', `project: ${PROJECT}`, ''].join('\n'),
      );
      // The "release host": serves a file at the pinned path that is NOT the pinned k3d.
      server = await startMirror((req, res) => {
        if (req.url === `/k3d/${K3D.version}/k3d-${platform}`)
          res.writeHead(200).end('#!/bin/sh\necho not k3d\n');
        else res.writeHead(404).end();
      });
      mirror = server.url;
      downPort = await closedPort();
    });
    afterAll(async () => {
      await server?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('doctor: no k3d installed, `up` will fetch the pinned one, from where, with which sha256', async () => {
      const r = await cli(['doctor', '--json'], { DEVENV_TOOLS_MIRROR: mirror });
      const check = JSON.parse(r.out.slice(r.out.indexOf('{'))).checks.find(
        (c: { id: string }) => c.id === 'k3d',
      );
      expect(check).toMatchObject({
        status: 'ok',
        data: {
          source: 'fetch',
          url: `${mirror}/k3d/${K3D.version}/k3d-${platform}`,
          sha256: K3D.files[platform!]!.sha256,
          cachePath: join(dir, 'cache', 'tools', 'k3d', K3D.version, platform!, 'k3d'),
        },
      });
      expect(check.detail).toContain('k3d not found on PATH; `devenv up` fetches');
    });

    it('the mirror unreachable: one clear error with the manual remedy, non-zero exit, nothing created', async () => {
      const url = `http://127.0.0.1:${downPort}/k3d/${K3D.version}/k3d-${platform}`;
      const r = await cli(['up', '--no-tui', '--no-watch'], {
        DEVENV_TOOLS_MIRROR: `http://127.0.0.1:${downPort}`,
      });
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain(
        `pre-flight: k3d not found on PATH, and devenv could not fetch its pinned k3d ${K3D.version} from ${url}: cannot reach it: ECONNREFUSED. To fix: install k3d >= ${MIN_K3D} by hand`,
      );
      expect(r.out).toContain('Nothing was created.');
      await nothingCreated();
    });

    it('a download that is not the pinned k3d (sha256 mismatch): one clear error, nothing created', async () => {
      const r = await cli(['up', '--no-tui', '--no-watch'], { DEVENV_TOOLS_MIRROR: mirror });
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain(`sha256 mismatch: the download is `);
      expect(r.out).toContain(`the pinned sha256 is ${K3D.files[platform!]!.sha256}; the file was discarded`);
      expect(r.out).toContain('Nothing was created.');
      await nothingCreated();
    });
  },
);

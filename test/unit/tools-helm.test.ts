/**
 * devenv's pinned helm (src/tools/pinned.ts HELM: release archives with their published
 * sha256) and its choice (src/tools/helm-binary.ts):
 *  - the production table: every platform, a sha256 of the right shape, get.helm.sh's
 *    archive URL and the binary's path inside it;
 *  - an archive fetched through the REAL code from a local HTTP server (the
 *    DEVENV_TOOLS_MIRROR layout): verified, kept, the binary extracted and run; a corrupted
 *    archive and an archive without the binary leave nothing in the cache; a tampered
 *    extracted binary is replaced from the verified archive. The archive is built here (a
 *    test table carries its sha256), so the pinned production values are never computed;
 *  - the decision (pure) and ensureHelm end to end.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { chooseHelm, decideHelm, ensureHelm, type HelmFacts, MIN_HELM } from '../../src/tools/helm-binary.ts';
import {
  currentPlatform,
  HELM,
  PINNED_TOOLS,
  type PinnedTool,
  PLATFORMS,
  type Platform,
} from '../../src/tools/pinned.ts';
import { cachedArchivePath, cachedTool, fetchTool, ToolFetchError } from '../../src/tools/provision.ts';
import { closedPort, filesUnder, startMirror } from '../support/tool-mirror.ts';

const here = currentPlatform();

describe('the pinned helm', () => {
  it('every platform: the release archive on get.helm.sh, a distinct hex sha256, the binary inside it', () => {
    expect(PINNED_TOOLS.helm).toBe(HELM);
    expect(HELM.version).toMatch(/^v4\.\d+\.\d+$/);
    expect(Object.keys(HELM.files).sort()).toEqual([...PLATFORMS].sort());
    for (const p of PLATFORMS) {
      const f = HELM.files[p]!;
      expect(f.sha256, p).toMatch(/^[0-9a-f]{64}$/);
      expect(f.url, p).toBe(`https://get.helm.sh/helm-${HELM.version}-${p}.tar.gz`);
      expect(f.member, p).toBe(`${p}/helm`);
    }
    expect(new Set(PLATFORMS.map((p) => HELM.files[p]!.sha256)).size).toBe(PLATFORMS.length);
  });
});

describe('which helm (decideHelm, pure)', () => {
  const base: HelmFacts = {
    tool: HELM,
    platform: 'linux-amd64',
    platformName: 'linux-x64',
    url: HELM.files['linux-amd64']!.url,
    cachePath: '/c/tools/helm/v4.1.4/linux-amd64/helm',
  };
  it('DEVENV_HELM first, then a helm >= MIN_HELM on PATH, then the verified cache, then "up fetches"', () => {
    expect(decideHelm({ ...base, devenvHelm: '/opt/helm', onPath: { version: '3.19.0' } })).toMatchObject({
      source: 'DEVENV_HELM',
      binary: '/opt/helm',
    });
    expect(decideHelm({ ...base, onPath: { version: '3.19.0' } })).toMatchObject({
      source: 'PATH',
      binary: 'helm',
    });
    expect(decideHelm({ ...base, onPath: {} })).toMatchObject({ source: 'PATH' });
    const old = decideHelm({ ...base, onPath: { version: '2.17.0' }, cached: base.cachePath! });
    expect(old).toMatchObject({ source: 'cache', binary: base.cachePath, version: '4.1.4' });
    expect(old.why).toContain(`helm 2.17.0 on PATH is older than ${MIN_HELM}`);
    const fetch = decideHelm(base);
    expect(fetch).toMatchObject({
      source: 'fetch',
      url: base.url,
      sha256: HELM.files['linux-amd64']!.sha256,
    });
    expect(fetch.why).toContain('helm not found on PATH; `devenv up` fetches');
    const none = decideHelm({ tool: HELM, platformName: 'freebsd-x64' });
    expect(none.source).toBe('none');
    expect(none.why).toContain('no pinned checksum for helm on freebsd-x64; install helm');
  });
});

describe('an archive fetched, verified, kept and extracted (local HTTP server)', () => {
  const BIN = Buffer.from('#!/bin/sh\necho "v4.1.4-test"\n');
  let GOOD: Buffer;
  let NO_MEMBER: Buffer;
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  let dir = '';
  let server: Awaited<ReturnType<typeof startMirror>> | undefined;
  let mirror = '';
  let downPort = 0;
  const requests: string[] = [];

  /** A .tar.gz of `files` (path → content), as helm's release archives are laid out. */
  async function targz(files: Record<string, Buffer>): Promise<Buffer> {
    const pack = tar.pack();
    for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o755 }, content);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return gzipSync(Buffer.concat(chunks));
  }
  /** A test table: production's shape, a version of its own, the fixture archive's sha256. */
  const tool = (platform: Platform, name = 'helm', archive = () => GOOD): PinnedTool => ({
    name,
    version: 'v4.1.4-test',
    files: {
      [platform]: {
        url: `https://get.helm.invalid/${name}-v4.1.4-test-${platform}.tar.gz`,
        sha256: sha(archive()),
        member: `${platform}/helm`,
      },
    },
  });
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: join(dir, 'empty-bin'), // no helm on it
    DEVENV_CACHE_DIR: join(dir, 'cache'),
    DEVENV_TOOLS_MIRROR: mirror,
    ...extra,
  });
  const cacheFiles = () => filesUnder(join(dir, 'cache')).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-tools-helm-'));
    await mkdir(join(dir, 'empty-bin'));
    const p = here ?? 'linux-amd64';
    GOOD = await targz({ [`${p}/LICENSE`]: Buffer.from('license\n'), [`${p}/helm`]: BIN });
    NO_MEMBER = await targz({ [`${p}/README.md`]: Buffer.from('no binary\n') });
    server = await startMirror((req, res) => {
      requests.push(req.url ?? '');
      const name = (req.url ?? '').split('/').pop() ?? '';
      if (name.startsWith('helm-')) res.writeHead(200).end(GOOD);
      else if (name.startsWith('corrupt-')) {
        const bad = Buffer.from(GOOD);
        bad.writeUInt8(bad.readUInt8(bad.length - 5) ^ 1, bad.length - 5);
        res.writeHead(200).end(bad);
      } else if (name.startsWith('empty-')) res.writeHead(200).end(NO_MEMBER);
      else res.writeHead(404).end('not found');
    });
    mirror = `${server.url}/`;
    downPort = await closedPort();
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a good archive: verified, kept beside the binary extracted from it (0755); the cache re-extracts a tampered binary', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const t = tool('linux-amd64');
    const f = await fetchTool(t, 'linux-amd64', { env: env() });
    const path = join(dir, 'cache', 'tools', 'helm', 'v4.1.4-test', 'linux-amd64', 'helm');
    expect(f).toMatchObject({ sha256: sha(GOOD), path, bytes: GOOD.length });
    expect(await readFile(path)).toEqual(BIN);
    expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(cacheFiles()).toEqual(['helm', 'helm-v4.1.4-test-linux-amd64.tar.gz']);
    expect(await readFile(cachedArchivePath(t, 'linux-amd64', env()))).toEqual(GOOD);
    expect(await cachedTool(t, 'linux-amd64', env())).toBe(path);
    await writeFile(path, 'tampered');
    expect(await cachedTool(t, 'linux-amd64', env())).toBe(path);
    expect(await readFile(path)).toEqual(BIN);
    // A tampered archive is not trusted at all.
    await writeFile(cachedArchivePath(t, 'linux-amd64', env()), 'tampered');
    expect(await cachedTool(t, 'linux-amd64', env())).toBeUndefined();
  });

  it('a corrupted archive: sha256 mismatch, nothing cached; an archive without the binary: nothing cached', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const bad = await fetchTool(tool('linux-amd64', 'corrupt'), 'linux-amd64', { env: env() }).catch(
      (e) => e,
    );
    expect(bad).toBeInstanceOf(ToolFetchError);
    expect(bad.reason).toMatch(/^sha256 mismatch: the download is [0-9a-f]{64}, the pinned sha256 is /);
    const empty = await fetchTool(
      tool('linux-amd64', 'empty', () => NO_MEMBER),
      'linux-amd64',
      { env: env() },
    ).catch((e) => e);
    expect(empty).toBeInstanceOf(ToolFetchError);
    expect(empty.reason).toBe(
      'cannot extract linux-amd64/helm: linux-amd64/helm is not in empty-v4.1.4-test-linux-amd64.tar.gz',
    );
    expect(cacheFiles()).toEqual([]);
  });

  describe.skipIf(!here)('ensureHelm: the one place up provisions helm', () => {
    it('no helm on PATH: fetched, says from where and its checksum, then chosen from the cache (and runs)', async () => {
      await rm(join(dir, 'cache'), { recursive: true, force: true });
      const t = tool(here!);
      const e = env();
      expect(await chooseHelm(e, t)).toMatchObject({
        source: 'fetch',
        url: `${mirror}helm/v4.1.4-test/helm-v4.1.4-test-${here}.tar.gz`,
      });
      const events: ProgressEvent[] = [];
      const choice = await ensureHelm({ env: e, tool: t, onEvent: (ev) => events.push(ev) });
      const path = join(dir, 'cache', 'tools', 'helm', 'v4.1.4-test', here!, 'helm');
      expect(choice).toMatchObject({ source: 'cache', binary: path });
      expect(events.map((ev) => ev.type === 'step' && ev.phase)).toEqual(['start', 'done']);
      expect(events[1]).toMatchObject({
        id: 'tool:helm',
        detail: `fetched helm v4.1.4-test (${here}) from ${mirror}helm/v4.1.4-test/helm-v4.1.4-test-${here}.tar.gz, sha256 ${sha(GOOD)} verified, into ${path}`,
      });
      const { stdout } = await promisify(execFile)(path, []);
      expect(stdout).toBe('v4.1.4-test\n');
      const before = requests.length;
      expect(await ensureHelm({ env: { ...e, XDG_CACHE_HOME: 'another-key' }, tool: t })).toMatchObject({
        source: 'cache',
      });
      expect(requests.length).toBe(before);
    });

    it('server down: ONE error with the manual remedy, nothing cached', async () => {
      await rm(join(dir, 'cache'), { recursive: true, force: true });
      const down = await ensureHelm({
        env: env({ DEVENV_TOOLS_MIRROR: `http://127.0.0.1:${downPort}` }),
        tool: tool(here!),
      }).catch((e) => e);
      expect(down).toBeInstanceOf(DevenvError);
      expect(down.message).toContain(
        `helm not found on PATH, and devenv could not fetch its pinned helm v4.1.4-test from http://127.0.0.1:${downPort}/helm/v4.1.4-test/helm-v4.1.4-test-${here}.tar.gz: cannot reach it: ECONNREFUSED. To fix: install helm >= ${MIN_HELM} by hand`,
      );
      expect(down.message).toContain('or, offline, copy that archive');
      expect(cacheFiles()).toEqual([]);
    });
  });
});

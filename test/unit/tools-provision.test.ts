/**
 * devenv's pinned tools (src/tools/) and the k3d choice (src/cluster/k3d-binary.ts):
 *  - the production table: every platform, a sha256 of the right shape, the release URL;
 *  - download + verify + cache through the REAL code, against a local HTTP server (node:http)
 *    serving release files under the DEVENV_TOOLS_MIRROR layout: a good one, a corrupted
 *    one, a missing one (404), and the server down. Only the host is local. The "good"
 *    file's entry is injected into a test table (its sha256 is the fixture's own), so the
 *    pinned production values are never computed here;
 *  - the decision (pure) and `ensureK3d` end to end: what it says it fetched, from where,
 *    with which checksum; on failure one error with the manual remedy and an empty cache.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseK3d, decideK3d, ensureK3d, type K3dFacts } from '../../src/cluster/k3d-binary.ts';
import { MIN_K3D, versionAtLeast } from '../../src/doctor/checks.ts';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import {
  currentPlatform,
  downloadUrl,
  K3D,
  PINNED_TOOLS,
  type PinnedTool,
  PLATFORMS,
  type Platform,
} from '../../src/tools/pinned.ts';
import {
  cachedTool,
  cachedToolPath,
  cacheRoot,
  fetchTool,
  ToolFetchError,
} from '../../src/tools/provision.ts';
import { closedPort, filesUnder, startMirror } from '../support/tool-mirror.ts';

const here = currentPlatform();

describe('the pinned table', () => {
  it('k3d: every platform (linux, darwin; amd64, arm64), a hex sha256 each, the k3d release URL, a version >= MIN_K3D', () => {
    expect(PINNED_TOOLS.k3d).toBe(K3D);
    expect(versionAtLeast(K3D.version, MIN_K3D)).toBe(true);
    expect(Object.keys(K3D.files).sort()).toEqual([...PLATFORMS].sort());
    for (const p of PLATFORMS) {
      const f = K3D.files[p]!;
      expect(f.sha256, p).toMatch(/^[0-9a-f]{64}$/);
      expect(f.url, p).toBe(`https://github.com/k3d-io/k3d/releases/download/${K3D.version}/k3d-${p}`);
    }
    // Four different binaries: four different checksums (a copy-paste slip would repeat one).
    expect(new Set(PLATFORMS.map((p) => K3D.files[p]!.sha256)).size).toBe(PLATFORMS.length);
    for (const [name, tool] of Object.entries(PINNED_TOOLS)) {
      expect(tool.name).toBe(name);
      for (const f of Object.values(tool.files)) {
        expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(f.url).toMatch(/^https:\/\//);
      }
    }
  });

  it('platforms and download URLs (DEVENV_TOOLS_MIRROR: <mirror>/<name>/<version>/<file>)', () => {
    expect(currentPlatform('linux', 'x64')).toBe('linux-amd64');
    expect(currentPlatform('darwin', 'arm64')).toBe('darwin-arm64');
    expect(currentPlatform('win32', 'x64')).toBeUndefined();
    expect(currentPlatform('linux', 'riscv64')).toBeUndefined();
    const f = K3D.files['linux-arm64']!;
    expect(downloadUrl(K3D, f, {})).toBe(f.url);
    expect(downloadUrl(K3D, f, { DEVENV_TOOLS_MIRROR: 'http://mirror.local/tools/' })).toBe(
      'http://mirror.local/tools/k3d/v5.8.3/k3d-linux-arm64',
    );
  });

  it('the cache: DEVENV_CACHE_DIR, else $XDG_CACHE_HOME/devenv, else ~/Library/Caches/devenv (macOS) or ~/.cache/devenv', () => {
    expect(cacheRoot({ DEVENV_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(cacheRoot({ XDG_CACHE_HOME: '/x' }, 'darwin')).toBe('/x/devenv');
    expect(cacheRoot({}, 'darwin')).toMatch(/\/Library\/Caches\/devenv$/);
    expect(cacheRoot({}, 'linux')).toMatch(/\/\.cache\/devenv$/);
    expect(cachedToolPath(K3D, 'darwin-arm64', { DEVENV_CACHE_DIR: '/c' })).toBe(
      '/c/tools/k3d/v5.8.3/darwin-arm64/k3d',
    );
  });
});

describe('which k3d (decideK3d, pure)', () => {
  const base: K3dFacts = {
    tool: K3D,
    platform: 'linux-amd64',
    platformName: 'linux-x64',
    url: K3D.files['linux-amd64']!.url,
    cachePath: '/c/tools/k3d/v5.8.3/linux-amd64/k3d',
  };
  it('DEVENV_K3D first, then a k3d >= MIN_K3D on PATH, then the verified cache, then "up fetches"', () => {
    expect(decideK3d({ ...base, devenvK3d: '/opt/k3d', onPath: { version: '5.8.0' } })).toMatchObject({
      source: 'DEVENV_K3D',
      binary: '/opt/k3d',
    });
    expect(decideK3d({ ...base, onPath: { version: '5.7.0' } })).toMatchObject({
      source: 'PATH',
      binary: 'k3d',
    });
    expect(decideK3d({ ...base, onPath: {} })).toMatchObject({ source: 'PATH' }); // the user's, version unread
    const old = decideK3d({ ...base, onPath: { version: '5.4.0' }, cached: base.cachePath! });
    expect(old).toMatchObject({ source: 'cache', binary: base.cachePath, version: '5.8.3' });
    expect(old.why).toContain(`k3d 5.4.0 on PATH is older than ${MIN_K3D}`);
    const fetch = decideK3d(base);
    expect(fetch).toMatchObject({
      source: 'fetch',
      binary: 'k3d',
      url: base.url,
      sha256: K3D.files['linux-amd64']!.sha256,
    });
    expect(fetch.why).toContain('k3d not found on PATH; `devenv up` fetches');
  });
  it('no pinned checksum for this platform: install by hand', () => {
    const none = decideK3d({ tool: K3D, platformName: 'freebsd-x64' });
    expect(none.source).toBe('none');
    expect(none.why).toContain(
      `no pinned checksum for k3d on freebsd-x64; install k3d >= ${MIN_K3D} by hand: https://k3d.io`,
    );
    const partial: PinnedTool = { ...K3D, files: { 'linux-amd64': K3D.files['linux-amd64']! } };
    expect(
      decideK3d({ tool: partial, platform: 'darwin-arm64', platformName: 'darwin-arm64' }).why,
    ).toContain('no pinned checksum for k3d on darwin-arm64');
  });
});

describe('fetch + verify + cache against a local HTTP server', () => {
  // A runnable stand-in for a release file (its sha256 is the fixture's, injected below).
  const GOOD = Buffer.from(
    '#!/bin/sh\necho "k3d version v5.8.3"\necho "k3s version v1.31.5-k3s1 (default)"\n',
  );
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  // The size of a k3d release binary (~25 MB), for the time a real fetch + verify takes.
  const BIG = randomBytes(25 * 1024 * 1024);
  let dir = '';
  let server: Awaited<ReturnType<typeof startMirror>> | undefined;
  let mirror = '';
  let downPort = 0;
  const requests: string[] = [];
  /** A test table: the same shape as production, a version of its own, this fixture's sha256. */
  const tool = (platform: Platform, name = 'k3d'): PinnedTool => ({
    name,
    version: 'v5.8.3-test',
    files: { [platform]: { url: `https://github.invalid/${name}-${platform}`, sha256: sha(GOOD) } },
  });
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: join(dir, 'empty-bin'), // no k3d on it
    DEVENV_CACHE_DIR: join(dir, 'cache'),
    DEVENV_TOOLS_MIRROR: mirror,
    ...extra,
  });
  const cacheFiles = () => filesUnder(join(dir, 'cache'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-tools-'));
    server = await startMirror((req, res) => {
      requests.push(req.url ?? '');
      const name = (req.url ?? '').split('/').pop() ?? '';
      if (name.startsWith('k3d-') || name.startsWith('good-')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(GOOD);
      } else if (name.startsWith('corrupt-')) {
        const bad = Buffer.from(GOOD);
        bad.writeUInt8(bad.readUInt8(bad.length - 2) ^ 1, bad.length - 2); // one bit off
        res.writeHead(200).end(bad);
      } else if (name.startsWith('big-')) {
        res.writeHead(200).end(BIG);
      } else res.writeHead(404).end('not found');
    });
    mirror = `${server.url}/`;
    downPort = await closedPort(); // a port nothing listens on
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a good file: fetched from the mirror, sha256 verified, cached 0755, then used from the cache', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const t = tool('linux-amd64', 'good');
    const t0 = performance.now();
    const f = await fetchTool(t, 'linux-amd64', { env: env() });
    const ms = performance.now() - t0;
    console.log(`fetch + verify + cache from the local server: ${ms.toFixed(1)} ms (${f.bytes} bytes)`);
    expect(f).toMatchObject({
      url: `${mirror}good/v5.8.3-test/good-linux-amd64`,
      sha256: sha(GOOD),
      path: join(dir, 'cache', 'tools', 'good', 'v5.8.3-test', 'linux-amd64', 'good'),
      bytes: GOOD.length,
    });
    expect(await readFile(f.path)).toEqual(GOOD);
    expect(statSync(f.path).mode & 0o777).toBe(0o755);
    expect(cacheFiles()).toEqual(['good']); // no temporary file left
    expect(await cachedTool(t, 'linux-amd64', env())).toBe(f.path);
    // A cached file that is not the pinned one is not used.
    await writeFile(f.path, 'tampered');
    expect(await cachedTool(t, 'linux-amd64', env())).toBeUndefined();
  });

  it('a file the size of a k3d release (25 MiB): fetch + verify + cache time', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const t: PinnedTool = {
      name: 'big',
      version: 'v1',
      files: { 'linux-arm64': { url: 'https://github.invalid/big-linux-arm64', sha256: sha(BIG) } },
    };
    const t0 = performance.now();
    const f = await fetchTool(t, 'linux-arm64', { env: env() });
    const ms = performance.now() - t0;
    console.log(`fetch + verify + cache of ${f.bytes} bytes from the local server: ${ms.toFixed(0)} ms`);
    expect(f.bytes).toBe(BIG.length);
    expect(await cachedTool(t, 'linux-arm64', env())).toBe(f.path);
    expect(ms).toBeLessThan(10_000);
  });

  it('a corrupted file: "sha256 mismatch" naming both checksums, nothing cached', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const err = await fetchTool(tool('linux-amd64', 'corrupt'), 'linux-amd64', { env: env() }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ToolFetchError);
    expect(err.reason).toMatch(
      new RegExp(
        `^sha256 mismatch: the download is [0-9a-f]{64}, the pinned sha256 is ${sha(GOOD)}; the file was discarded$`,
      ),
    );
    expect(cacheFiles()).toEqual([]);
  });

  it('a missing file (404) and a server that is down: the reason and the URL, nothing cached', async () => {
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    const missing = await fetchTool(tool('linux-amd64', 'missing'), 'linux-amd64', { env: env() }).catch(
      (e) => e,
    );
    expect(missing).toMatchObject({
      reason: 'HTTP 404 Not Found',
      url: `${mirror}missing/v5.8.3-test/missing-linux-amd64`,
    });
    const down = await fetchTool(tool('linux-amd64'), 'linux-amd64', {
      env: env({ DEVENV_TOOLS_MIRROR: `http://127.0.0.1:${downPort}` }),
    }).catch((e) => e);
    expect(down).toBeInstanceOf(ToolFetchError);
    expect(down.reason).toBe('cannot reach it: ECONNREFUSED');
    expect(cacheFiles()).toEqual([]);
  });

  describe.skipIf(!here)('ensureK3d: the one place up provisions k3d', () => {
    it('no k3d on PATH: fetched, says from where and its checksum, then chosen from the cache (and runs)', async () => {
      await rm(join(dir, 'cache'), { recursive: true, force: true });
      const t = tool(here!);
      const e = env();
      expect(await chooseK3d(e, t)).toMatchObject({
        source: 'fetch',
        url: `${mirror}k3d/v5.8.3-test/k3d-${here}`,
      });
      const events: ProgressEvent[] = [];
      const choice = await ensureK3d({ env: e, tool: t, onEvent: (ev) => events.push(ev) });
      const path = join(dir, 'cache', 'tools', 'k3d', 'v5.8.3-test', here!, 'k3d');
      expect(choice).toMatchObject({ source: 'cache', binary: path });
      expect(events.map((ev) => ev.type === 'step' && ev.phase)).toEqual(['start', 'done']);
      expect(events[1]).toMatchObject({
        id: 'tool:k3d',
        detail: `fetched k3d v5.8.3-test (${here}) from ${mirror}k3d/v5.8.3-test/k3d-${here}, sha256 ${sha(GOOD)} verified, into ${path}`,
      });
      expect(await chooseK3d(e, t)).toMatchObject({ source: 'cache', binary: path });
      const { stdout } = await promisify(execFile)(path, ['version']);
      expect(stdout).toContain('k3d version v5.8.3');
      // A second run (a new process: same facts) uses the cache, no request.
      const before = requests.length;
      expect(await ensureK3d({ env: { ...e, XDG_CACHE_HOME: 'another-key' }, tool: t })).toMatchObject({
        source: 'cache',
      });
      expect(requests.length).toBe(before);
    });

    it('server down or a corrupted file: ONE error with the manual remedy, nothing cached', async () => {
      await rm(join(dir, 'cache'), { recursive: true, force: true });
      const down = await ensureK3d({
        env: env({ DEVENV_TOOLS_MIRROR: `http://127.0.0.1:${downPort}` }),
        tool: tool(here!),
      }).catch((e) => e);
      expect(down).toBeInstanceOf(DevenvError);
      expect(down.message).toContain(
        `k3d not found on PATH, and devenv could not fetch its pinned k3d v5.8.3-test from http://127.0.0.1:${downPort}/k3d/v5.8.3-test/k3d-${here}: cannot reach it: ECONNREFUSED. To fix: install k3d >= ${MIN_K3D} by hand`,
      );
      expect(down.message).toContain(`copy that file (sha256 ${sha(GOOD)}) to ${join(dir, 'cache')}`);
      expect(down.message).toContain('DEVENV_TOOLS_MIRROR');
      const corrupt: PinnedTool = {
        ...tool(here!),
        files: { [here!]: { url: `https://github.invalid/corrupt-${here}`, sha256: sha(GOOD) } },
      };
      const bad = await ensureK3d({ env: env(), tool: corrupt }).catch((e) => e);
      expect(bad.message).toContain('sha256 mismatch');
      expect(bad.message).toContain('install k3d >= ');
      expect(cacheFiles()).toEqual([]);
    });
  });
});

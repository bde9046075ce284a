/**
 * Download, verify and cache a pinned tool (pinned.ts). The contract:
 *  - a file is used only when its sha256 equals the pinned one: a download is hashed while
 *    it streams to a temporary file beside its place in the cache, and renamed into place
 *    (mode 0755) only after the hash matched; on a mismatch, an HTTP error or a network
 *    error the temporary file is removed and nothing is left in the cache;
 *  - the cache is the user's cache dir, never the checkout: `$DEVENV_CACHE_DIR`, else
 *    `$XDG_CACHE_HOME/devenv`, else `~/Library/Caches/devenv` on macOS and
 *    `~/.cache/devenv` elsewhere; a tool lives at `tools/<name>/<version>/<platform>/<name>`;
 *  - a cached file is checked again (sha256) before it is used, so a file a user placed
 *    there by hand (the offline remedy) is trusted only when it is the pinned one;
 *  - a release archive (a pinned file with `member`, e.g. helm's .tar.gz) is verified and
 *    cached as it was downloaded, beside the tool; the tool is (re)extracted from the
 *    verified archive (node:zlib + tar-stream) each time it is taken from the cache, so the
 *    tool that runs always comes from an archive whose sha256 is the pinned one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { downloadUrl, type PinnedTool, type Platform } from './pinned.ts';

export function cacheRoot(
  env: NodeJS.ProcessEnv = process.env,
  os: NodeJS.Platform = process.platform,
): string {
  if (env.DEVENV_CACHE_DIR) return env.DEVENV_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'devenv');
  if (os === 'darwin') return join(homedir(), 'Library', 'Caches', 'devenv');
  return join(homedir(), '.cache', 'devenv');
}

/** Where the pinned tool for `platform` lives once fetched and verified. */
export function cachedToolPath(
  tool: PinnedTool,
  platform: Platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return join(cacheRoot(env), 'tools', tool.name, tool.version, platform, tool.name);
}

/** Where a pinned archive is kept once verified (beside the tool extracted from it). */
export function cachedArchivePath(
  tool: PinnedTool,
  platform: Platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const file = tool.files[platform];
  return join(dirname(cachedToolPath(tool, platform, env)), basename(file?.url ?? `${tool.name}.tar.gz`));
}

/**
 * Extracts `member` of a .tar.gz into `dest` (mode 0755) through a temporary file renamed
 * into place; throws when the archive has no such regular file.
 */
export async function extractMember(archive: string, member: string, dest: string): Promise<void> {
  const part = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  const want = member.replace(/^\.\//, '');
  let found = false;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    if (!found && header.type === 'file' && header.name.replace(/^\.\//, '') === want) {
      found = true;
      pipeline(stream, createWriteStream(part, { mode: 0o600 })).then(() => next(), next);
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  try {
    await pipeline(createReadStream(archive), createGunzip(), extract);
    if (!found) throw new Error(`${member} is not in ${basename(archive)}`);
    await chmod(part, 0o755);
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** The cached tool's path when it is there AND its sha256 is the pinned one; else undefined. */
export async function cachedTool(
  tool: PinnedTool,
  platform: Platform,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const file = tool.files[platform];
  if (!file) return undefined;
  const path = cachedToolPath(tool, platform, env);
  if (file.member) {
    const archive = cachedArchivePath(tool, platform, env);
    try {
      if (!(await stat(archive)).isFile() || (await sha256File(archive)) !== file.sha256) return undefined;
      await extractMember(archive, file.member, path);
      return path;
    } catch {
      return undefined;
    }
  }
  try {
    if (!(await stat(path)).isFile()) return undefined;
    return (await sha256File(path)) === file.sha256 ? path : undefined;
  } catch {
    return undefined;
  }
}

export interface Fetched {
  tool: string;
  version: string;
  platform: Platform;
  url: string;
  sha256: string;
  path: string;
  bytes: number;
  ms: number;
}

/** Why a fetch failed, in a few words a user can act on (the caller adds the remedy). */
export class ToolFetchError extends Error {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string) {
    super(`${reason} (${url})`);
    this.name = 'ToolFetchError';
    this.url = url;
    this.reason = reason;
  }
}

/** Downloads the pinned file for `platform`, verifies its sha256 and caches it. */
export async function fetchTool(
  tool: PinnedTool,
  platform: Platform,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Fetched> {
  const env = opts.env ?? process.env;
  const file = tool.files[platform];
  if (!file) throw new ToolFetchError('', `no pinned checksum for ${tool.name} on ${platform}`);
  const url = downloadUrl(tool, file, env);
  const dest = cachedToolPath(tool, platform, env);
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs ?? 300_000) });
  } catch (err) {
    throw new ToolFetchError(url, `cannot reach it: ${networkReason(err)}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new ToolFetchError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  }
  await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
  const part = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        tap,
        createWriteStream(part, { mode: 0o600 }),
      );
    } catch (err) {
      throw new ToolFetchError(url, `download interrupted: ${networkReason(err)}`);
    }
    const got = hash.digest('hex');
    if (got !== file.sha256) {
      throw new ToolFetchError(
        url,
        `sha256 mismatch: the download is ${got}, the pinned sha256 is ${file.sha256}; the file was discarded`,
      );
    }
    if (file.member) {
      // The verified archive is kept (the cache's proof); the tool comes out of it.
      const archive = cachedArchivePath(tool, platform, env);
      await rename(part, archive);
      try {
        await extractMember(archive, file.member, dest);
      } catch (err) {
        await rm(archive, { force: true });
        throw new ToolFetchError(url, `cannot extract ${file.member}: ${(err as Error).message}`);
      }
    } else {
      await chmod(part, 0o755);
      await rename(part, dest);
    }
  } finally {
    await rm(part, { force: true });
  }
  return {
    tool: tool.name,
    version: tool.version,
    platform,
    url,
    sha256: file.sha256,
    path: dest,
    bytes,
    ms: Math.round(performance.now() - t0),
  };
}

function networkReason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  const code = e.cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${code}: the host is unknown (offline?)`;
  if (code) return code;
  return e.cause?.message ?? e.message ?? String(err);
}

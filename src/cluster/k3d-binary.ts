/**
 * Which k3d binary devenv runs. The ONE place that decides it, so `up`, `down`, `destroy`,
 * `status` and `doctor` all run (and check) the same binary:
 *  1. `$DEVENV_K3D` (a path, or a name looked up on PATH) when set: used as it is;
 *  2. else `k3d` from PATH when its version is >= MIN_K3D;
 *  3. else devenv's own pinned k3d (tools/pinned.ts) from the user's cache dir, used only
 *     when its sha256 is the pinned one;
 *  4. else, when a checksum is pinned for this platform, `up` fetches it (ensureK3d, in
 *     pre-flight: before anything is created) and says from where, with its checksum;
 *     no other command downloads anything;
 *  5. else (another platform): "no pinned checksum", install k3d by hand.
 * `decideK3d` is that decision, pure; `chooseK3d` gathers its facts (runs `k3d version`
 * from PATH, hashes the cached file) once per process and environment.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MIN_K3D, versionAtLeast } from '../doctor/checks.ts';
import type { EventSink } from '../engine/events.ts';
import { DevenvError } from '../errors.ts';
import { currentPlatform, downloadUrl, K3D, type PinnedTool, type Platform } from '../tools/pinned.ts';
import { cachedTool, cachedToolPath, fetchTool, ToolFetchError } from '../tools/provision.ts';

const run = promisify(execFile);

export type K3dSource = 'DEVENV_K3D' | 'PATH' | 'cache' | 'fetch' | 'none';

export interface K3dChoice {
  source: K3dSource;
  /** What to run ("k3d" when nothing is installed yet: running it reports k3dNotFound). */
  binary: string;
  /** The version when known (PATH's, or the pinned one for cache / fetch). */
  version?: string;
  /** One line: which k3d and why that one. */
  why: string;
  /** cache / fetch: the pinned file, where it comes from and where it goes. */
  url?: string;
  sha256?: string;
  cachePath?: string;
  platform?: string;
  /** cache / fetch / none: why PATH's k3d is not used ("k3d not found on PATH", too old). */
  missing?: string;
}

export interface K3dFacts {
  devenvK3d?: string;
  /** k3d on PATH: undefined when absent; version undefined when it did not say one. */
  onPath?: { version?: string };
  platform?: Platform;
  /** The name of this platform even when it is not a release platform (for messages). */
  platformName: string;
  tool: PinnedTool;
  /** The cached file, already verified against the pin. */
  cached?: string;
  url?: string;
  cachePath?: string;
}

export const K3D_MANUAL_INSTALL = `install k3d >= ${MIN_K3D} by hand: https://k3d.io/#installation (or "brew install k3d"), then put it on PATH or set DEVENV_K3D to its path`;

/** The decision, pure (see the file comment for the order). */
export function decideK3d(f: K3dFacts): K3dChoice {
  if (f.devenvK3d) return { source: 'DEVENV_K3D', binary: f.devenvK3d, why: 'DEVENV_K3D is set' };
  if (f.onPath && (f.onPath.version === undefined || versionAtLeast(f.onPath.version, MIN_K3D))) {
    return {
      source: 'PATH',
      binary: 'k3d',
      ...(f.onPath.version ? { version: f.onPath.version } : {}),
      why: `k3d ${f.onPath.version ?? '(version unknown)'} on PATH`,
    };
  }
  const lack = f.onPath
    ? `k3d ${f.onPath.version} on PATH is older than ${MIN_K3D}`
    : 'k3d not found on PATH';
  const file = f.platform ? f.tool.files[f.platform] : undefined;
  if (!file || !f.platform) {
    return {
      source: 'none',
      binary: 'k3d',
      missing: lack,
      platform: f.platformName,
      why: `${lack}, and no pinned checksum for k3d on ${f.platformName}; ${K3D_MANUAL_INSTALL}`,
    };
  }
  const pinned = {
    missing: lack,
    version: f.tool.version.replace(/^v/, ''),
    sha256: file.sha256,
    platform: f.platform,
  };
  if (f.cached) {
    return {
      source: 'cache',
      binary: f.cached,
      ...pinned,
      cachePath: f.cached,
      why: `${lack}; devenv's pinned k3d ${f.tool.version} from its cache (${f.cached}, sha256 ${file.sha256} verified)`,
    };
  }
  return {
    source: 'fetch',
    binary: 'k3d',
    ...pinned,
    ...(f.url ? { url: f.url } : {}),
    ...(f.cachePath ? { cachePath: f.cachePath } : {}),
    why: `${lack}; \`devenv up\` fetches devenv's pinned k3d ${f.tool.version} from ${f.url} (sha256 ${file.sha256}) into ${f.cachePath}`,
  };
}

const memo = new Map<string, Promise<K3dChoice>>();

function memoKey(env: NodeJS.ProcessEnv, tool: PinnedTool): string {
  return JSON.stringify([
    env.DEVENV_K3D,
    env.PATH,
    env.DEVENV_CACHE_DIR,
    env.XDG_CACHE_HOME,
    env.DEVENV_TOOLS_MIRROR,
    tool,
  ]);
}

/** The k3d devenv runs, and why (doctor prints `why`). Never downloads. */
export function chooseK3d(env: NodeJS.ProcessEnv = process.env, tool: PinnedTool = K3D): Promise<K3dChoice> {
  const key = memoKey(env, tool);
  let p = memo.get(key);
  if (!p) {
    p = gatherFacts(env, tool).then(decideK3d);
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

async function gatherFacts(env: NodeJS.ProcessEnv, tool: PinnedTool): Promise<K3dFacts> {
  const platform = currentPlatform();
  const facts: K3dFacts = {
    tool,
    platformName: `${process.platform}-${process.arch}`,
    ...(platform ? { platform } : {}),
  };
  if (env.DEVENV_K3D) return { ...facts, devenvK3d: env.DEVENV_K3D };
  const onPath = await pathK3d(env);
  if (onPath) facts.onPath = onPath;
  if (onPath && (onPath.version === undefined || versionAtLeast(onPath.version, MIN_K3D))) return facts;
  const file = platform ? tool.files[platform] : undefined;
  if (!platform || !file) return facts;
  const cached = await cachedTool(tool, platform, env);
  return {
    ...facts,
    ...(cached ? { cached } : {}),
    url: downloadUrl(tool, file, env),
    cachePath: cachedToolPath(tool, platform, env),
  };
}

async function pathK3d(env: NodeJS.ProcessEnv): Promise<{ version?: string } | undefined> {
  try {
    const { stdout } = await run('k3d', ['version'], { env, timeout: 10_000 });
    const version = /k3d version v?([\d.]+)/.exec(stdout)?.[1];
    return version ? { version } : {};
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES') return undefined;
    const version = /k3d version v?([\d.]+)/.exec(e.stdout ?? '')?.[1];
    return version ? { version } : {};
  }
}

/** The binary to run for a k3d command (status, down, destroy, up, doctor). */
export async function k3dBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await chooseK3d(env)).binary;
}

/**
 * `up`'s pre-flight: the k3d to run, fetched (pinned, verified, cached) when none is
 * installed. Says what it fetched, from where and its checksum through a "tool:k3d" step.
 * Offline, on an HTTP error or a checksum mismatch: ONE DevenvError with the manual
 * remedy, and nothing was created (not even a file in the cache).
 */
export async function ensureK3d(
  opts: { env?: NodeJS.ProcessEnv; tool?: PinnedTool; onEvent?: EventSink; timeoutMs?: number } = {},
): Promise<K3dChoice> {
  const env = opts.env ?? process.env;
  const tool = opts.tool ?? K3D;
  const emit = opts.onEvent ?? (() => {});
  const choice = await chooseK3d(env, tool);
  if (choice.source === 'none') throw new DevenvError(choice.why);
  if (choice.source !== 'fetch') return choice;
  const platform = choice.platform as Platform;
  const detail = `fetching k3d ${tool.version} (${platform}) from ${choice.url}`;
  emit({ type: 'step', id: 'tool:k3d', phase: 'start', detail });
  const t0 = performance.now();
  try {
    const f = await fetchTool(tool, platform, {
      env,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    emit({
      type: 'step',
      id: 'tool:k3d',
      phase: 'done',
      detail: `fetched k3d ${f.version} (${f.platform}) from ${f.url}, sha256 ${f.sha256} verified, into ${f.path}`,
      ms: f.ms,
    });
    const cached: K3dChoice = {
      ...choice,
      source: 'cache',
      binary: f.path,
      why: `devenv's pinned k3d ${f.version}, fetched from ${f.url} (sha256 ${f.sha256} verified) into ${f.path}`,
    };
    memo.set(memoKey(env, tool), Promise.resolve(cached));
    return cached;
  } catch (err) {
    const reason = err instanceof ToolFetchError ? err.reason : (err as Error).message;
    emit({
      type: 'step',
      id: 'tool:k3d',
      phase: 'fail',
      detail,
      ms: Math.round(performance.now() - t0),
      error: reason,
    });
    throw new DevenvError(
      `${choice.missing}, and devenv could not fetch its pinned k3d ${tool.version} from ${choice.url}: ${reason}. To fix: ${K3D_MANUAL_INSTALL}; or, offline, copy that file (sha256 ${choice.sha256}) to ${choice.cachePath}; or set DEVENV_TOOLS_MIRROR to a mirror serving <mirror>/k3d/${tool.version}/${choice.url?.slice(choice.url.lastIndexOf('/') + 1)}.`,
      { cause: err },
    );
  }
}

/** What a user is told when the chosen binary cannot be run (ENOENT), without the install hint. */
export function k3dNotFound(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEVENV_K3D)
    return `k3d not found at DEVENV_K3D=${env.DEVENV_K3D} (unset DEVENV_K3D to use k3d from PATH)`;
  const platform = currentPlatform();
  if (!platform || !K3D.files[platform])
    return `k3d not found on PATH; no pinned checksum for k3d on ${platform ?? `${process.platform}-${process.arch}`}`;
  return `k3d not found on PATH (nor devenv's pinned k3d ${K3D.version} in its cache: \`devenv up\` fetches it)`;
}

/**
 * Which helm binary renders the project's charts. The ONE place that decides it (the same
 * order as k3d, cluster/k3d-binary.ts), so `up`, `prerelease up`, `status`, `reload` and
 * `doctor` all run (and check) the same helm:
 *  1. `$DEVENV_HELM` (a path, or a name looked up on PATH) when set: used as it is;
 *  2. else `helm` from PATH when its version is >= MIN_HELM (or does not say one);
 *  3. else devenv's own pinned helm (tools/pinned.ts: the release archive, verified by its
 *     published sha256, the binary extracted from it) from the user's cache dir;
 *  4. else, when a checksum is pinned for this platform, `up` and `prerelease up` fetch it
 *     when a service's manifests are a chart (ensureHelm: before anything is created) and
 *     say from where, with its checksum; no other command downloads anything;
 *  5. else (another platform): install helm by hand.
 * `decideHelm` is that decision, pure; `chooseHelm` gathers its facts once per process and
 * environment.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EventSink } from '../engine/events.ts';
import { DevenvError } from '../errors.ts';
import { MIN_HELM } from '../manifests/helm.ts';
import { currentPlatform, downloadUrl, HELM, type PinnedTool, type Platform } from './pinned.ts';
import { cachedArchivePath, cachedTool, cachedToolPath, fetchTool, ToolFetchError } from './provision.ts';

const run = promisify(execFile);

export type HelmSource = 'DEVENV_HELM' | 'PATH' | 'cache' | 'fetch' | 'none';

export interface HelmChoice {
  source: HelmSource;
  /** What to run ("helm" when nothing is installed yet: running it reports ENOENT). */
  binary: string;
  version?: string;
  /** One line: which helm and why that one. */
  why: string;
  url?: string;
  sha256?: string;
  cachePath?: string;
  platform?: string;
  /** cache / fetch / none: why PATH's helm is not used. */
  missing?: string;
}

export interface HelmFacts {
  devenvHelm?: string;
  /** helm on PATH: undefined when absent; version undefined when it did not say one. */
  onPath?: { version?: string };
  platform?: Platform;
  platformName: string;
  tool: PinnedTool;
  /** The cached binary, extracted from an archive verified against the pin. */
  cached?: string;
  url?: string;
  cachePath?: string;
}

export const HELM_MANUAL_INSTALL = `install helm >= ${MIN_HELM} by hand: https://helm.sh/docs/intro/install/ (or "brew install helm"), then put it on PATH or set DEVENV_HELM to its path`;

function atLeast(version: string, min: string): boolean {
  const a = version
    .replace(/^v/, '')
    .split(/[.+-]/)
    .map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** The decision, pure (see the file comment for the order). */
export function decideHelm(f: HelmFacts): HelmChoice {
  if (f.devenvHelm) return { source: 'DEVENV_HELM', binary: f.devenvHelm, why: 'DEVENV_HELM is set' };
  if (f.onPath && (f.onPath.version === undefined || atLeast(f.onPath.version, MIN_HELM))) {
    return {
      source: 'PATH',
      binary: 'helm',
      ...(f.onPath.version ? { version: f.onPath.version } : {}),
      why: `helm ${f.onPath.version ?? '(version unknown)'} on PATH`,
    };
  }
  const lack = f.onPath
    ? `helm ${f.onPath.version} on PATH is older than ${MIN_HELM}`
    : 'helm not found on PATH';
  const file = f.platform ? f.tool.files[f.platform] : undefined;
  if (!file || !f.platform) {
    return {
      source: 'none',
      binary: 'helm',
      missing: lack,
      platform: f.platformName,
      why: `${lack}, and no pinned checksum for helm on ${f.platformName}; ${HELM_MANUAL_INSTALL}`,
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
      why: `${lack}; devenv's pinned helm ${f.tool.version} from its cache (${f.cached}, extracted from the archive whose sha256 ${file.sha256} was verified)`,
    };
  }
  return {
    source: 'fetch',
    binary: 'helm',
    ...pinned,
    ...(f.url ? { url: f.url } : {}),
    ...(f.cachePath ? { cachePath: f.cachePath } : {}),
    why: `${lack}; \`devenv up\` fetches devenv's pinned helm ${f.tool.version} from ${f.url} (sha256 ${file.sha256}) into ${f.cachePath}`,
  };
}

const memo = new Map<string, Promise<HelmChoice>>();

function memoKey(env: NodeJS.ProcessEnv, tool: PinnedTool): string {
  return JSON.stringify([
    env.DEVENV_HELM,
    env.PATH,
    env.DEVENV_CACHE_DIR,
    env.XDG_CACHE_HOME,
    env.DEVENV_TOOLS_MIRROR,
    tool,
  ]);
}

/** The helm devenv runs, and why (doctor prints `why`). Never downloads. */
export function chooseHelm(
  env: NodeJS.ProcessEnv = process.env,
  tool: PinnedTool = HELM,
): Promise<HelmChoice> {
  const key = memoKey(env, tool);
  let p = memo.get(key);
  if (!p) {
    p = gatherFacts(env, tool).then(decideHelm);
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

async function gatherFacts(env: NodeJS.ProcessEnv, tool: PinnedTool): Promise<HelmFacts> {
  const platform = currentPlatform();
  const facts: HelmFacts = {
    tool,
    platformName: `${process.platform}-${process.arch}`,
    ...(platform ? { platform } : {}),
  };
  const set = env.DEVENV_HELM?.trim();
  if (set) return { ...facts, devenvHelm: set };
  const onPath = await pathHelm(env);
  if (onPath) facts.onPath = onPath;
  if (onPath && (onPath.version === undefined || atLeast(onPath.version, MIN_HELM))) return facts;
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

const VERSION_RE = /v?(\d+\.\d+\.\d+)/;

async function pathHelm(env: NodeJS.ProcessEnv): Promise<{ version?: string } | undefined> {
  try {
    const { stdout } = await run('helm', ['version', '--template', '{{.Version}}'], { env, timeout: 10_000 });
    const version = VERSION_RE.exec(stdout)?.[1];
    return version ? { version } : {};
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES') return undefined;
    const version = VERSION_RE.exec(e.stdout ?? '')?.[1];
    return version ? { version } : {};
  }
}

/**
 * `up`'s (and `prerelease up`'s) helm, when a service's manifests are a chart: fetched
 * (pinned archive, verified, the binary extracted, cached) when none is installed. Says
 * what it fetched, from where and its checksum through a "tool:helm" step. Offline, on an
 * HTTP error or a checksum mismatch: ONE DevenvError with the manual remedy, and nothing
 * was created (not even a file in the cache).
 */
export async function ensureHelm(
  opts: { env?: NodeJS.ProcessEnv; tool?: PinnedTool; onEvent?: EventSink; timeoutMs?: number } = {},
): Promise<HelmChoice> {
  const env = opts.env ?? process.env;
  const tool = opts.tool ?? HELM;
  const emit = opts.onEvent ?? (() => {});
  const choice = await chooseHelm(env, tool);
  if (choice.source === 'none') throw new DevenvError(choice.why);
  if (choice.source !== 'fetch') return choice;
  const platform = choice.platform as Platform;
  const detail = `fetching helm ${tool.version} (${platform}) from ${choice.url}`;
  emit({ type: 'step', id: 'tool:helm', phase: 'start', detail });
  const t0 = performance.now();
  try {
    const f = await fetchTool(tool, platform, {
      env,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    emit({
      type: 'step',
      id: 'tool:helm',
      phase: 'done',
      detail: `fetched helm ${f.version} (${f.platform}) from ${f.url}, sha256 ${f.sha256} verified, into ${f.path}`,
      ms: f.ms,
    });
    const cached: HelmChoice = {
      ...choice,
      source: 'cache',
      binary: f.path,
      why: `devenv's pinned helm ${f.version}, fetched from ${f.url} (sha256 ${f.sha256} verified) into ${f.path}`,
    };
    memo.set(memoKey(env, tool), Promise.resolve(cached));
    return cached;
  } catch (err) {
    const reason = err instanceof ToolFetchError ? err.reason : (err as Error).message;
    emit({
      type: 'step',
      id: 'tool:helm',
      phase: 'fail',
      detail,
      ms: Math.round(performance.now() - t0),
      error: reason,
    });
    throw new DevenvError(
      `${choice.missing}, and devenv could not fetch its pinned helm ${tool.version} from ${choice.url}: ${reason}. To fix: ${HELM_MANUAL_INSTALL}; or, offline, copy that archive (sha256 ${choice.sha256}) to ${cachedArchivePath(tool, platform, env)}; or set DEVENV_TOOLS_MIRROR to a mirror serving <mirror>/helm/${tool.version}/${choice.url?.slice(choice.url.lastIndexOf('/') + 1)}.`,
      { cause: err },
    );
  }
}

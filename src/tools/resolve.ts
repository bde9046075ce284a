/**
 * Which binary of a tool devenv runs (k3d, helm): ONE decision for every tool, so each
 * tool's module (cluster/k3d-binary.ts, tools/helm-binary.ts) only describes the tool.
 * The order:
 *  1. `$DEVENV_<TOOL>` (a path, or a name looked up on PATH) when set: used as it is;
 *  2. else the tool on PATH when its version is >= the minimum (or it does not say one);
 *  3. else devenv's own pinned release (pinned.ts) from the user's cache dir, used only
 *     when it verifies against the pin (an archive's binary only when extracted from a
 *     verified archive);
 *  4. else, when a checksum is pinned for this platform, `ensureTool` fetches it (the
 *     commands that need it, in pre-flight: before anything is created) and says from
 *     where, with its checksum; choosing never downloads;
 *  5. else (another platform): "no pinned checksum", install the tool by hand.
 * `decideTool` is that decision, pure; `chooseTool` gathers its facts (runs the tool's
 * version command from PATH, verifies the cached file) once per process and environment.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { currentPlatform, downloadUrl, type PinnedTool, type Platform } from './pinned.ts';
import { cachedArchivePath, cachedTool, cachedToolPath, fetchTool, ToolFetchError } from './provision.ts';

const run = promisify(execFile);

/** What a tool's module says about it. */
export interface ToolSpec {
  /** The command name ("k3d"). */
  name: string;
  /** The variable that names the binary to use ("DEVENV_K3D"). */
  envVar: `DEVENV_${string}`;
  /** Oldest version on PATH that is used. */
  min: string;
  /** Arguments that make it print its version, and the version in that output. */
  versionArgs: readonly string[];
  versionPattern: RegExp;
  /** The manual remedy, one sentence ("install k3d >= 5.6.0 by hand: …"). */
  manualInstall: string;
}

export type ToolSource = `DEVENV_${string}` | 'PATH' | 'cache' | 'fetch' | 'none';

export interface ToolChoice {
  source: ToolSource;
  /** What to run (the bare name when nothing is installed yet: running it reports ENOENT). */
  binary: string;
  /** The version when known (PATH's, or the pinned one for cache / fetch). */
  version?: string;
  /** One line: which binary and why that one (doctor prints it). */
  why: string;
  /** cache / fetch: the pinned file, where it comes from and where it goes. */
  url?: string;
  sha256?: string;
  cachePath?: string;
  platform?: string;
  /** cache / fetch / none: why PATH's binary is not used ("k3d not found on PATH", too old). */
  missing?: string;
}

export interface ToolFacts {
  /** The value of the spec's envVar, when set. */
  fromEnv?: string;
  /** On PATH: undefined when absent; version undefined when it did not say one. */
  onPath?: { version?: string };
  platform?: Platform;
  /** The name of this platform even when it is not a release platform (for messages). */
  platformName: string;
  tool: PinnedTool;
  /** The cached binary, already verified against the pin. */
  cached?: string;
  url?: string;
  cachePath?: string;
}

/** "1.2.3" (a leading v and a -suffix allowed) >= "1.2"? */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version
    .replace(/^v/, '')
    .split(/[.+-]/)
    .map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

const usable = (spec: ToolSpec, onPath: { version?: string } | undefined): boolean =>
  onPath !== undefined && (onPath.version === undefined || versionAtLeast(onPath.version, spec.min));

/** True when the pinned release is an archive the binary is extracted from. */
const isArchive = (tool: PinnedTool, platform: Platform): boolean => !!tool.files[platform]?.member;

/** The decision, pure (see the file comment for the order). */
export function decideTool(spec: ToolSpec, f: ToolFacts): ToolChoice {
  const { name } = spec;
  if (f.fromEnv) return { source: spec.envVar, binary: f.fromEnv, why: `${spec.envVar} is set` };
  if (f.onPath && usable(spec, f.onPath)) {
    return {
      source: 'PATH',
      binary: name,
      ...(f.onPath.version ? { version: f.onPath.version } : {}),
      why: `${name} ${f.onPath.version ?? '(version unknown)'} on PATH`,
    };
  }
  const lack = f.onPath
    ? `${name} ${f.onPath.version} on PATH is older than ${spec.min}`
    : `${name} not found on PATH`;
  const file = f.platform ? f.tool.files[f.platform] : undefined;
  if (!file || !f.platform) {
    return {
      source: 'none',
      binary: name,
      missing: lack,
      platform: f.platformName,
      why: `${lack}, and no pinned checksum for ${name} on ${f.platformName}; ${spec.manualInstall}`,
    };
  }
  const pinned = {
    missing: lack,
    version: f.tool.version.replace(/^v/, ''),
    sha256: file.sha256,
    platform: f.platform,
  };
  if (f.cached) {
    const verified = isArchive(f.tool, f.platform)
      ? `extracted from the archive whose sha256 ${file.sha256} was verified`
      : `sha256 ${file.sha256} verified`;
    return {
      source: 'cache',
      binary: f.cached,
      ...pinned,
      cachePath: f.cached,
      why: `${lack}; devenv's pinned ${name} ${f.tool.version} from its cache (${f.cached}, ${verified})`,
    };
  }
  return {
    source: 'fetch',
    binary: name,
    ...pinned,
    ...(f.url ? { url: f.url } : {}),
    ...(f.cachePath ? { cachePath: f.cachePath } : {}),
    why: `${lack}; \`devenv up\` fetches devenv's pinned ${name} ${f.tool.version} from ${f.url} (sha256 ${file.sha256}) into ${f.cachePath}`,
  };
}

const memo = new Map<string, Promise<ToolChoice>>();

function memoKey(spec: ToolSpec, env: NodeJS.ProcessEnv, tool: PinnedTool): string {
  return JSON.stringify([
    spec.name,
    env[spec.envVar],
    env.PATH,
    env.DEVENV_CACHE_DIR,
    env.XDG_CACHE_HOME,
    env.DEVENV_TOOLS_MIRROR,
    tool,
  ]);
}

/** The binary devenv runs for `spec`, and why. Never downloads. */
export function chooseTool(spec: ToolSpec, env: NodeJS.ProcessEnv, tool: PinnedTool): Promise<ToolChoice> {
  const key = memoKey(spec, env, tool);
  let p = memo.get(key);
  if (!p) {
    p = gatherFacts(spec, env, tool).then((f) => decideTool(spec, f));
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

async function gatherFacts(spec: ToolSpec, env: NodeJS.ProcessEnv, tool: PinnedTool): Promise<ToolFacts> {
  const platform = currentPlatform();
  const facts: ToolFacts = {
    tool,
    platformName: `${process.platform}-${process.arch}`,
    ...(platform ? { platform } : {}),
  };
  const set = env[spec.envVar]?.trim();
  if (set) return { ...facts, fromEnv: set };
  const onPath = await versionOnPath(spec, env);
  if (onPath) facts.onPath = onPath;
  if (usable(spec, onPath)) return facts;
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

/** The tool on PATH: undefined when it cannot be run; its version when it says one. */
async function versionOnPath(
  spec: ToolSpec,
  env: NodeJS.ProcessEnv,
): Promise<{ version?: string } | undefined> {
  try {
    const { stdout } = await run(spec.name, [...spec.versionArgs], { env, timeout: 10_000 });
    const version = spec.versionPattern.exec(stdout)?.[1];
    return version ? { version } : {};
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES') return undefined;
    const version = spec.versionPattern.exec(e.stdout ?? '')?.[1];
    return version ? { version } : {};
  }
}

/**
 * The binary to run, fetched (pinned, verified, cached; an archive's binary extracted)
 * when none is installed. Says what it fetched, from where and its checksum through a
 * "tool:<name>" step. Offline, on an HTTP error or a checksum mismatch: ONE DevenvError
 * with the manual remedy, and nothing was created (not even a file in the cache).
 */
export async function ensureTool(
  spec: ToolSpec,
  opts: { env?: NodeJS.ProcessEnv; tool: PinnedTool; onEvent?: EventSink; timeoutMs?: number },
): Promise<ToolChoice> {
  const env = opts.env ?? process.env;
  const { tool } = opts;
  const { name } = spec;
  const id = `tool:${name}`;
  const emit = opts.onEvent ?? (() => {});
  const choice = await chooseTool(spec, env, tool);
  if (choice.source === 'none') throw new DevenvError(choice.why);
  if (choice.source !== 'fetch') return choice;
  const platform = choice.platform as Platform;
  const detail = `fetching ${name} ${tool.version} (${platform}) from ${choice.url}`;
  emit({ type: 'step', id, phase: 'start', detail });
  const t0 = performance.now();
  try {
    const f = await fetchTool(tool, platform, {
      env,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    emit({
      type: 'step',
      id,
      phase: 'done',
      detail: `fetched ${name} ${f.version} (${f.platform}) from ${f.url}, sha256 ${f.sha256} verified, into ${f.path}`,
      ms: f.ms,
    });
    const cached: ToolChoice = {
      ...choice,
      source: 'cache',
      binary: f.path,
      why: `devenv's pinned ${name} ${f.version}, fetched from ${f.url} (sha256 ${f.sha256} verified) into ${f.path}`,
    };
    memo.set(memoKey(spec, env, tool), Promise.resolve(cached));
    return cached;
  } catch (err) {
    const reason = err instanceof ToolFetchError ? err.reason : (err as Error).message;
    emit({ type: 'step', id, phase: 'fail', detail, ms: Math.round(performance.now() - t0), error: reason });
    const copy = isArchive(tool, platform)
      ? `copy that archive (sha256 ${choice.sha256}) to ${cachedArchivePath(tool, platform, env)}`
      : `copy that file (sha256 ${choice.sha256}) to ${choice.cachePath}`;
    const fileName = choice.url?.slice(choice.url.lastIndexOf('/') + 1);
    throw new DevenvError(
      `${choice.missing}, and devenv could not fetch its pinned ${name} ${tool.version} from ${choice.url}: ${reason}. To fix: ${spec.manualInstall}; or, offline, ${copy}; or set DEVENV_TOOLS_MIRROR to a mirror serving <mirror>/${name}/${tool.version}/${fileName}.`,
      { cause: err },
    );
  }
}

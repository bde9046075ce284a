/**
 * Which Docker engine devenv talks to, chosen exactly as the docker CLI chooses it
 * (docker/cli cli/command: resolveContextName, then the context's docker endpoint):
 *   1. `DOCKER_HOST`, when set and not empty (it beats any context, as in the CLI);
 *   2. else the current docker context: `DOCKER_CONTEXT`, else `currentContext` in the
 *      docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`);
 *      a context other than "default" is read from its metadata,
 *      `<config dir>/contexts/meta/<sha256 of the name>/meta.json`, `Endpoints.docker.Host`
 *      (TLS material, when the context has any, in `<config dir>/contexts/tls/<sha256>/docker/`);
 *   3. else (no context, or the context "default") the platform default socket:
 *      `unix:///var/run/docker.sock`, `npipe:////./pipe/docker_engine` on Windows.
 * A context that is named but missing, or has no docker endpoint, is an error (the CLI
 * refuses it too) rather than a silent fall back to another engine.
 *
 * Pure: the environment, the home directory, the platform and a file reader are inputs, so
 * unit tests resolve every case from a table. engine.ts feeds it the real ones; the chosen
 * endpoint is handed to dockerode (dockerodeOptions) and to every child process that talks
 * to Docker, k3d above all (childDockerEnv), so that devenv and k3d use the same engine.
 * docker-modem (dockerode's transport) parses DOCKER_HOST itself but knows nothing of
 * contexts, which is why this module exists.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DevenvError } from '../errors.ts';

export type EngineSource = 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'currentContext' | 'default';

export interface DockerEndpoint {
  /** The engine's address as the docker CLI writes it: unix://…, tcp://…, ssh://…, npipe://… */
  host: string;
  /** Where the choice came from. */
  source: EngineSource;
  /** The docker context, when the endpoint is a context's. */
  context?: string;
  /** The docker config file that named the context (source "currentContext"). */
  configFile?: string;
  /** The context's TLS directory (ca.pem, cert.pem, key.pem), when it holds any. */
  tlsDir?: string;
  /** The context's SkipTLSVerify. */
  skipTLSVerify?: boolean;
}

export interface ResolveInput {
  env: Record<string, string | undefined>;
  home: string;
  platform: NodeJS.Platform;
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): string | undefined;
  /** Whether a directory exists (the context's TLS directory). */
  isDir?(path: string): boolean;
}

export const DEFAULT_CONTEXT = 'default';

export function defaultHost(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock';
}

/** The docker config directory: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: ResolveInput['env'], home: string): string {
  return env.DOCKER_CONFIG || join(home, '.docker');
}

/** The directory name docker gives a context's metadata: the hex sha256 of its name. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** Resolves the endpoint (see the module comment); throws a DevenvError naming the context. */
export function resolveDockerEndpoint(input: ResolveInput): DockerEndpoint {
  const { env } = input;
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, source: 'DOCKER_HOST' };
  const dir = dockerConfigDir(env, input.home);
  const configFile = join(dir, 'config.json');
  let name: string | undefined;
  let source: EngineSource = 'default';
  if (env.DOCKER_CONTEXT) {
    name = env.DOCKER_CONTEXT;
    source = 'DOCKER_CONTEXT';
  } else {
    const text = input.readFile(configFile);
    if (text !== undefined && text.trim() !== '') {
      let parsed: { currentContext?: unknown };
      try {
        parsed = JSON.parse(text) as { currentContext?: unknown };
      } catch (err) {
        throw new DevenvError(
          `the docker config file ${configFile} is not valid JSON: ${(err as Error).message}`,
        );
      }
      if (typeof parsed.currentContext === 'string' && parsed.currentContext !== '') {
        name = parsed.currentContext;
        source = 'currentContext';
      }
    }
  }
  if (name === undefined || name === DEFAULT_CONTEXT)
    return { host: defaultHost(input.platform), source: 'default' };

  const from = source === 'DOCKER_CONTEXT' ? 'DOCKER_CONTEXT' : `currentContext in ${configFile}`;
  const hash = contextDirName(name);
  const metaFile = join(dir, 'contexts', 'meta', hash, 'meta.json');
  const metaText = input.readFile(metaFile);
  if (metaText === undefined) {
    throw new DevenvError(`docker context "${name}" (from ${from}) does not exist: no ${metaFile}`, {
      details: [
        'List the contexts with "docker context ls"; pick one with "docker context use NAME" or DOCKER_CONTEXT, or set DOCKER_HOST.',
      ],
    });
  }
  let host: unknown;
  let skip: unknown;
  try {
    const meta = JSON.parse(metaText) as {
      Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } };
    };
    host = meta.Endpoints?.docker?.Host;
    skip = meta.Endpoints?.docker?.SkipTLSVerify;
  } catch (err) {
    throw new DevenvError(
      `docker context "${name}" (from ${from}): ${metaFile} is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (typeof host !== 'string' || host === '') {
    throw new DevenvError(
      `docker context "${name}" (from ${from}) has no docker endpoint (Endpoints.docker.Host in ${metaFile})`,
    );
  }
  const out: DockerEndpoint = { host, source, context: name };
  if (source === 'currentContext') out.configFile = configFile;
  const tlsDir = join(dir, 'contexts', 'tls', hash, 'docker');
  if (input.isDir?.(tlsDir)) out.tlsDir = tlsDir;
  if (skip === true) out.skipTLSVerify = true;
  return out;
}

/** One line for people: "unix:///var/run/docker.sock (default socket)", "… (docker context "x", from DOCKER_CONTEXT)". */
export function describeEndpoint(e: DockerEndpoint): string {
  switch (e.source) {
    case 'DOCKER_HOST':
      return `${e.host} (from DOCKER_HOST)`;
    case 'DOCKER_CONTEXT':
      return `${e.host} (docker context "${e.context}", from DOCKER_CONTEXT)`;
    case 'currentContext':
      return `${e.host} (docker context "${e.context}", the current context in ${e.configFile})`;
    default:
      return `${e.host} (the default socket: no DOCKER_HOST, no docker context)`;
  }
}

/** The local socket or pipe path of a unix:// or npipe:// endpoint; undefined for a network one. */
export function localSocketPath(host: string): string | undefined {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('npipe://')) return host.slice('npipe://'.length);
  return undefined;
}

/** dockerode's TLS material, read by the caller from the context's tlsDir. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * dockerode (docker-modem) constructor options for an endpoint. DOCKER_HOST is left to
 * docker-modem, which parses it with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH as the CLI does
 * (undefined: no options). A context's endpoint is mapped here: a socket path, or
 * host/port/protocol (https with the context's TLS files, ssh with the agent).
 */
export function dockerodeOptions(e: DockerEndpoint, tls: TlsFiles = {}): Record<string, unknown> | undefined {
  if (e.source === 'DOCKER_HOST') return undefined;
  const socket = localSocketPath(e.host);
  if (socket !== undefined) return { socketPath: socket };
  const withScheme = e.host.includes('://') ? e.host : `tcp://${e.host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new DevenvError(`docker context "${e.context}": endpoint "${e.host}" is not a valid address`);
  }
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || '22',
      ...(url.username ? { username: url.username } : {}),
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    };
  }
  const https = tls.cert !== undefined || tls.ca !== undefined || url.port === '2376';
  return {
    protocol: https ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (https ? '2376' : '2375'),
    ...tls,
    ...(e.skipTLSVerify ? { checkServerIdentity: () => undefined, rejectUnauthorized: false } : {}),
  };
}

/**
 * The environment of a child process that talks to Docker (k3d, docker): DOCKER_HOST set
 * to the chosen endpoint, so the child cannot pick another engine, and DOCKER_CONTEXT
 * removed (with DOCKER_HOST set the CLI would ignore it anyway). For a context's endpoint,
 * TLS comes from the context: DOCKER_CERT_PATH at its TLS directory and DOCKER_TLS_VERIFY
 * unless it skips verification; with DOCKER_HOST, the user's own TLS variables stay.
 */
export function childDockerEnv(e: DockerEndpoint, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, DOCKER_HOST: e.host };
  delete env.DOCKER_CONTEXT;
  if (e.source === 'DOCKER_HOST') return env;
  delete env.DOCKER_CERT_PATH;
  delete env.DOCKER_TLS_VERIFY;
  if (e.tlsDir) {
    env.DOCKER_CERT_PATH = e.tlsDir;
    if (!e.skipTLSVerify) env.DOCKER_TLS_VERIFY = '1';
  }
  return env;
}

/**
 * The Docker engine adapter: the ONLY module family that imports dockerode. Callers get
 * small typed interfaces (engine info here; containers, volumes, images in siblings),
 * never the dockerode object, so the rest of devenv does not depend on its API.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { DevenvError } from '../errors.ts';
import {
  childDockerEnv,
  type DockerEndpoint,
  describeEndpoint,
  dockerodeOptions,
  localSocketPath,
  resolveDockerEndpoint,
} from './endpoint.ts';

let cachedEndpoint: DockerEndpoint | undefined;
let cached: Promise<Dockerode> | undefined;

/**
 * The engine devenv uses, chosen like the docker CLI (endpoint.ts): DOCKER_HOST, else the
 * current docker context, else the default socket. Resolved once per process (the CLI
 * reads its environment once too); throws a DevenvError naming a missing context.
 */
export function dockerEndpoint(): DockerEndpoint {
  cachedEndpoint ??= resolveDockerEndpoint({
    env: process.env,
    home: homedir(),
    platform: process.platform,
    readFile: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    isDir: (p) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    },
  });
  return cachedEndpoint;
}

/**
 * The environment for a child process that talks to Docker (k3d; any docker command):
 * `base` with DOCKER_HOST at the engine devenv uses, so both sides use the same engine.
 */
export function dockerChildEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return childDockerEnv(dockerEndpoint(), base);
}

/** The engine's address and where the choice came from, for people (doctor, errors). */
export function describeDockerEngine(): string {
  return describeEndpoint(dockerEndpoint());
}

/**
 * The dockerode client for the chosen engine (dockerEndpoint). Imported lazily: it is
 * heavy. A local socket that does not exist fails here with the endpoint and where it came
 * from (a context pointing at a stopped colima, say), not with a bare ENOENT later on; the
 * client is kept only once its socket exists, so an engine started later is found.
 */
export function docker(): Promise<Dockerode> {
  if (cached) return cached;
  let e: DockerEndpoint;
  try {
    e = dockerEndpoint();
    const socket = localSocketPath(e.host);
    if (socket && !socket.startsWith('//./pipe/') && !existsSync(socket)) {
      return Promise.reject(unreachable(e, `ENOENT no socket at ${socket}`));
    }
  } catch (err) {
    return Promise.reject(err);
  }
  cached = import('dockerode').then((m) => {
    const opts = dockerodeOptions(e, e.tlsDir ? readTls(e.tlsDir) : {});
    return opts === undefined ? new m.default() : new m.default(opts as Dockerode.DockerOptions);
  });
  return cached;
}

function readTls(dir: string): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const f = join(dir, `${k}.pem`);
    if (existsSync(f)) out[k] = readFileSync(f, 'utf8');
  }
  return out;
}

/**
 * "Docker engine not reachable (<why> <where>). <fix>": the endpoint, and for a context its
 * name and where it was chosen, so a user sees WHICH engine devenv tried.
 */
function unreachable(e: DockerEndpoint, why: string, cause?: unknown): DevenvError {
  const where =
    e.source === 'DOCKER_HOST'
      ? `DOCKER_HOST=${e.host}`
      : e.source === 'default'
        ? `${e.host}, the default socket`
        : `${e.host}, the endpoint of docker context "${e.context}" (${
            e.source === 'DOCKER_CONTEXT' ? 'from DOCKER_CONTEXT' : `the current context in ${e.configFile}`
          })`;
  const fix =
    e.context === undefined
      ? DOCKER_DOWN_FIX
      : `${DOCKER_DOWN_FIX} Or switch to another docker context ("docker context use NAME", or DOCKER_CONTEXT).`;
  return new DevenvError(`Docker engine not reachable (${why}; ${where}). ${fix}`, { cause });
}

export interface EngineInfo {
  /** The engine's address (unix://…, tcp://…) and where the choice came from. */
  endpoint: string;
  source: DockerEndpoint['source'];
  /** The docker context, when the endpoint is a context's. */
  context?: string;
  serverVersion: string;
  apiVersion: string;
  os: string;
  memoryBytes: number;
  cpus: number;
  cgroupVersion: string;
}

export const DOCKER_DOWN_FIX =
  'Start the Docker engine (Docker Desktop, or "sudo systemctl start docker"), or point DOCKER_HOST at a running one.';

/** Engine facts, or a DevenvError with the one-line remedy when no engine answers. */
export async function engineInfo(timeoutMs = 3000): Promise<EngineInfo> {
  const d = await docker();
  const e = dockerEndpoint();
  try {
    const [info, version] = await withTimeout(Promise.all([d.info(), d.version()]), timeoutMs);
    return {
      endpoint: e.host,
      source: e.source,
      ...(e.context === undefined ? {} : { context: e.context }),
      serverVersion: String(version.Version),
      apiVersion: String(version.ApiVersion),
      os: String(info.OperatingSystem ?? ''),
      memoryBytes: Number(info.MemTotal ?? 0),
      cpus: Number(info.NCPU ?? 0),
      cgroupVersion: String(info.CgroupVersion ?? ''),
    };
  } catch (err) {
    throw unreachable(e, describeDockerError(err), err);
  }
}

export function describeDockerError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string };
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED') return `${e.code} ${e.address ?? ''}`.trim();
  return e?.message ?? String(err);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

export interface PublishedPort {
  containerName: string;
  containerId: string;
  hostPort: number;
  /** The host address it is bound to ("0.0.0.0" / "::": every interface). */
  hostIp: string;
  /** The port inside the container. */
  containerPort: number;
  labels: Record<string, string>;
}

/** Host ports published by running containers: who holds a port, when it is a container. */
export async function publishedPorts(): Promise<PublishedPort[]> {
  const d = await docker();
  const list = await d.listContainers();
  const out: PublishedPort[] = [];
  for (const c of list) {
    for (const p of c.Ports ?? []) {
      if (p.PublicPort) {
        out.push({
          containerName: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
          containerId: c.Id,
          hostPort: p.PublicPort,
          hostIp: p.IP ?? '',
          containerPort: p.PrivatePort,
          labels: c.Labels ?? {},
        });
      }
    }
  }
  return out;
}

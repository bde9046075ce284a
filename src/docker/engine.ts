/**
 * The Docker engine adapter: the ONLY module family that imports dockerode. Callers get
 * small typed interfaces (engine info here; containers, volumes, images in siblings),
 * never the dockerode object, so the rest of devenv does not depend on its API.
 */
import type Dockerode from 'dockerode';
import { DevenvError } from '../errors.ts';

let cached: Promise<Dockerode> | undefined;

/** The dockerode client for DOCKER_HOST (or the default socket). Imported lazily: it is heavy. */
export function docker(): Promise<Dockerode> {
  cached ??= import('dockerode').then((m) => new m.default());
  return cached;
}

export interface EngineInfo {
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
  try {
    const [info, version] = await withTimeout(Promise.all([d.info(), d.version()]), timeoutMs);
    return {
      serverVersion: String(version.Version),
      apiVersion: String(version.ApiVersion),
      os: String(info.OperatingSystem ?? ''),
      memoryBytes: Number(info.MemTotal ?? 0),
      cpus: Number(info.NCPU ?? 0),
      cgroupVersion: String(info.CgroupVersion ?? ''),
    };
  } catch (err) {
    throw new DevenvError(`Docker engine not reachable (${describeDockerError(err)}). ${DOCKER_DOWN_FIX}`, {
      cause: err,
    });
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

/**
 * The k3d adapter: devenv drives the k3d binary (the supported interface of k3d), never
 * its internals. Every call names the cluster; the kubeconfig is merged without switching
 * the user's current context (the rendered config says switchCurrentContext: false).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dockerChildEnv } from '../docker/engine.ts';
import { DevenvError } from '../errors.ts';
import { versionAtLeast } from '../tools/resolve.ts';
import { k3dBinary, k3dNotFound, MIN_K3D } from './k3d-binary.ts';

const run = promisify(execFile);

export const K3D_INSTALL_FIX = `Install k3d >= ${MIN_K3D}: https://k3d.io/#installation (or "brew install k3d").`;

async function k3d(args: string[], timeoutMs = 300_000): Promise<string> {
  // k3d gets DOCKER_HOST at the engine devenv itself uses (docker/engine.ts: DOCKER_HOST,
  // else the current docker context, else the default socket), so both use the same one.
  const env = dockerChildEnv();
  try {
    const { stdout } = await run(await k3dBinary(), args, {
      env,
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new DevenvError(`${k3dNotFound()}. ${K3D_INSTALL_FIX}`);
    const tail = (e.stderr ?? '').trim().split('\n').slice(-15);
    throw new DevenvError(`k3d ${args.slice(0, 2).join(' ')} failed`, { details: tail, cause: err });
  }
}

export async function k3dVersion(): Promise<string> {
  const out = await k3d(['version'], 10_000);
  const v = /k3d version v?([\d.]+)/.exec(out)?.[1];
  if (!v) throw new DevenvError(`could not read the k3d version from "${out.trim()}"`);
  if (!versionAtLeast(v, MIN_K3D)) throw new DevenvError(`k3d ${v} is too old. ${K3D_INSTALL_FIX}`);
  return v;
}

export interface K3dCluster {
  name: string;
  serversRunning: number;
  serversCount: number;
  agentsRunning: number;
  agentsCount: number;
}

export async function getCluster(name: string): Promise<K3dCluster | undefined> {
  const list = JSON.parse(await k3d(['cluster', 'list', '-o', 'json'], 30_000)) as Array<
    Record<string, unknown>
  >;
  const c = list.find((x) => x.name === name);
  if (!c) return undefined;
  return {
    name,
    serversRunning: Number(c.serversRunning ?? 0),
    serversCount: Number(c.serversCount ?? 0),
    agentsRunning: Number(c.agentsRunning ?? 0),
    agentsCount: Number(c.agentsCount ?? 0),
  };
}

export function isRunning(c: K3dCluster): boolean {
  return c.serversRunning === c.serversCount && c.agentsRunning === c.agentsCount && c.serversCount > 0;
}

/**
 * What an interrupted `k3d cluster create` (a killed `up`) leaves: containers labelled for
 * the cluster (its tools node, registry, some nodes) while `k3d cluster list` does not show
 * it, so a new create fails with "a cluster with that name already exists". Removes them:
 * `k3d cluster delete` first (k3d's own cleanup), then any container k3d left behind
 * (a registry it had only created), by k3d's labels for this cluster name only.
 * Returns the names it found, empty when there was nothing to clear.
 */
export async function clearInterruptedCreate(name: string): Promise<string[]> {
  const { listContainers, removeContainersByLabels } = await import('../docker/containers.ts');
  const labels = { app: 'k3d', 'k3d.cluster': name };
  const left = await listContainers(labels);
  if (left.length === 0) return [];
  await k3d(['cluster', 'delete', name]).catch(() => undefined);
  await removeContainersByLabels(labels);
  return left.map((c) => c.name);
}

export async function createCluster(renderedConfigPath: string): Promise<void> {
  await k3d(['cluster', 'create', '--config', renderedConfigPath], 600_000);
}
export async function startCluster(name: string): Promise<void> {
  await k3d(['cluster', 'start', name, '--wait'], 300_000);
}
export async function stopCluster(name: string): Promise<void> {
  await k3d(['cluster', 'stop', name]);
}
export async function deleteCluster(name: string): Promise<void> {
  await k3d(['cluster', 'delete', name]);
}

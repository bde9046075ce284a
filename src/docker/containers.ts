/**
 * Containers: create from a resolved spec, inspect, start, stop, remove, wait healthy.
 *
 * Contract: devenv only stops / removes / recreates containers that carry
 * `app.kubernetes.io/managed-by=devenv` (and the project label where a project is
 * given). A same-named container without the labels is reported, never touched.
 * Callers see plain typed data, not dockerode objects.
 */
import type Dockerode from 'dockerode';
import { DevenvError } from '../errors.ts';
import { LABEL_MANAGED_BY, labelPairs, MANAGED_BY_VALUE } from '../labels.ts';
import { notYet, ready, waitUntil } from '../wait.ts';
import { docker } from './engine.ts';
import { isManaged } from './labels.ts';

export interface PortBinding {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIp?: string;
  /** undefined: an ephemeral host port. */
  hostPort?: number;
}

export type MountSpec =
  | { type: 'volume'; source: string; target: string; readOnly: boolean }
  | { type: 'bind'; source: string; target: string; readOnly: boolean };

export interface HealthSpec {
  test: string[];
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  startIntervalNs?: number;
  retries?: number;
}

/** Everything that defines a container; its hash decides "recreate or keep". */
export interface ContainerSpec {
  name: string;
  image: string;
  env: string[];
  cmd?: string[];
  ports: PortBinding[];
  mounts: MountSpec[];
  healthcheck?: HealthSpec;
  labels: Record<string, string>;
}

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  running: boolean;
  /** Docker's status: created, running, exited, ... */
  status: string;
  /** starting | healthy | unhealthy, when the container has a healthcheck. */
  health?: string;
  labels: Record<string, string>;
  createdAt: string;
  startedAt: string;
  networks: string[];
  ports: Array<{ containerPort: number; protocol: string; hostIp: string; hostPort: number }>;
}

function toState(info: Dockerode.ContainerInspectInfo): ContainerState {
  const ports: ContainerState['ports'] = [];
  for (const [key, binds] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const [port, protocol] = key.split('/');
    for (const b of binds ?? []) {
      ports.push({
        containerPort: Number(port),
        protocol: protocol ?? 'tcp',
        hostIp: b.HostIp,
        hostPort: Number(b.HostPort),
      });
    }
  }
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config?.Image ?? '',
    running: Boolean(info.State?.Running),
    status: info.State?.Status ?? 'unknown',
    ...(info.State?.Health?.Status ? { health: info.State.Health.Status } : {}),
    labels: info.Config?.Labels ?? {},
    createdAt: info.Created,
    startedAt: info.State?.StartedAt ?? '',
    networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
    ports,
  };
}

export async function inspectContainer(name: string): Promise<ContainerState | undefined> {
  const d = await docker();
  try {
    return toState(await d.getContainer(name).inspect());
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** The container, provided devenv created it for this project; a DevenvError otherwise. */
export async function inspectManaged(name: string, project: string): Promise<ContainerState | undefined> {
  const c = await inspectContainer(name);
  if (c && !isManaged(c.labels, project)) {
    throw new DevenvError(
      `container "${name}" exists but was not created by devenv for project "${project}"; devenv will not touch it. ` +
        `Rename or remove it ("docker rm -f ${name}"), or change "project" in devenv.yaml.`,
    );
  }
  return c;
}

/** Creates (does not start) the container. The spec's labels must include managed-by=devenv. */
export async function createContainer(spec: ContainerSpec): Promise<string> {
  if (spec.labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE)
    throw new Error('createContainer: spec lacks managed-by label');
  const d = await docker();
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    const list = bindings[key] ?? [];
    list.push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort ? String(p.hostPort) : '' });
    bindings[key] = list;
  }
  const h = spec.healthcheck;
  const c = await d.createContainer({
    name: spec.name,
    Image: spec.image,
    Env: spec.env,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Labels: spec.labels,
    ExposedPorts: exposed,
    ...(h
      ? {
          Healthcheck: {
            Test: h.test,
            ...(h.intervalNs !== undefined ? { Interval: h.intervalNs } : {}),
            ...(h.timeoutNs !== undefined ? { Timeout: h.timeoutNs } : {}),
            ...(h.startPeriodNs !== undefined ? { StartPeriod: h.startPeriodNs } : {}),
            ...(h.startIntervalNs !== undefined ? { StartInterval: h.startIntervalNs } : {}),
            ...(h.retries !== undefined ? { Retries: h.retries } : {}),
          },
        }
      : {}),
    HostConfig: {
      PortBindings: bindings,
      Mounts: spec.mounts.map((m) => ({
        Type: m.type,
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly,
      })),
    },
  });
  return c.id;
}

export async function startContainer(name: string): Promise<void> {
  const d = await docker();
  try {
    await d.getContainer(name).start();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 304) return; // already running
    throw err;
  }
}

async function requireManaged(name: string): Promise<Dockerode.Container | undefined> {
  const d = await docker();
  const c = d.getContainer(name);
  let info: Dockerode.ContainerInspectInfo;
  try {
    info = await c.inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  if (!isManaged(info.Config?.Labels))
    throw new Error(`refusing to change container "${name}": not created by devenv`);
  return c;
}

/** Stops a devenv container (graceful: its STOPSIGNAL, then SIGKILL after `timeoutS`). */
export async function stopContainer(name: string, timeoutS = 30): Promise<void> {
  const c = await requireManaged(name);
  if (!c) return;
  try {
    await c.stop({ t: timeoutS });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 404) throw err;
  }
}

/**
 * Removes a devenv container with its anonymous volumes (an image's VOLUME paths devenv
 * mounts nothing at: nothing could use them again, and they would be left behind,
 * unlabelled). Its named volumes stay: Docker never removes those with the container; they
 * are removed by label, separately (`destroy`).
 */
export async function removeContainer(name: string): Promise<void> {
  const c = await requireManaged(name);
  if (!c) return;
  try {
    await c.remove({ force: true, v: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/**
 * Force-removes every container carrying every label of `labels`, with its anonymous
 * volumes. For containers another tool created for devenv (k3d's nodes of the project's
 * cluster): the caller passes that tool's labels, which decide. Returns their names.
 */
export async function removeContainersByLabels(labels: Record<string, string>): Promise<string[]> {
  if (Object.keys(labels).length === 0) throw new Error('removeContainersByLabels needs labels');
  const d = await docker();
  const list = await d.listContainers({ all: true, filters: { label: labelPairs(labels) } });
  for (const c of list) {
    try {
      await d.getContainer(c.Id).remove({ force: true, v: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  return list.map((c) => (c.Names?.[0] ?? c.Id).replace(/^\//, ''));
}

/** Containers (running or not) carrying every label of `labels`. */
export async function listContainers(labels: Record<string, string>): Promise<ContainerState[]> {
  const d = await docker();
  const list = await d.listContainers({ all: true, filters: { label: labelPairs(labels) } });
  const out: ContainerState[] = [];
  for (const c of list) {
    const s = await inspectContainer(c.Id);
    if (s) out.push(s);
  }
  return out;
}

/** The last `lines` lines of the container's output (stdout and stderr). */
export async function containerLogs(name: string, lines = 20): Promise<string[]> {
  const d = await docker();
  try {
    const buf = (await d
      .getContainer(name)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxBuffer(buf)
      .split('\n')
      .filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/** Docker's multiplexed log format (8-byte frame headers) to text; plain text passes through. */
export function demuxBuffer(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return i === 0 ? buf.toString('utf8') : out;
}

export interface HealthWait {
  timeoutMs: number;
  /** What is waited for, for the timeout message, e.g. 'database container "x" (healthcheck: pg_isready ...)'. */
  what: string;
}

/**
 * Waits until the container's healthcheck reports healthy. Fails early when the container
 * stops or turns unhealthy; the error names what was waited for and shows its last output.
 */
export async function waitHealthy(name: string, w: HealthWait): Promise<void> {
  const d = await docker();
  let last: string | undefined;
  await waitUntil(
    {
      describe: `${w.what} to be healthy`,
      probe: async () => {
        const info = await d.getContainer(name).inspect();
        const health = info.State?.Health;
        if (!info.State?.Running) {
          const logs = await containerLogs(name, 15);
          throw new DevenvError(
            `${w.what} stopped while starting (exit code ${info.State?.ExitCode}). Last lines of its log:`,
            { details: logs },
          );
        }
        if (!health || health.Status === 'healthy') return ready();
        last = health.Log?.at(-1)?.Output?.trim();
        if (health.Status === 'unhealthy')
          throw new DevenvError(`${w.what} is unhealthy.`, { details: lastLines(last) });
        return notYet('');
      },
      diagnose: async () => [
        ...(last ? ['last healthcheck output:', ...lastLines(last)] : ['no healthcheck result yet']),
        ...(await containerLogs(name, 10)).map((l) => `log: ${l}`),
      ],
    },
    { timeoutMs: w.timeoutMs, intervalMs: 500 },
  );
}

function lastLines(s: string | undefined): string[] {
  return (s ?? '').split('\n').filter(Boolean).slice(-5);
}

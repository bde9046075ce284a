/**
 * `devenv doctor`: each check is a small function returning a CheckResult; the shape of
 * the result (and of `doctor --json`) is documented in the README and is stable:
 *   { schemaVersion: 1, ok, checks: [{ id, title, required, status, detail, fix?, data? }] }
 * `ok` is false when a REQUIRED check has status "fail"; warnings never fail the run.
 */
import { execFile } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { promisify } from 'node:util';
import { MIN_K3D } from '../cluster/k3d-binary.ts';
import { DATABASE_ENGINES } from '../config/engines.ts';
import type { Config } from '../config/schema.ts';
import { isPortFree, whoHoldsPort } from '../net/ports.ts';
import { versionAtLeast } from '../tools/resolve.ts';

const run = promisify(execFile);

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  required: boolean;
  status: CheckStatus;
  detail: string;
  fix?: string;
  data?: Record<string, unknown>;
}

export interface DoctorReport {
  schemaVersion: 1;
  ok: boolean;
  checks: CheckResult[];
}

/** (Defined with the tool resolver; re-exported for the checks' other users.) */
export { MIN_K3D, versionAtLeast };

const GiB = 1024 ** 3;

export function summarize(checks: CheckResult[]): DoctorReport {
  return { schemaVersion: 1, ok: !checks.some((c) => c.required && c.status === 'fail'), checks };
}

/** "5.8.3" >= "5.6.0"? Only numeric dotted versions; a leading "v" is ignored. */

export async function checkNode(): Promise<CheckResult> {
  const v = process.versions.node;
  const ok = versionAtLeast(v, '22.22.0');
  return {
    id: 'node',
    title: 'Node.js',
    required: true,
    status: ok ? 'ok' : 'fail',
    detail: `Node ${v}`,
    ...(ok ? {} : { fix: 'Install Node.js 24 LTS (or >= 22.22).' }),
    data: { version: v },
  };
}

/**
 * The engine devenv (and the k3d it runs) uses, named with where the choice came from:
 * DOCKER_HOST, else the current docker context, else the default socket (docker/endpoint.ts).
 * `data` carries endpoint, source and context for `doctor --json`.
 */
export async function checkDocker(): Promise<CheckResult> {
  const { engineInfo, describeDockerEngine, DOCKER_DOWN_FIX } = await import('../docker/engine.ts');
  try {
    const info = await engineInfo();
    const mem = info.memoryBytes / GiB;
    const lowMem = mem > 0 && mem < 4;
    return {
      id: 'docker',
      title: 'Docker engine',
      required: true,
      status: lowMem ? 'warn' : 'ok',
      detail: `Docker ${info.serverVersion} (API ${info.apiVersion}), ${info.cpus} CPUs, ${mem.toFixed(1)} GiB memory at ${describeDockerEngine()}`,
      ...(lowMem
        ? {
            fix: 'Give the Docker engine at least 4 GiB of memory (a 3-node cluster plus databases needs it).',
          }
        : {}),
      data: { ...info },
    };
  } catch (err) {
    return {
      id: 'docker',
      title: 'Docker engine',
      required: true,
      status: 'fail',
      detail: (err as Error).message,
      // A missing docker context carries its own remedy (docker/endpoint.ts).
      fix: (err as { details?: readonly string[] }).details?.[0] ?? DOCKER_DOWN_FIX,
    };
  }
}

async function binaryVersion(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 5000 });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return (err as { stdout?: string }).stdout ?? '';
  }
}

/**
 * The k3d that `up` runs, and why that one (cluster/k3d-binary.ts: DEVENV_K3D, PATH,
 * devenv's cache, or to be fetched by `up`), never another one. Doctor never downloads.
 */
export async function checkK3d(): Promise<CheckResult> {
  const { chooseK3d, k3dNotFound, K3D_MANUAL_INSTALL } = await import('../cluster/k3d-binary.ts');
  const choice = await chooseK3d();
  const bin = choice.binary;
  const base = { id: 'k3d', title: 'k3d', required: true } as const;
  const fix = `Install k3d >= ${MIN_K3D}: see https://k3d.io (e.g. "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash" or "brew install k3d").`;
  const why = { source: choice.source, why: choice.why };
  if (choice.source === 'none')
    return {
      ...base,
      status: 'fail',
      detail: choice.why,
      fix: `${K3D_MANUAL_INSTALL[0]!.toUpperCase()}${K3D_MANUAL_INSTALL.slice(1)}.`,
      data: { binary: bin, ...why },
    };
  if (choice.source === 'fetch')
    return {
      ...base,
      status: 'ok',
      detail: choice.why,
      data: {
        binary: bin,
        version: choice.version,
        url: choice.url,
        sha256: choice.sha256,
        cachePath: choice.cachePath,
        ...why,
      },
    };
  const out = await binaryVersion(bin, ['version']);
  if (out === undefined)
    return { ...base, status: 'fail', detail: k3dNotFound(), fix, data: { binary: bin, ...why } };
  const version = /k3d version v?([\d.]+)/.exec(out)?.[1];
  if (!version)
    return {
      ...base,
      status: 'warn',
      detail: `could not read the k3d version from "${out.trim()}" (${bin})`,
      data: { binary: bin, ...why },
    };
  const ok = versionAtLeast(version, MIN_K3D);
  const from =
    choice.source === 'DEVENV_K3D'
      ? ` (${bin}, from DEVENV_K3D)`
      : choice.source === 'PATH'
        ? ' (from PATH)'
        : ` (${choice.why})`;
  return {
    ...base,
    status: ok ? 'ok' : 'fail',
    detail: `k3d ${version}${from}`,
    ...(ok ? {} : { fix }),
    data: { version, binary: bin, ...why },
  };
}

export async function checkKubectl(): Promise<CheckResult> {
  const out = await binaryVersion('kubectl', ['version', '--client', '-o', 'json']);
  if (out === undefined) {
    return {
      id: 'kubectl',
      title: 'kubectl (optional)',
      required: false,
      status: 'warn',
      detail: 'kubectl not found; needed only for kustomize overlays',
      fix: 'Install kubectl: https://kubernetes.io/docs/tasks/tools/',
    };
  }
  let version = 'unknown';
  try {
    version = JSON.parse(out).clientVersion.gitVersion;
  } catch {}
  return {
    id: 'kubectl',
    title: 'kubectl (optional)',
    required: false,
    status: 'ok',
    detail: `kubectl ${version}`,
    data: { version },
  };
}

/**
 * The helm that renders the project's charts (tools/helm-binary.ts: DEVENV_HELM, PATH,
 * devenv's pinned helm from its cache, or to be fetched by `up`) and its version. Required
 * when a service's manifests include a chart; otherwise a missing helm is only a warning.
 * Doctor never downloads.
 */
export async function checkHelm(config?: Config): Promise<CheckResult> {
  const { chooseHelm, HELM_MANUAL_INSTALL, MIN_HELM } = await import('../tools/helm-binary.ts');
  const choice = await chooseHelm();
  const charts = (config?.services ?? []).flatMap((s) =>
    s.manifests.flatMap((m) => (typeof m === 'string' ? [] : [`${s.name}: ${m.chart}`])),
  );
  const required = charts.length > 0;
  const base = { id: 'helm', title: required ? 'helm' : 'helm (optional)', required } as const;
  const fix = `${HELM_MANUAL_INSTALL[0]!.toUpperCase()}${HELM_MANUAL_INSTALL.slice(1)}.`;
  const data = { binary: choice.binary, source: choice.source, why: choice.why, charts };
  if (choice.source === 'none')
    return { ...base, status: required ? 'fail' : 'warn', detail: choice.why, fix, data };
  if (choice.source === 'fetch')
    return {
      ...base,
      status: 'ok',
      detail: choice.why,
      data: {
        ...data,
        version: choice.version,
        url: choice.url,
        sha256: choice.sha256,
        cachePath: choice.cachePath,
      },
    };
  const out = await binaryVersion(choice.binary, ['version', '--template', '{{.Version}}']);
  if (out === undefined)
    return {
      ...base,
      status: required ? 'fail' : 'warn',
      detail: required
        ? `helm not found (${choice.binary}, ${choice.why}); the manifests of ${charts.join(', ')} are Helm charts`
        : `helm not found (${choice.binary}); needed only for Helm charts in services[].manifests`,
      fix,
      data,
    };
  const version = /v?(\d+\.\d+\.\d+)/.exec(out)?.[1];
  if (!version)
    return {
      ...base,
      status: 'warn',
      detail: `could not read the helm version from "${out.trim()}" (${choice.binary})`,
      data,
    };
  const ok = versionAtLeast(version, MIN_HELM);
  const from =
    choice.source === 'DEVENV_HELM'
      ? ` (${choice.binary}, from DEVENV_HELM)`
      : choice.source === 'PATH'
        ? ' (from PATH)'
        : ` (${choice.why})`;
  return {
    ...base,
    status: ok ? 'ok' : required ? 'fail' : 'warn',
    detail: `helm ${version}${from}`,
    ...(ok ? {} : { fix }),
    data: { ...data, version },
  };
}

export interface PortNeed {
  port: number;
  key: string;
}

/** The host ports a config needs, each with the config key that sets it. */
export function portsNeeded(config: Config): PortNeed[] {
  const needs: PortNeed[] = [
    { port: config.cluster.httpPort, key: 'cluster.httpPort' },
    { port: config.cluster.httpsPort, key: 'cluster.httpsPort' },
    { port: config.cluster.registryPort, key: 'cluster.registryPort' },
  ];
  if (config.database) {
    needs.push({
      port: config.database.port ?? DATABASE_ENGINES[config.database.engine].port,
      key: 'database.port',
    });
  }
  if (config.objectStore) {
    needs.push({ port: config.objectStore.port, key: 'objectStore.port' });
    needs.push({ port: config.objectStore.consolePort, key: 'objectStore.consolePort' });
  }
  if (config.tls) needs.push({ port: config.tls.port, key: 'tls.port' });
  return needs;
}

export async function checkPorts(
  config: Config | undefined,
  containerHolders: Map<number, { name: string; project?: string }>,
): Promise<CheckResult> {
  if (!config) {
    return {
      id: 'ports',
      title: 'Ports',
      required: false,
      status: 'skip',
      detail: 'no devenv.yaml here; ports not checked',
    };
  }
  const busy: Array<{ port: number; key: string; holder: string; ours: boolean }> = [];
  for (const need of portsNeeded(config)) {
    if (await isPortFree(need.port)) continue;
    const c = containerHolders.get(need.port);
    if (c) {
      busy.push({ ...need, holder: `container ${c.name}`, ours: c.project === config.project });
      continue;
    }
    const p = whoHoldsPort(need.port);
    busy.push({ ...need, holder: p ? `pid ${p.pid} (${p.command})` : 'an unknown process', ours: false });
  }
  const conflicts = busy.filter((b) => !b.ours);
  const ports = portsNeeded(config).map((n) => n.port);
  if (conflicts.length === 0) {
    return {
      id: 'ports',
      title: 'Ports',
      required: true,
      status: 'ok',
      detail: `free or held by this project: ${ports.join(', ')}`,
      data: { ports, busy },
    };
  }
  return {
    id: 'ports',
    title: 'Ports',
    required: true,
    status: 'fail',
    detail: conflicts.map((c) => `port ${c.port} (${c.key}) is held by ${c.holder}`).join('; '),
    fix: `Stop what holds the port, or choose another port in devenv.yaml (${conflicts.map((c) => c.key).join(', ')}).`,
    data: { ports, busy },
  };
}

export async function checkDisk(path: string): Promise<CheckResult> {
  const st = statfsSync(path);
  const free = (st.bavail * st.bsize) / GiB;
  const status: CheckStatus = free < 2 ? 'fail' : free < 10 ? 'warn' : 'ok';
  return {
    id: 'disk',
    title: 'Disk space',
    required: true,
    status,
    detail: `${free.toFixed(1)} GiB free at ${path}`,
    ...(status === 'ok'
      ? {}
      : {
          fix: 'Free disk space: images and volumes need about 10 GiB ("docker system prune" reclaims unused images).',
        }),
    data: { freeBytes: st.bavail * st.bsize, path },
  };
}

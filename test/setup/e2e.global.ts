import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { engineMissing } from './tier.ts';

/** What the k3d e2e tier runs on; provided to its tests. */
export interface E2eEnv {
  /** The k3d binary (DEVENV_K3D, else the one test/cluster/build.sh built, else PATH). */
  k3d: string;
  /** The node image: real rancher/k3s where present, else the k3s-compatible stand-in. */
  nodeImage: string;
  /** True for the stand-in (built from upstream Kubernetes; NOT k3s). */
  standin: boolean;
  /** Images of k3d's helpers, set through K3D_IMAGE_* and the config (undefined: k3d's own). */
  loadbalancerImage?: string;
  toolsImage?: string;
  registryImage?: string;
  /** The ingress controller's image (cluster.ingressImage); stand-in nodes have it preloaded. */
  ingressImage?: string;
  /** Base image for the fixtures' Python services (offline: devenv-test/python:3.11). */
  pythonImage: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eEnv | null;
  }
}

const root = join(import.meta.dirname, '..', '..');

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
function versions(): Record<string, string> {
  const out = sh('bash', [
    '-c',
    `source ${join(root, 'test/cluster/versions.sh')}; source ${join(root, 'test/images/traefik/versions.env')}; echo "$K8S_VERSION $K3D_VERSION $REGISTRY_VERSION $K3D_BIN $TRAEFIK_VERSION"`,
  ]);
  const [k8s, k3d, registry, k3dBin, traefik] = out.split(' ') as [string, string, string, string, string];
  return { k8s, k3d, registry, k3dBin, traefik };
}
const hasImage = (ref: string) => {
  try {
    sh('docker', ['image', 'inspect', ref]);
    return true;
  } catch {
    return false;
  }
};
/** The first local image of `repo` (e.g. rancher/k3s), by `docker images`. */
function localImage(repo: string): string | undefined {
  try {
    return sh('docker', ['images', repo, '--format', '{{.Repository}}:{{.Tag}}'])
      .split('\n')
      .find((l) => l && !l.endsWith(':<none>'));
  } catch {
    return undefined;
  }
}

/**
 * What the k3d tier runs on, found without creating anything: the node image is, in order,
 * DEVENV_E2E_K3S_IMAGE; a real rancher/k3s image already in the engine (a laptop); else the
 * k3s-compatible stand-in test/k3d/build.sh builds offline from upstream Kubernetes (build
 * machines, CI), with stand-ins for k3d's load balancer, tools and registry images.
 * Also used by the benchmarks' k3d mode.
 */
export function detectE2eEnv(): { env: E2eEnv; summary: string } | { reason: string; remedy: string } {
  try {
    sh('docker', ['info', '--format', '{{.ServerVersion}}']);
  } catch (err) {
    return {
      reason: `no Docker engine (${(err as Error).message.split('\n')[0]})`,
      remedy: 'Start dockerd (.ci/run: test/k3d/dockerd.sh).',
    };
  }
  const v = versions();
  const k3d = process.env.DEVENV_K3D ?? (existsSync(v.k3dBin as string) ? (v.k3dBin as string) : 'k3d');
  let k3dVersion: string;
  try {
    k3dVersion =
      sh(k3d, ['version'])
        .split('\n')[0]
        ?.replace(/^k3d version /, '') ?? '?';
  } catch {
    return {
      reason: `no k3d binary (${k3d})`,
      remedy: 'Run "bash test/cluster/build.sh" (builds k3d) or put k3d on PATH.',
    };
  }
  const pythonImage = process.env.DEVENV_E2E_PYTHON_IMAGE ?? 'devenv-test/python:3.11';
  const real = process.env.DEVENV_E2E_K3S_IMAGE ?? localImage('rancher/k3s');
  let env: E2eEnv;
  if (real) {
    env = { k3d, nodeImage: real, standin: false, pythonImage };
  } else {
    const tag = (name: string, version: string) => `devenv-test/${name}:${version}`;
    const k3dTag = (v.k3d as string).replace(/^v/, '');
    env = {
      k3d,
      nodeImage: tag('k3s-standin', v.k8s as string),
      standin: true,
      loadbalancerImage: tag('k3d-proxy', k3dTag),
      toolsImage: tag('k3d-tools', k3dTag),
      registryImage: tag('registry', v.registry as string),
      ingressImage: tag('traefik', v.traefik as string),
      pythonImage,
    };
  }
  const missing = [
    env.nodeImage,
    env.loadbalancerImage,
    env.toolsImage,
    env.registryImage,
    pythonImage,
  ].filter((i): i is string => i !== undefined && !hasImage(i));
  if (missing.length)
    return {
      reason: `images missing: ${missing.join(', ')}`,
      remedy: 'Run "bash test/images/build.sh && bash test/k3d/build.sh".',
    };
  const what = env.standin
    ? `${env.nodeImage} (k3s-compatible stand-in built from upstream Kubernetes ${v.k8s}; not k3s)`
    : `${env.nodeImage} (real k3s)`;
  return { env, summary: `real k3d ${k3dVersion}, node image ${what}` };
}

/**
 * The k3d end-to-end tier: the real k3d binary against the real Docker engine, on the node
 * image detectE2eEnv finds. Which one ran is printed here and in the run's summary line.
 * Under CI=true a missing engine, k3d or image fails the run.
 */
export default async function setup(project: TestProject): Promise<void> {
  project.provide('e2e', null);
  const found = detectE2eEnv();
  if ('reason' in found) {
    engineMissing('e2e', found.reason, found.remedy);
    return;
  }
  process.env.DEVENV_E2E_SUMMARY = `e2e tier: ${found.summary}`;
  process.stderr.write(`\n[e2e tier] ${found.summary}\n\n`);
  project.provide('e2e', found.env);
}

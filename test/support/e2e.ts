/**
 * The k3d e2e tier's fixtures: a temp copy of fixtures/<name> (through prepareFixture: the
 * offline base and data images) with its own project name, free host ports, and a copy of
 * k3d/cluster.yaml whose node and registry images are the ones the tier runs on (set
 * through configuration, as a user with a mirror would); and the environment the CLI runs
 * with: the real k3d binary, k3d's helper images, a private kubeconfig and state dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as YAML from 'yaml';
import type { E2eEnv } from '../setup/e2e.global.ts';
import { freePort, prepareFixture, ROOT, runDevenv } from './fixture.ts';
import { until as poll, UntilTimeout } from './poll.ts';

export interface K3dProject {
  project: string;
  dir: string;
  file: string;
  env: NodeJS.ProcessEnv;
  kubeconfig: string;
  stateDir: string;
  ports: { http: number; https: number; registry: number; tls?: number };
  /** Runs the real CLI on this project. */
  run(args: string[]): ReturnType<typeof runDevenv>;
}

/** A kubeconfig the "user" already had: its current context must survive up/down/destroy. */
const USER_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: users-cluster, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: users-user, user: {token: "not-a-secret"}}]
contexts: [{name: users-context, context: {cluster: users-cluster, user: users-user}}]
current-context: users-context
`;

/** `extra`: top-level devenv.yaml keys to add (e.g. an objectStore); free host ports are filled in. */
export async function prepareK3dProject(
  fixture: string,
  e2e: E2eEnv,
  project: string,
  extra: Record<string, unknown> = {},
): Promise<K3dProject> {
  const original = (
    YAML.parse(readFileSync(join(ROOT, 'fixtures', fixture, 'devenv.yaml'), 'utf8')) as { project: string }
  ).project;
  const { dir, file } = await prepareFixture(fixture, { project });
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  // The fixture's manifests name images after its own project ("social/web"): a service
  // without `image` keeps that repository under the test's project name.
  for (const svc of (doc.get('services') as YAML.YAMLSeq).items as YAML.YAMLMap[])
    if (!svc.has('image')) svc.set('image', `${original}/${svc.get('name')}`);
  for (const [k, v] of Object.entries(extra)) doc.set(k, doc.createNode(v));
  if (extra.objectStore) {
    doc.setIn(['objectStore', 'port'], await freePort());
    doc.setIn(['objectStore', 'consolePort'], await freePort());
  }
  doc.delete('cluster');
  const ports = { http: await freePort(), https: await freePort(), registry: await freePort() };
  doc.setIn(['cluster', 'httpPort'], ports.http);
  doc.setIn(['cluster', 'httpsPort'], ports.https);
  doc.setIn(['cluster', 'registryPort'], ports.registry);
  let tls: number | undefined;
  if (doc.has('tls')) {
    tls = await freePort();
    doc.setIn(['tls', 'port'], tls);
  }
  doc.setIn(['cluster', 'config'], 'k3d/cluster.yaml');
  if (e2e.ingressImage) doc.setIn(['cluster', 'ingressImage'], e2e.ingressImage);
  writeFileSync(file, doc.toString());

  const k3dDoc = YAML.parseDocument(readFileSync(join(ROOT, 'k3d', 'cluster.yaml'), 'utf8'));
  k3dDoc.set('image', e2e.nodeImage);
  if (e2e.registryImage) k3dDoc.setIn(['registries', 'create', 'image'], e2e.registryImage);
  mkdirSync(join(dir, 'k3d'), { recursive: true });
  writeFileSync(join(dir, 'k3d', 'cluster.yaml'), k3dDoc.toString());

  const home = mkdtempSync(join(tmpdir(), 'devenv-e2e-home-'));
  const kubeconfig = join(home, 'kubeconfig');
  writeFileSync(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
  const stateDir = join(home, 'state');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    DEVENV_STATE_DIR: stateDir,
    DEVENV_K3D: e2e.k3d,
    NO_COLOR: '1',
    ...(e2e.loadbalancerImage ? { K3D_IMAGE_LOADBALANCER: e2e.loadbalancerImage } : {}),
    ...(e2e.toolsImage ? { K3D_IMAGE_TOOLS: e2e.toolsImage } : {}),
  };
  return {
    project,
    dir,
    file,
    env,
    kubeconfig,
    stateDir,
    ports: { ...ports, ...(tls ? { tls } : {}) },
    run: (args) => runDevenv(file, args, env),
  };
}

/** kubectl against the project's k3d context, from the private kubeconfig. */
export function kubectl(p: K3dProject, args: string[]): string {
  return execFileSync('kubectl', ['--kubeconfig', p.kubeconfig, '--context', `k3d-${p.project}`, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

export function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();
}

/** Names of the Docker objects of a kind that carry a label (devenv's or k3d's). */
export function dockerNames(kind: 'container' | 'volume' | 'network', filter: string): string[] {
  const fmt = kind === 'container' ? '{{.Names}}' : '{{.Name}}';
  const args =
    kind === 'container'
      ? ['ps', '-a', '--filter', filter, '--format', fmt]
      : [kind, 'ls', '--filter', filter, '--format', fmt];
  return docker(args).split('\n').filter(Boolean);
}

/** GET through the k3d load balancer on the host, with a Host header; the body, or the error. */
export async function getVia(
  port: number,
  host: string,
  path = '/',
): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Polls `probe` until it returns a value (not undefined) or `ms` pass; returns the last try's value (undefined on timeout, for the caller's assertion to show). */
export async function until<T>(
  ms: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T | undefined> {
  try {
    return await poll('an answer', probe, { timeoutMs: ms });
  } catch (err) {
    if (err instanceof UntilTimeout) return undefined;
    throw err;
  }
}

/**
 * Renders the project's k3d config: the checked-in k3d/cluster.yaml with the project name,
 * node counts, registry and ports taken from devenv.yaml. Pure: text in, text out; every
 * key devenv does not own is left exactly as written (the yaml Document is edited in place).
 */
import * as YAML from 'yaml';
import type { Config } from '../config/schema.ts';
import { badInput } from '../errors.ts';

/** Node port the TLS passthrough host port forwards to (see k3d/cluster.yaml). */
export const TLS_NODE_PORT = 30443;

export function clusterName(project: string): string {
  return project;
}
/** kubeconfig context k3d writes for a cluster. */
export function k3dContext(project: string): string {
  return `k3d-${clusterName(project)}`;
}
/** The registry container's name, as k3d names it and as nodes reach it on the cluster network. */
export function registryName(project: string): string {
  return `k3d-${project}-registry`;
}
/** Host-side registry address; also what manifests reference (nodes mirror it). */
export function registryHost(config: Config): string {
  return `localhost:${config.cluster.registryPort}`;
}

/** The loopback address every host port of devenv's cluster binds to by default. */
export const LOOPBACK = '127.0.0.1';

/** The host address the ingress ports bind to: loopback, or every interface with `cluster.expose: lan`. */
export function ingressBindAddress(config: Config): string {
  return config.cluster.expose === 'lan' ? '0.0.0.0' : LOOPBACK;
}

/** One host port the k3d cluster publishes, as devenv plans it (pure). */
export interface PlannedHostPort {
  /** What it is for: "ingress HTTP", "ingress HTTPS", "TLS passthrough", "image registry", "Kubernetes API". */
  what: string;
  /** The address it binds to on the host. */
  hostIp: string;
  /** The host port; undefined where k3d picks a free one (the Kubernetes API). */
  hostPort: number | undefined;
  /** The port inside the cluster's load balancer or registry container. */
  containerPort: number;
  /** The devenv.yaml key that sets the host port. */
  configKey?: string;
}

/**
 * Every host port the rendered k3d config publishes, with the address it binds to: what
 * `doctor` and `status --json` compare the live bindings with, and what the e2e test checks
 * on a real cluster. `apiHostPort` is the k3d config's `kubeAPI.hostPort`, if it sets one.
 */
export function plannedHostPorts(config: Config, apiHostPort?: number): PlannedHostPort[] {
  const ingress = ingressBindAddress(config);
  return [
    {
      what: 'ingress HTTP',
      hostIp: ingress,
      hostPort: config.cluster.httpPort,
      containerPort: 80,
      configKey: 'cluster.httpPort',
    },
    {
      what: 'ingress HTTPS',
      hostIp: ingress,
      hostPort: config.cluster.httpsPort,
      containerPort: 443,
      configKey: 'cluster.httpsPort',
    },
    ...(config.tls
      ? [
          {
            what: 'TLS passthrough',
            hostIp: ingress,
            hostPort: config.tls.port,
            containerPort: TLS_NODE_PORT,
            configKey: 'tls.port',
          },
        ]
      : []),
    {
      what: 'image registry',
      hostIp: LOOPBACK,
      hostPort: config.cluster.registryPort,
      containerPort: 5000,
      configKey: 'cluster.registryPort',
    },
    { what: 'Kubernetes API', hostIp: LOOPBACK, hostPort: apiHostPort, containerPort: 6443 },
  ];
}

/** Whether a k3d port spec `[HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]` names its host address. */
function hasHostIp(spec: string): boolean {
  return /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):/.test(spec);
}

export function renderK3dConfig(text: string, file: string, config: Config): string {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0)
    throw badInput(`${file}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (doc.get('apiVersion') !== 'k3d.io/v1alpha5' || doc.get('kind') !== 'Simple') {
    throw badInput(`${file}: must be a k3d config with "apiVersion: k3d.io/v1alpha5" and "kind: Simple"`);
  }
  const name = clusterName(config.project);
  doc.setIn(['metadata', 'name'], name);
  doc.set('servers', config.cluster.servers);
  doc.set('agents', config.cluster.agents);

  // Every host port binds to an explicit address (k3d's default is every interface):
  // loopback, or every interface for the ingress ports with `cluster.expose: lan`.
  const bind = ingressBindAddress(config);
  const ports = plannedHostPorts(config)
    .filter((p) => p.what.startsWith('ingress') || p.what === 'TLS passthrough')
    .map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}`);
  // Replace devenv's own port mappings (to 80, 443 and the TLS node port); keep any other,
  // bound to the same address as the ingress unless it names its own.
  const owned = new Set(['80', '443', String(TLS_NODE_PORT)]);
  const existing = (doc.get('ports') as YAML.YAMLSeq | undefined)?.items ?? [];
  const kept = existing.filter((item) => {
    const port = YAML.isMap(item) ? String(item.get('port') ?? '') : '';
    return !owned.has(port.split('/')[0]!.split(':').pop() ?? '');
  });
  for (const item of kept) {
    if (!YAML.isMap(item)) continue;
    const spec = String(item.get('port') ?? '');
    // "HOSTPORT:CONTAINERPORT" → "IP:HOSTPORT:CONTAINERPORT"; "CONTAINERPORT" → "IP::CONTAINERPORT".
    if (spec && !hasHostIp(spec))
      item.set('port', spec.split('/')[0]!.includes(':') ? `${bind}:${spec}` : `${bind}::${spec}`);
  }
  const seq = doc.createNode([
    ...ports.map((port) => ({ port, nodeFilters: ['loadbalancer'] })),
  ]) as YAML.YAMLSeq;
  for (const k of kept) seq.items.push(k);
  doc.set('ports', seq);
  // The Kubernetes API: loopback always (k3d's default is 0.0.0.0 on a random port).
  doc.setIn(['kubeAPI', 'hostIP'], LOOPBACK);

  const reg = registryName(config.project);
  doc.setIn(['registries', 'create', 'name'], reg);
  doc.setIn(['registries', 'create', 'host'], LOOPBACK);
  doc.setIn(['registries', 'create', 'hostPort'], String(config.cluster.registryPort));
  doc.setIn(
    ['registries', 'config'],
    new YAML.Scalar(`mirrors:\n  "${registryHost(config)}":\n    endpoint:\n      - http://${reg}:5000\n`),
  );
  (doc.getIn(['registries', 'config'], true) as YAML.Scalar).type = 'BLOCK_LITERAL';
  return doc.toString();
}

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

  const ports = [
    `${config.cluster.httpPort}:80`,
    `${config.cluster.httpsPort}:443`,
    ...(config.tls ? [`${config.tls.port}:${TLS_NODE_PORT}`] : []),
  ];
  // Replace devenv's own port mappings (to 80, 443 and the TLS node port); keep any other.
  const owned = new Set(['80', '443', String(TLS_NODE_PORT)]);
  const existing = (doc.get('ports') as YAML.YAMLSeq | undefined)?.items ?? [];
  const kept = existing.filter((item) => {
    const port = YAML.isMap(item) ? String(item.get('port') ?? '') : '';
    return !owned.has(port.split(':').pop() ?? '');
  });
  const seq = doc.createNode([
    ...ports.map((port) => ({ port, nodeFilters: ['loadbalancer'] })),
  ]) as YAML.YAMLSeq;
  for (const k of kept) seq.items.push(k);
  doc.set('ports', seq);

  const reg = registryName(config.project);
  doc.setIn(['registries', 'create', 'name'], reg);
  doc.setIn(['registries', 'create', 'hostPort'], String(config.cluster.registryPort));
  doc.setIn(
    ['registries', 'config'],
    new YAML.Scalar(`mirrors:\n  "${registryHost(config)}":\n    endpoint:\n      - http://${reg}:5000\n`),
  );
  (doc.getIn(['registries', 'config'], true) as YAML.Scalar).type = 'BLOCK_LITERAL';
  return doc.toString();
}

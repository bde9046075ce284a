/**
 * The starter devenv.yaml written by `devenv init`: a pure function of what was detected
 * in the repository, so it is unit-tested without a file system.
 */
import { API_VERSION } from './schema.ts';

export interface DetectedService {
  name: string;
  context: string;
  dockerfile: string;
  manifests: string[];
}

export interface Detected {
  project: string;
  services: DetectedService[];
}

/** A DNS-1123 label from any directory or file name. */
export function toDnsLabel(s: string): string {
  const label = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'app';
}

export function renderStarterConfig(d: Detected): string {
  const lines: string[] = [
    '# devenv project config. Reference: "devenv config schema" prints the JSON Schema;',
    '# add "# yaml-language-server: $schema=<file>" for completion in your editor.',
    `apiVersion: ${API_VERSION}`,
    `project: ${d.project}`,
    '',
    "# The local k3d cluster: production's shape, 1 server + 2 agents.",
    'cluster:',
    '  config: k3d/cluster.yaml',
    '  servers: 1',
    '  agents: 2',
    '  # Other kube contexts dev deploys may target (the devenv-owned k3d context always may).',
    '  allowContexts: []',
    '',
    '# Services built from source and deployed from the SAME manifests as production.',
  ];
  if (d.services.length === 0) {
    lines.push(
      '# No Dockerfile was found; add services like this:',
      'services: []',
      '#  - name: api',
      '#    context: services/api',
      '#    manifests: [k8s/api]',
    );
  } else {
    lines.push('services:');
    for (const s of d.services) {
      lines.push(`  - name: ${s.name}`, `    context: ${s.context}`);
      if (s.dockerfile !== 'Dockerfile') lines.push(`    dockerfile: ${s.dockerfile}`);
      if (s.manifests.length > 0) lines.push(`    manifests: [${s.manifests.join(', ')}]`);
      else lines.push("    manifests: []  # TODO: the folder holding this service's Kubernetes YAML");
      lines.push('    # ignore: ["**/*.md"]   # on top of .dockerignore');
    }
  }
  lines.push(
    '',
    '# The database runs OUTSIDE the cluster, as in production (engine: postgres | mysql).',
    '# database:',
    '#   engine: postgres',
    '#   version: "16"',
    '#   databases: [app]',
    '#   initScripts: [db/init.sql]',
    '',
    '# S3-compatible object storage in place of S3 (engine: seaweedfs | minio; MinIO, the',
    '# default, is archived upstream: new projects should pick seaweedfs).',
    '# objectStore:',
    '#   engine: seaweedfs',
    '#   buckets: [uploads]',
    '',
    '# Self-signed TLS for a service that terminates TLS itself (e.g. a wss:// chat).',
    '# tls:',
    `#   hosts: [chat.${d.project}.localhost]`,
    '#   service: chat',
    '',
    '# Nightly prerelease namespaces on the shared cluster.',
    '# prerelease:',
    '#   context: shared-cluster',
    '#   namespacePrefix: prerelease',
    '#   ttl: 12h',
    '#   window: "22:00-06:00 Europe/Warsaw"',
    '',
  );
  return lines.join('\n');
}

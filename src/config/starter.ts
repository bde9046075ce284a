/**
 * The starter devenv.yaml written by `devenv init`: a pure function of what was detected
 * in the repository, so it is unit-tested without a file system.
 */
import { API_VERSION } from './schema.ts';

export interface DetectedService {
  name: string;
  context: string;
  dockerfile: string;
  /** Folders, files or kustomization folders devenv's loader accepts, as written. */
  manifests: string[];
  /** Local Helm chart folders: listed as chart entries ({ chart }) after `manifests`. */
  charts?: string[];
  /** Other kustomizations found beside the one listed (e.g. the production overlay). */
  alsoFound?: string[];
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
    for (const s of d.services) lines.push(...serviceLines(s));
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

/** A path as a YAML flow-sequence item: plain when it is safe, else quoted. */
const item = (p: string): string => (/^[\w./-]+$/.test(p) ? p : JSON.stringify(p));

function serviceLines(s: DetectedService): string[] {
  const out: string[] = [];
  const charts = s.charts ?? [];
  for (const c of charts) {
    out.push(
      `  # Helm chart ${c}: rendered with \`helm template\`; add the values files production`,
      '  # passes, then dev overrides: { chart: ..., values: [prod.yaml, dev.yaml], release: ... }',
    );
  }
  const entry: string[] = [`  - name: ${s.name}`, `    context: ${item(s.context)}`];
  if (s.dockerfile !== 'Dockerfile') entry.push(`    dockerfile: ${item(s.dockerfile)}`);
  const all = [...s.manifests.map(item), ...charts.map((c) => `{ chart: ${item(c)} }`)];
  if (all.length > 0) entry.push(`    manifests: [${all.join(', ')}]`);
  else entry.push("    manifests: []  # TODO: the folder holding this service's Kubernetes YAML");
  for (const a of s.alsoFound ?? [])
    entry.push(`    # also found: kustomization ${a} (list one environment's overlay)`);
  entry.push('    # ignore: ["**/*.md"]   # on top of .dockerignore');
  out.push(...entry);
  return out;
}

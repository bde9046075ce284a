/**
 * The ONE render entry of the project's services, per environment: `up`, `reload` (and
 * the file-save reload of `up`'s watch loop), `prerelease up` and `prerelease test` all
 * render through `renderEnvironment`, and devenv's own objects through `renderOwn`.
 * Dev's up and reload must send the API server the same objects for a service, or each
 * reload rolls it once and the next `up` rolls it back ("1 updated"); prerelease's up and
 * test must render the same test Jobs; a single function is how they cannot drift.
 *
 * What it adds to the services' manifests (beyond renderManifests' namespace, images,
 * labels and data-secret envFrom): in dev, for the service that terminates TLS, its
 * certificate's fingerprint on its pod templates (the service reads the certificate at
 * start, so a renewed certificate must roll its pods) and the TLS Secret and CA ConfigMap
 * it reads, rendered with it, so a reload that renews the certificate also applies it.
 */
import type { Config } from '../config/schema.ts';
import { DATA_SECRET_NAME as DATA_SECRET } from '../data/secret.ts';
import type { RenderResult } from '../manifests/render.ts';
import type { RenderedObject, SourceDoc } from '../manifests/types.ts';

/**
 * Where a render goes: the only input that differs between dev and prerelease. Dev keeps
 * the namespaces the manifests name (default: the project's); prerelease puts everything
 * in its one namespace, rewrites Ingress hosts under `prerelease.ingressDomain` and, for
 * `prerelease test` only, keeps the integration-test Jobs.
 */
export type Environment = { env: 'dev' } | { env: 'prerelease'; namespace: string; tests?: boolean };

export const DEV: Environment = { env: 'dev' };

export interface RenderOptions {
  /**
   * A render that only looks (validation before anything is created, finding a service's
   * Services or workloads): no certificate is issued or read, so nothing is written.
   */
  dry?: boolean;
}

/**
 * Renders the given services' manifests (`docs`: service name → its documents; all of the
 * project's for `up`, one service's for `reload`) with the images devenv built.
 */
export async function renderEnvironment(
  config: Config,
  where: Environment,
  docs: ReadonlyMap<string, readonly SourceDoc[]>,
  images: Record<string, string>,
  opts: RenderOptions = {},
): Promise<RenderResult> {
  const { renderManifests } = await import('../manifests/render.ts');
  const all: SourceDoc[] = [];
  for (const [name, list] of docs) {
    const tls = where.env === 'dev' && !opts.dry && config.tls && name === config.tls.service;
    all.push(...(tls ? await withTls(config, list) : list));
  }
  return renderManifests({
    docs: all,
    project: config.project,
    images,
    // envFrom the data Secret (optional, so one that is absent does no harm) is decided by
    // devenv.yaml alone, so that every render of an environment gives the same objects.
    ...(config.database || config.objectStore ? { dataSecret: DATA_SECRET } : {}),
    ...placement(config, where),
    ...(where.env === 'prerelease' && config.prerelease.ingressDomain
      ? { ingressDomain: config.prerelease.ingressDomain }
      : {}),
    ...(where.env === 'prerelease' && where.tests ? { tests: true } : {}),
  });
}

/**
 * devenv's own objects (the data Secret, isolation policies, the ingress controller, …),
 * rendered like the project's manifests (same labels, hash, apply and prune) into the
 * same place.
 */
export async function renderOwn(
  config: Config,
  where: Environment,
  docs: SourceDoc[],
): Promise<RenderedObject[]> {
  if (docs.length === 0) return [];
  const { renderManifests } = await import('../manifests/render.ts');
  return renderManifests({ docs, project: config.project, ...placement(config, where) }).objects;
}

/** Dev: the namespaces the manifests name, else the project's; prerelease: its one namespace. */
function placement(config: Config, where: Environment) {
  return where.env === 'dev'
    ? { env: 'dev' as const, defaultNamespace: config.project }
    : { env: 'prerelease' as const, namespace: where.namespace };
}

/** The TLS service's documents: its workloads carry the certificate's fingerprint; its Secret and CA ConfigMap follow. */
async function withTls(config: Config, docs: readonly SourceDoc[]): Promise<SourceDoc[]> {
  const tls = config.tls!;
  const { ensureLeaf } = await import('../tls/store.ts');
  const { certFingerprint } = await import('../tls/x509.ts');
  const { CERT_SHA256_ANNOTATION, tlsObjects } = await import('../tls/objects.ts');
  const leaf = await ensureLeaf({ project: config.project, hosts: tls.hosts });
  const fp = certFingerprint(leaf.certPem);
  const path = ['spec', 'template', 'metadata', 'annotations', CERT_SHA256_ANNOTATION];
  const out = docs.map((d): SourceDoc => {
    const kind = (toPlain(d) as { kind?: string })?.kind ?? '';
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind)) return d;
    if (typeof (d.doc as { clone?: unknown }).clone === 'function') {
      const doc = (d.doc as import('yaml').Document).clone();
      doc.setIn(path, fp);
      return { ...d, doc };
    }
    const plain = structuredClone(d.doc) as Record<string, unknown>;
    let cur = plain;
    for (const k of path.slice(0, -1)) {
      cur[k] ??= {};
      cur = cur[k] as Record<string, unknown>;
    }
    cur[path.at(-1)!] = fp;
    return { ...d, doc: plain };
  });
  const { secret, configMap } = tlsObjects({
    namespace: namespaceOf(docs, config.project),
    secretName: tls.secretName,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    caPem: leaf.caPem,
    labels: {},
  });
  out.push({ file: '<devenv:tls>', index: 0, doc: { ...secret } });
  out.push({ file: '<devenv:tls>', index: 1, doc: { ...configMap } });
  return out;
}

/** The namespace of a service: the first one its documents name, else the project's. */
export function namespaceOf(docs: readonly SourceDoc[], fallback: string): string {
  for (const d of docs) {
    const obj = toPlain(d) as { metadata?: { namespace?: string } };
    if (obj?.metadata?.namespace) return obj.metadata.namespace;
  }
  return fallback;
}

export function toPlain(d: SourceDoc): unknown {
  return typeof (d.doc as { toJS?: unknown }).toJS === 'function'
    ? (d.doc as { toJS(): unknown }).toJS()
    : d.doc;
}

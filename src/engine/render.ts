/**
 * The ONE render of the project's services for dev, shared by `up` and `reload` (and the
 * file-save reload of `up`'s watch loop). Both must send the API server the same objects
 * for a service, or each reload rolls it once and the next `up` rolls it back ("1
 * updated"); a single function is how they cannot drift.
 *
 * What it adds to the services' manifests (beyond renderManifests' namespace, images,
 * labels and data-secret envFrom): for the service that terminates TLS, its certificate's
 * fingerprint on its pod templates (the service reads the certificate at start, so a
 * renewed certificate must roll its pods) and the TLS Secret and CA ConfigMap it reads,
 * rendered with it, so a reload that renews the certificate also applies it.
 */
import type { Config } from '../config/schema.ts';
import { DATA_SECRET_NAME as DATA_SECRET } from '../data/secret.ts';
import type { RenderResult } from '../manifests/render.ts';
import type { SourceDoc } from '../manifests/types.ts';

/** The Secret with the data services' variables, envFrom'ed into every workload. */
export { DATA_SECRET };

/**
 * Renders the given services' manifests (`docs`: service name → its documents; all of the
 * project's for `up`, one service's for `reload`) with the images devenv built.
 */
export async function renderServices(
  config: Config,
  docs: ReadonlyMap<string, SourceDoc[]>,
  images: Record<string, string>,
): Promise<RenderResult> {
  const { renderManifests } = await import('../manifests/render.ts');
  const all: SourceDoc[] = [];
  for (const [name, list] of docs) {
    all.push(...(config.tls && name === config.tls.service ? await withTls(config, list) : list));
  }
  return renderManifests({
    docs: all,
    project: config.project,
    env: 'dev',
    defaultNamespace: config.project,
    images,
    ...(config.database || config.objectStore ? { dataSecret: DATA_SECRET } : {}),
  });
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

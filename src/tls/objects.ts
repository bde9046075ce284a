/**
 * The Kubernetes objects that carry TLS material into a namespace, as plain objects (the
 * kube layer applies them; this module imports nothing from it and does no I/O):
 *
 *   - a `kubernetes.io/tls` Secret (tls.crt, tls.key, and ca.crt) that the TLS-terminating
 *     service mounts, e.g. at /etc/devenv-tls;
 *   - a ConfigMap `devenv-ca` with only ca.crt, so that any other pod can trust the service
 *     (mount it and point SSL_CERT_FILE / NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE at it)
 *     without being given the private key.
 *
 * Values go in `data` (base64), the form the API server stores and returns, so that a
 * second apply compares equal and changes nothing.
 */
import { certFingerprint } from './x509.ts';

export const CA_CONFIGMAP_NAME = 'devenv-ca';
/** Annotation holding the leaf's SHA-256: a changed certificate is visible in a diff. */
export const CERT_SHA256_ANNOTATION = 'dev.devenv/tls-cert-sha256';

export interface TlsSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  type: 'kubernetes.io/tls';
  data: { 'tls.crt': string; 'tls.key': string; 'ca.crt': string };
}

export interface CaConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  data: { 'ca.crt': string };
}

export function tlsObjects(opts: {
  namespace: string;
  secretName: string;
  certPem: string;
  keyPem: string;
  caPem: string;
  labels: Record<string, string>;
}): { secret: TlsSecret; configMap: CaConfigMap } {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: opts.secretName,
        namespace: opts.namespace,
        labels: { ...opts.labels },
        annotations: { [CERT_SHA256_ANNOTATION]: certFingerprint(opts.certPem) },
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(opts.certPem), 'tls.key': b64(opts.keyPem), 'ca.crt': b64(opts.caPem) },
    },
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CA_CONFIGMAP_NAME, namespace: opts.namespace, labels: { ...opts.labels } },
      data: { 'ca.crt': opts.caPem },
    },
  };
}

/**
 * devenv's ingress controller (src/cluster/ingress.ts): where it is installed, the objects
 * it applies, and the report of ingress-nginx annotations Traefik does not honour, on the
 * fixtures' real Ingresses. Traffic through it: test/kube/ingress-traefik.test.ts (kube
 * tier) and test/e2e (real k3d).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDocument } from 'yaml';
import {
  annotationSupport,
  plannedIngress,
  traefikMinor,
  traefikObjects,
  unsupportedAnnotations,
} from '../../src/cluster/ingress.ts';
import { TRAEFIK_DEFAULT_IMAGE } from '../../src/config/engines.ts';
import { configSchema } from '../../src/config/schema.ts';
import { loadManifests } from '../../src/manifests/load.ts';

const root = join(import.meta.dirname, '..', '..', 'fixtures', 'social');

async function socialIngresses(): Promise<Record<string, unknown>[]> {
  const docs = (
    await Promise.all(
      ['k8s/web', 'k8s/chat', 'k8s/dbpanel', 'k8s/admin'].map((m) => loadManifests([m], { root })),
    )
  ).flat();
  return docs.map((d) => (isDocument(d.doc) ? d.doc.toJS() : d.doc) as Record<string, unknown>);
}

const cluster = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({ apiVersion: 'devenv.dev/v1alpha1', project: 'p', services: [], cluster: extra })
    .cluster;

describe('Traefik for the dev cluster', () => {
  it('installed on k3d by default (nodes’ 80/443), on an existing cluster only when asked (its httpPort/httpsPort)', () => {
    expect(plannedIngress(cluster(), 'k3d')).toEqual({
      image: TRAEFIK_DEFAULT_IMAGE,
      httpPort: 80,
      httpsPort: 443,
    });
    // k3d maps the host's ports to the nodes' 80/443 itself.
    expect(plannedIngress(cluster({ httpPort: 8080 }), 'k3d')?.httpPort).toBe(80);
    expect(plannedIngress(cluster(), 'existing')).toBeUndefined();
    expect(plannedIngress(cluster({ ingress: 'none' }), 'k3d')).toBeUndefined();
    expect(
      plannedIngress(
        cluster({
          ingressOnExistingCluster: true,
          httpPort: 18080,
          httpsPort: 18443,
          ingressImage: 'm/t:v3.7.1',
        }),
        'existing',
      ),
    ).toEqual({ image: 'm/t:v3.7.1', httpPort: 18080, httpsPort: 18443 });
    expect(
      plannedIngress(cluster({ ingress: 'none', ingressOnExistingCluster: true }), 'existing'),
    ).toBeUndefined();
  });

  it('a DaemonSet on the planned host ports with the configured image, and the nginx IngressClass', () => {
    const objs = traefikObjects({ image: 'mirror.example/traefik:v3.7.13', httpPort: 80, httpsPort: 8443 });
    const ds = objs.find((o) => o.kind === 'DaemonSet') as {
      spec: {
        template: {
          spec: { containers: Array<{ image: string; args: string[]; ports: Array<{ hostPort?: number }> }> };
        };
      };
    };
    const c = ds.spec.template.spec.containers[0]!;
    expect(c.image).toBe('mirror.example/traefik:v3.7.13');
    expect(c.args).toContain('--providers.kubernetesingressnginx=true');
    expect(c.ports.map((p) => p.hostPort).filter(Boolean)).toEqual([80, 8443]);
    const classes = objs.filter((o) => o.kind === 'IngressClass') as Array<{
      metadata: { name: string; annotations?: Record<string, string> };
      spec: { controller: string };
    }>;
    const nginx = classes.find((x) => x.metadata.name === 'nginx');
    expect(nginx?.spec.controller).toBe('k8s.io/ingress-nginx');
    expect(nginx?.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class']).toBe('true');
    // Nothing of Helm: the objects apply through devenv's own apply path.
    expect(objs.some((o) => String(o.apiVersion).startsWith('helm.'))).toBe(false);
  });

  it('reads the Traefik minor from the image tag', () => {
    expect(traefikMinor(TRAEFIK_DEFAULT_IMAGE)).toBe('3.7');
    expect(traefikMinor('devenv-test/traefik:v3.6.12')).toBe('3.6');
    expect(traefikMinor('localhost:5000/traefik:3.7@sha256:abc')).toBe('3.7');
    expect(traefikMinor('traefik:latest')).toBeUndefined();
  });

  it('one table: per annotation, the minor from which it is honoured, or why never', () => {
    expect(annotationSupport('whitelist-source-range', '3.7')).toEqual({ honoured: true });
    expect(annotationSupport('whitelist-source-range', '3.6')).toEqual({
      honoured: false,
      why: 'honoured from Traefik 3.7, this is 3.6',
    });
    // A newer minor than the table knows is judged by the newest entries.
    expect(annotationSupport('rewrite-target', '3.8')).toEqual({ honoured: true });
    expect(annotationSupport('ssl-passthrough', '3.6')).toEqual({ honoured: true });
    expect(annotationSupport('configuration-snippet', '3.7').honoured).toBe(false);
    expect(annotationSupport('no-such-annotation', '3.7')).toMatchObject({
      honoured: false,
      why: /not read/,
    });
  });

  it('names each annotation of the social fixture that the controller version does not honour', async () => {
    const docs = await socialIngresses();
    const v36 = unsupportedAnnotations(docs, 'devenv-test/traefik:v3.6.12').map(
      (f) => `${f.object} ${f.annotation}`,
    );
    expect(v36.sort()).toEqual([
      'Ingress dbpanel nginx.ingress.kubernetes.io/whitelist-source-range',
      'Ingress web nginx.ingress.kubernetes.io/proxy-body-size',
    ]);
    // 3.7 honours body size and the allow-list (and, like 3.6, the passthrough).
    expect(unsupportedAnnotations(docs, TRAEFIK_DEFAULT_IMAGE)).toEqual([]);
    // An unknown version is judged by the oldest minor, and says so.
    expect(unsupportedAnnotations(docs, 'traefik:latest')[0]?.why).toMatch(/unknown; judged as 3\.6/);
  });

  it('only Ingresses the controller serves: class nginx or none; namespaced names', () => {
    const ing = (name: string, cls: string | undefined, ann: Record<string, string>) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'shop', annotations: ann },
      spec: cls ? { ingressClassName: cls } : {},
    });
    const snippet = { 'nginx.ingress.kubernetes.io/configuration-snippet': 'more_set_headers "X: y";' };
    const found = unsupportedAnnotations(
      [ing('a', 'nginx', snippet), ing('b', undefined, snippet), ing('c', 'other', snippet)],
      TRAEFIK_DEFAULT_IMAGE,
    );
    expect(found.map((f) => f.object)).toEqual(['Ingress shop/a', 'Ingress shop/b']);
    expect(found[0]?.why).toMatch(/^not honoured by Traefik 3\.7 \(NGINX configuration/);
  });
});

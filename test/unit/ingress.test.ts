/**
 * devenv's ingress controller for its own k3d cluster (src/cluster/ingress.ts): the objects
 * it applies, and the report of ingress-nginx annotations Traefik does not honour, on the
 * fixtures' real Ingresses. Traffic through it is tested on real k3d (test/e2e).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TRAEFIK_DEFAULT_IMAGE,
  traefikMinor,
  traefikObjects,
  unsupportedAnnotations,
} from '../../src/cluster/ingress.ts';
import { loadManifests } from '../../src/manifests/load.ts';

const root = join(import.meta.dirname, '..', '..', 'fixtures', 'social');

describe('Traefik for the dev cluster', () => {
  it('a DaemonSet on the nodes’ ports 80/443 with the configured image, and the nginx IngressClass', () => {
    const objs = traefikObjects('mirror.example/traefik:v3.7.13');
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
    expect(c.ports.map((p) => p.hostPort).filter(Boolean)).toEqual([80, 443]);
    const classes = objs.filter((o) => o.kind === 'IngressClass') as Array<{
      metadata: { name: string };
      spec: { controller: string };
    }>;
    expect(classes.find((x) => x.metadata.name === 'nginx')?.spec.controller).toBe('k8s.io/ingress-nginx');
    // Nothing of Helm: the objects apply through devenv's own apply path.
    expect(objs.some((o) => String(o.apiVersion).startsWith('helm.'))).toBe(false);
  });

  it('reads the Traefik minor from the image tag', () => {
    expect(traefikMinor(TRAEFIK_DEFAULT_IMAGE)).toBe('3.7');
    expect(traefikMinor('devenv-test/traefik:v3.6.12')).toBe('3.6');
    expect(traefikMinor('localhost:5000/traefik:3.7@sha256:abc')).toBe('3.7');
    expect(traefikMinor('traefik:latest')).toBeUndefined();
  });

  it('names each annotation of the social fixture that the controller version does not honour', async () => {
    const docs = (
      await Promise.all(
        ['k8s/web', 'k8s/chat', 'k8s/dbpanel', 'k8s/admin'].map((m) => loadManifests([m], { root })),
      )
    ).flat();
    const v36 = unsupportedAnnotations(docs, 'devenv-test/traefik:v3.6.12').map(
      (f) => `${f.object} ${f.annotation}`,
    );
    expect(v36).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Ingress .*web nginx\.ingress\.kubernetes\.io\/proxy-body-size$/),
        expect.stringMatching(/^Ingress .*dbpanel nginx\.ingress\.kubernetes\.io\/whitelist-source-range$/),
      ]),
    );
    expect(v36.some((x) => x.endsWith('ssl-passthrough'))).toBe(false);
    // 3.7 honours body size and the allow-list.
    expect(unsupportedAnnotations(docs, TRAEFIK_DEFAULT_IMAGE)).toEqual([]);
    // An unknown version is judged by the oldest table, and says so.
    expect(unsupportedAnnotations(docs, 'traefik:latest')[0]?.why).toMatch(/unknown/);
  });
});

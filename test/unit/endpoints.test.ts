/**
 * Where each service answers (src/engine/endpoints.ts, pure): from the social fixture's
 * real manifests (loaded as up loads them) and from hand-written objects for the cases
 * the fixture lacks (spec.tls, HTTPRoute/TLSRoute, forwards, default ports).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { endpointLines, serviceEndpoints } from '../../src/engine/endpoints.ts';
import type { ForwardPlan } from '../../src/engine/forwards.ts';
import { toPlain } from '../../src/engine/render.ts';
import { loadManifests } from '../../src/manifests/load.ts';

const root = join(import.meta.dirname, '..', '..');

describe('serviceEndpoints', () => {
  it('the social fixture: ingress hosts and paths by backend, the chat on wss, with the cluster ports', async () => {
    const loaded = loadConfig(join(root, 'fixtures', 'social', 'devenv.yaml'));
    const { config } = loaded;
    const objects = new Map<string, unknown[]>();
    for (const s of config.services)
      objects.set(s.name, (await loadManifests(s.manifests, { root: loaded.root })).map(toPlain));
    const list = serviceEndpoints({
      services: config.services,
      tls: { service: 'chat', hosts: ['chat.social.localhost'], port: 8443 },
      httpPort: 8080,
      httpsPort: 8443,
      objects,
    });
    expect(list.map((e) => `${e.service} ${e.kind} ${e.url}`)).toEqual([
      'web ingress http://social.localhost:8080/',
      'api ingress http://social.localhost:8080/api',
      'api ingress http://social.localhost:8080/upload',
      'chat tls wss://chat.social.localhost:8443/',
      'admin ingress http://admin.social.localhost:8080/',
      'dbpanel ingress http://dbpanel.social.localhost:8080/',
    ]);
  });

  it('default ports are left out; the passthrough port is listed apart; https for hosts under spec.tls', () => {
    const list = serviceEndpoints({
      services: [{ name: 'chat' }, { name: 'shop' }],
      tls: { service: 'chat', hosts: ['chat.localhost'], port: 9443 },
      httpPort: 80,
      httpsPort: 443,
      objects: new Map([
        [
          'chat',
          [
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'chat' },
              spec: { ports: [{ name: 'https', port: 8443 }] },
            },
          ],
        ],
        [
          'shop',
          [
            {
              apiVersion: 'networking.k8s.io/v1',
              kind: 'Ingress',
              metadata: { name: 'shop' },
              spec: {
                tls: [{ hosts: ['shop.localhost'] }],
                rules: [
                  { host: 'shop.localhost', http: { paths: [{ path: '/store(/|$)(.*)', backend: {} }] } },
                  { http: { paths: [{ path: '/' }] } },
                ],
              },
            },
          ],
        ],
      ]),
    });
    expect(list.map((e) => e.url)).toEqual([
      'https://chat.localhost/',
      'https://chat.localhost:9443/',
      'http://shop.localhost/store',
      'https://shop.localhost/store',
      'http://localhost/',
    ]);
    expect(list[1]!.note).toBe('passthrough port');
  });

  it('Gateway API routes and forwards', () => {
    const forward: ForwardPlan = {
      service: 'api',
      local: 9229,
      namespace: 'back',
      serviceName: 'api',
      port: { name: 'debug', port: 9229, targetPort: 9229 },
      configKey: 'services[0].forwards[0]',
    };
    const list = serviceEndpoints({
      services: [{ name: 'api' }, { name: 'chat' }],
      httpPort: 8080,
      httpsPort: 8443,
      objects: new Map([
        [
          'api',
          [
            { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' } },
            {
              apiVersion: 'gateway.networking.k8s.io/v1',
              kind: 'HTTPRoute',
              metadata: { name: 'api' },
              spec: { hostnames: ['api.localhost'], rules: [{ backendRefs: [{ name: 'api', port: 80 }] }] },
            },
          ],
        ],
        [
          'chat',
          [
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'chat' },
              spec: { ports: [{ name: 'wss' }] },
            },
            {
              apiVersion: 'gateway.networking.k8s.io/v1alpha2',
              kind: 'TLSRoute',
              metadata: { name: 'chat' },
              spec: { hostnames: ['chat.localhost'], rules: [{ backendRefs: [{ name: 'chat' }] }] },
            },
          ],
        ],
      ]),
      forwards: [forward],
    });
    expect(list).toEqual([
      { service: 'api', kind: 'route', url: 'http://api.localhost:8080/' },
      { service: 'api', kind: 'forward', url: '127.0.0.1:9229', note: 'Service back/api port debug (9229)' },
      {
        service: 'chat',
        kind: 'route',
        url: 'wss://chat.localhost:8443/',
        note: 'TLS passed through by SNI',
      },
    ]);
    expect(endpointLines(list)).toEqual([
      '  api   http://api.localhost:8080/',
      '  api   127.0.0.1:9229  (Service back/api port debug (9229))',
      '  chat  wss://chat.localhost:8443/  (TLS passed through by SNI)',
    ]);
  });

  it('nothing to show: no Ingress, route, TLS or forward', () => {
    expect(
      serviceEndpoints({ services: [{ name: 'a' }], httpPort: 80, httpsPort: 443, objects: new Map() }),
    ).toEqual([]);
  });
});

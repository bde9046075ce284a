/**
 * Gateway API for devenv's Traefik (src/cluster/gateway.ts): whether a project gets the
 * CRDs, which Gateways devenv provides for the routes' parentRefs, the objects and the
 * provider flag. Traffic through them: test/kube/ingress-traefik.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  GATEWAY_API_VERSION,
  gatewayObjects,
  ingressObjects,
  loadGatewayApiCrds,
  plannedGateways,
  usesGatewayApi,
} from '../../src/cluster/gateway.ts';
import { traefikObjects } from '../../src/cluster/ingress.ts';
import { sortForApply } from '../../src/manifests/order.ts';
import { renderManifests } from '../../src/manifests/render.ts';

type Obj = Record<string, unknown>;
const GW = 'gateway.networking.k8s.io/v1';
const route = (kind: string, name: string, namespace: string, parentRefs: Obj[]): Obj => ({
  apiVersion: GW,
  kind,
  metadata: { name, namespace },
  spec: { parentRefs, hostnames: [`${name}.p.localhost`], rules: [] },
});
const deployment: Obj = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'p' },
};
const opts = { image: 'traefik:v3.7.13', httpPort: 80, httpsPort: 443 };
const argsOf = (objs: Obj[]) =>
  (
    objs.find((o) => o.kind === 'DaemonSet') as {
      spec: { template: { spec: { containers: [{ args: string[] }] } } };
    }
  ).spec.template.spec.containers[0].args;

describe('Gateway API planning', () => {
  it('a project without Gateway API objects: the controller unchanged, no CRDs', () => {
    expect(usesGatewayApi([deployment])).toBe(false);
    const objs = ingressObjects(opts, [deployment], () => {
      throw new Error('CRDs read for a project without Gateway API');
    });
    expect(objs).toEqual(traefikObjects(opts));
    expect(argsOf(objs)).not.toContain('--providers.kubernetesgateway=true');
  });

  it('one Gateway per distinct parentRef the manifests do not define, in the ref’s namespace (else the route’s)', () => {
    const app = [
      route('HTTPRoute', 'web', 'p', [{ name: 'public', namespace: 'infra' }]),
      route('HTTPRoute', 'api', 'q', [{ name: 'public', namespace: 'infra' }]),
      route('TLSRoute', 'chat', 'p', [{ name: 'public', namespace: 'infra' }]),
      // No namespace: the route's own; a Service parent (mesh) and other groups: not a Gateway.
      route('HTTPRoute', 'admin', 'p', [{ name: 'internal' }, { kind: 'Service', name: 'admin' }]),
      route('GRPCRoute', 'rpc', 'p', [{ group: 'example.com', kind: 'Gateway', name: 'other' }]),
      // A Gateway the manifests define is theirs.
      route('HTTPRoute', 'own', 'p', [{ name: 'mine' }]),
      { apiVersion: GW, kind: 'Gateway', metadata: { name: 'mine', namespace: 'p' }, spec: {} },
    ];
    expect(plannedGateways(app)).toEqual([
      { namespace: 'infra', name: 'public', http: 'http', tls: 'tls' },
      { namespace: 'p', name: 'internal', http: 'http' },
    ]);
  });

  it('a parentRef’s sectionName names the listener it attaches to', () => {
    const app = [
      route('HTTPRoute', 'web', 'p', [{ name: 'gw', sectionName: 'web' }]),
      route('TLSRoute', 'chat', 'p', [{ name: 'gw', sectionName: 'passthrough' }]),
    ];
    expect(plannedGateways(app)).toEqual([{ namespace: 'p', name: 'gw', http: 'web', tls: 'passthrough' }]);
  });

  it('the Gateway: class traefik, HTTP on port 80 (web), TLS passthrough on 443 (websecure), routes from all namespaces', () => {
    const [cls, gw] = gatewayObjects([{ namespace: 'infra', name: 'public', http: 'http', tls: 'tls' }]);
    expect(cls).toMatchObject({
      kind: 'GatewayClass',
      metadata: { name: 'traefik' },
      spec: { controllerName: 'traefik.io/gateway-controller' },
    });
    expect(gw).toEqual({
      apiVersion: GW,
      kind: 'Gateway',
      metadata: { name: 'public', namespace: 'infra', labels: {} },
      spec: {
        gatewayClassName: 'traefik',
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } },
          {
            name: 'tls',
            protocol: 'TLS',
            port: 443,
            tls: { mode: 'Passthrough' },
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    });
  });

  it('with Gateway API: the pinned standard-channel CRDs first, the provider and its RBAC, the class and Gateways last', () => {
    const crds = loadGatewayApiCrds();
    const names = crds.map((c) => (c.metadata as { name: string }).name).sort();
    expect(names).toEqual(
      [
        'backendtlspolicies',
        'gatewayclasses',
        'gateways',
        'grpcroutes',
        'httproutes',
        'referencegrants',
        'tlsroutes',
      ].map((n) => `${n}.gateway.networking.k8s.io`),
    );
    for (const c of crds)
      expect((c.metadata as { annotations: Record<string, string> }).annotations).toMatchObject({
        'gateway.networking.k8s.io/bundle-version': GATEWAY_API_VERSION,
        'gateway.networking.k8s.io/channel': 'standard',
      });
    const app = [route('HTTPRoute', 'web', 'p', [{ name: 'public', namespace: 'infra' }])];
    const objs = ingressObjects(opts, app);
    expect(argsOf(objs)).toContain('--providers.kubernetesgateway=true');
    const role = objs.find((o) => o.kind === 'ClusterRole') as {
      rules: Array<{ apiGroups: string[]; resources: string[] }>;
    };
    const gwRules = role.rules.filter((r) => r.apiGroups.includes('gateway.networking.k8s.io'));
    expect(gwRules.flatMap((r) => r.resources)).toEqual(
      expect.arrayContaining(['httproutes', 'tlsroutes', 'gateways/status', 'httproutes/status']),
    );
    // Rendered as up renders devenv's objects, then in apply order: CRDs before the class and
    // the Gateway (custom resources last); the GatewayClass cluster-scoped (its CRD says so).
    const rendered = renderManifests({
      docs: objs.map((doc, index) => ({ file: '<devenv:ingress>', index, doc })),
      project: 'p',
      env: 'dev',
      defaultNamespace: 'p',
    }).objects;
    const order = sortForApply(rendered).map((o) => o.id.kind);
    expect(order.lastIndexOf('CustomResourceDefinition')).toBeLessThan(order.indexOf('GatewayClass'));
    expect(order.slice(-2)).toEqual(['GatewayClass', 'Gateway']);
    expect(rendered.find((o) => o.id.kind === 'GatewayClass')?.id.namespace).toBe('');
    expect(rendered.find((o) => o.id.kind === 'Gateway')?.id.namespace).toBe('infra');
  });
});

// Port-forwards without a cluster: the forms `services[].forwards` accepts (config/schema.ts)
// and their file:line:col errors, their resolution against rendered manifests
// (engine/forwards.ts), and which pods a connection may go to (kube/portforward.ts).
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostics.ts';
import { type Config, configSchema, forwardEntry } from '../../src/config/schema.ts';
import { validateConfigText } from '../../src/config/validate.ts';
import { forwardLine, forwardPortNeeds, planForwards } from '../../src/engine/forwards.ts';
import { readyFromPods, readyFromSlices } from '../../src/kube/portforward.ts';
import type { KubeObject } from '../../src/manifests/types.ts';

const probe = { kind: (p: string) => (p.endsWith('Dockerfile') ? ('file' as const) : ('dir' as const)) };

function configText(forwards: string): string {
  return `apiVersion: devenv.dev/v1alpha1
project: shop
services:
  - name: api
    manifests: [k8s]
    forwards: ${forwards}
`;
}

function errors(forwards: string): string[] {
  const r = validateConfigText(configText(forwards), 'devenv.yaml', probe);
  return r.ok ? [] : r.diagnostics.map(formatDiagnostic);
}

describe('services[].forwards: the forms', () => {
  it('parses every form into { local, service?, port }', () => {
    const parse = (v: unknown) => forwardEntry.parse(v);
    expect(parse('8080:http')).toEqual({ local: 8080, port: 'http' });
    expect(parse('8080:9229')).toEqual({ local: 8080, port: 9229 });
    expect(parse('9229')).toEqual({ local: 9229, port: 9229 });
    expect(parse(9229)).toEqual({ local: 9229, port: 9229 });
    expect(parse('8080:web:http')).toEqual({ local: 8080, service: 'web', port: 'http' });
    expect(parse({ local: 8080, service: 'web', port: 'http' })).toEqual({
      local: 8080,
      service: 'web',
      port: 'http',
    });
    expect(parse({ port: 5005 })).toEqual({ local: 5005, port: 5005 });
  });

  it('a config with forwards validates, and an absent key means none', () => {
    const r = validateConfigText(
      configText('["8080:http", 9229, { local: 8081, service: admin, port: 80 }]'),
      'devenv.yaml',
      probe,
    );
    expect(r.ok).toBe(true);
    const without = configSchema.parse({
      apiVersion: 'devenv.dev/v1alpha1',
      project: 'shop',
      services: [{ name: 'api', manifests: ['k8s'] }],
    });
    expect(without.services[0]?.forwards ?? []).toEqual([]);
  });

  it('reports each bad entry at its file:line:col', () => {
    expect(errors('["http"]')[0]).toMatch(
      /^devenv\.yaml:6:16: services\[0\]\.forwards\[0\]: .*needs a local port/,
    );
    expect(errors('["web:http"]')[0]).toMatch(/^devenv\.yaml:6:16: .*needs a local port .*"8080:web:http"/);
    expect(errors('["70000:http"]')[0]).toMatch(/^devenv\.yaml:6:16: .*port 70000 is out of range/);
    expect(errors('["8080:HTTP"]')[0]).toMatch(
      /^devenv\.yaml:6:16: .*must be a port forward such as "8080:http"/,
    );
    expect(errors('[{ port: http }]')[0]).toMatch(/^devenv\.yaml:6:16: .*needs "local"/);
    expect(errors('[{ local: 8080, port: http, host: x }]')[0]).toMatch(/unknown key "host"/);
  });

  it('a local port used twice, or by the cluster, is an error at the second use', () => {
    expect(errors('["8080:http", "8080:grpc"]')).toEqual([
      expect.stringMatching(
        /^devenv\.yaml:6:29: host port 8080 is already used by services\[0\]\.forwards\[0\]/,
      ),
    ]);
    expect(errors('["5001:http"]')).toEqual([
      expect.stringMatching(/^devenv\.yaml:6:16: host port 5001 is already used by cluster\.registryPort/),
    ]);
  });
});

// ---------------------------------------------------------------- planning

const svc = (
  name: string,
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>,
  selector: Record<string, string> | undefined = { app: name },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { ...(selector ? { selector } : {}), ports },
});

function plan(forwards: unknown[], objects: KubeObject[]) {
  const config = configSchema.parse({
    apiVersion: 'devenv.dev/v1alpha1',
    project: 'shop',
    services: [{ name: 'api', manifests: ['k8s'], forwards }],
  }) as Config;
  return planForwards(
    config,
    new Map([['api', objects]]),
    (i, j) => `devenv.yaml:9:7: services[${i}].forwards[${j}]`,
  );
}

describe('planForwards: an entry resolved against the rendered manifests', () => {
  const api = svc('api', [
    { name: 'http', port: 80, targetPort: 'http' },
    { name: 'debug', port: 9229 },
  ]);

  it("resolves a port by name or number on the service's only Service", () => {
    const r = plan(['8080:http', '9229'], [api]);
    expect(r.problems).toEqual([]);
    expect(r.plans).toEqual([
      {
        service: 'api',
        local: 8080,
        namespace: 'shop',
        serviceName: 'api',
        port: { name: 'http', port: 80, targetPort: 'http' },
        selector: { app: 'api' },
        configKey: 'services[0].forwards[0]',
      },
      expect.objectContaining({ local: 9229, port: { name: 'debug', port: 9229, targetPort: 9229 } }),
    ]);
    expect(forwardLine(r.plans[0]!)).toBe('127.0.0.1:8080 → Service shop/api port http (80)');
    expect(forwardPortNeeds(r.plans)[0]).toEqual({
      port: 8080,
      what: 'forward to Service shop/api port http (80)',
      configKey: 'services[0].forwards[0]',
    });
  });

  it('a missing port names the Service, its ports and the likely one', () => {
    expect(plan(['8080:htp'], [api]).problems).toEqual([
      'devenv.yaml:9:7: services[0].forwards[0]: Service shop/api has no port "htp" (did you mean "http"?); its ports: http (80), debug (9229)',
    ]);
    expect(plan(['8080'], [api]).problems[0]).toContain('Service shop/api has no port 8080');
  });

  it('several Services: the one with the port, or the one the entry names; else ambiguous', () => {
    const admin = svc('admin', [{ name: 'http', port: 80 }]);
    const grpc = svc('grpc', [{ name: 'grpc', port: 9090 }]);
    expect(plan(['9090:grpc'], [api, admin, grpc]).plans[0]?.serviceName).toBe('grpc');
    expect(plan(['8080:admin:http'], [api, admin]).plans[0]?.serviceName).toBe('admin');
    expect(plan(['8080:http'], [api, admin]).problems).toEqual([
      'devenv.yaml:9:7: services[0].forwards[0]: service "api" renders 2 Services with port "http" (api, admin); name one, e.g. "8080:api:http"',
    ]);
    expect(plan(['8080:admn:http'], [api, admin]).problems[0]).toContain(
      'renders no Service "admn" (did you mean "admin"?); its Services: api, admin',
    );
  });

  it('no Service, or a Service without a selector, is an error naming it', () => {
    expect(plan(['8080:http'], []).problems[0]).toContain('the manifests of service "api" render no Service');
    expect(plan(['8080:http'], [svc('ext', [{ name: 'http', port: 80 }], {})]).problems[0]).toContain(
      'Service shop/ext has no selector',
    );
  });
});

// ---------------------------------------------------------------- which pod

describe('a connection goes to a ready pod', () => {
  it('from EndpointSlices: ready, not terminating, Pod targets, the port of that name', () => {
    const slices = [
      {
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          { conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-b' } },
          { conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'web-starting' } },
          { conditions: { ready: false, terminating: true }, targetRef: { kind: 'Pod', name: 'web-old' } },
          { conditions: {}, targetRef: { kind: 'Pod', name: 'web-a' } },
        ],
      },
      {
        ports: [{ name: 'debug', port: 9229 }],
        endpoints: [{ conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'x' } }],
      },
    ];
    expect(readyFromSlices(slices, 'http')).toEqual([
      { pod: 'web-a', port: 8080 },
      { pod: 'web-b', port: 8080 },
    ]);
    expect(readyFromSlices([], 'http')).toBeUndefined();
    expect(readyFromSlices(slices, 'grpc')).toEqual([]);
  });

  it('without slices, from the selector: Ready pods not being deleted, a named targetPort resolved', () => {
    const pod = (name: string, ready: boolean, deleting = false) => ({
      metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
      spec: { containers: [{ ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const pods = [pod('a', true), pod('b', false), pod('c', true, true)];
    expect(readyFromPods(pods, 'http')).toEqual([{ pod: 'a', port: 8080 }]);
    expect(readyFromPods(pods, 3000)).toEqual([{ pod: 'a', port: 3000 }]);
    expect(readyFromPods(pods, 'grpc')).toEqual([]);
  });
});

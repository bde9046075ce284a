import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { assertDevContextAllowed } from '../../src/cluster/context.ts';
import { k3dContext, plannedHostPorts, renderK3dConfig } from '../../src/cluster/k3dconfig.ts';
import { configSchema } from '../../src/config/schema.ts';
import { acquireLock } from '../../src/engine/lock.ts';

const base = readFileSync(join(import.meta.dirname, '..', '..', 'k3d', 'cluster.yaml'), 'utf8');
const config = configSchema.parse({
  apiVersion: 'devenv.dev/v1alpha1',
  project: 'shop',
  cluster: { httpPort: 8080, httpsPort: 8443, registryPort: 5002, allowContexts: ['kind-dev'] },
  tls: { hosts: ['chat.shop.localhost'], service: 'chat', port: 9443 },
});

describe('k3d config rendering', () => {
  const out = YAML.parse(renderK3dConfig(base, 'k3d/cluster.yaml', config));
  it('fills name, node counts, ports and registry from devenv.yaml', () => {
    expect(out.metadata.name).toBe('shop');
    expect(out.servers).toBe(1);
    expect(out.agents).toBe(2);
    expect(out.ports.map((p: { port: string }) => p.port)).toEqual([
      '127.0.0.1:8080:80',
      '127.0.0.1:8443:443',
      '127.0.0.1:9443:30443',
    ]);
    expect(out.registries.create).toMatchObject({ name: 'k3d-shop-registry', hostPort: '5002' });
    expect(out.registries.config).toContain('"localhost:5002"');
    expect(out.registries.config).toContain('http://k3d-shop-registry:5000');
  });
  it('keeps everything it does not own as written', () => {
    const original = YAML.parse(base);
    expect(out.options).toEqual(original.options);
    expect(out.image).toBe(original.image);
    expect(out.apiVersion).toBe('k3d.io/v1alpha5');
  });
  it('keeps extra port mappings the project added', () => {
    const withExtra = base.replace(
      'registries:',
      '  - port: 9999:9999\n    nodeFilters: [loadbalancer]\nregistries:',
    );
    const r = YAML.parse(renderK3dConfig(withExtra, 'k3d/cluster.yaml', config));
    expect(r.ports.map((p: { port: string }) => p.port)).toContain('127.0.0.1:9999:9999');
  });
});

describe('k3d config: loopback by default, the LAN only when asked', () => {
  const render = (expose: 'localhost' | 'lan' | undefined, text = base) => {
    const c = configSchema.parse({
      apiVersion: 'devenv.dev/v1alpha1',
      project: 'shop',
      cluster: expose ? { expose } : {},
      tls: { hosts: ['chat.shop.localhost'], service: 'chat' },
    });
    return { config: c, out: YAML.parse(renderK3dConfig(text, 'k3d/cluster.yaml', c)) };
  };
  it('binds ingress, TLS passthrough, registry and Kubernetes API to 127.0.0.1', () => {
    const { config: c, out: o } = render(undefined);
    expect(c.cluster.expose).toBe('localhost');
    expect(o.ports.map((p: { port: string }) => p.port)).toEqual([
      '127.0.0.1:80:80',
      '127.0.0.1:443:443',
      '127.0.0.1:8443:30443',
    ]);
    expect(o.registries.create.host).toBe('127.0.0.1');
    expect(o.kubeAPI.hostIP).toBe('127.0.0.1');
  });
  it('with cluster.expose: lan, only the ingress ports bind to every interface', () => {
    const { out: o } = render('lan');
    expect(o.ports.map((p: { port: string }) => p.port)).toEqual([
      '0.0.0.0:80:80',
      '0.0.0.0:443:443',
      '0.0.0.0:8443:30443',
    ]);
    expect(o.registries.create.host).toBe('127.0.0.1');
    expect(o.kubeAPI.hostIP).toBe('127.0.0.1');
  });
  it('overrides a k3d file that binds to every interface; keeps an address a project wrote for its own port', () => {
    const open = base
      .replace('    host: 127.0.0.1\n', '    host: 0.0.0.0\n')
      .replace(
        'registries:',
        [
          '  - port: 0.0.0.0:80:80',
          '    nodeFilters: [loadbalancer]',
          '  - port: 9000',
          '    nodeFilters: [loadbalancer]',
          '  - port: 192.168.1.5:9100:9100/udp',
          '    nodeFilters: [loadbalancer]',
          'kubeAPI:',
          '  hostIP: 0.0.0.0',
          '  hostPort: "6550"',
          'registries:',
        ].join('\n'),
      );
    expect(YAML.parse(open).registries.create.host).toBe('0.0.0.0');
    const { out: o } = render(undefined, open);
    expect(o.ports.map((p: { port: string }) => p.port)).toEqual([
      '127.0.0.1:80:80',
      '127.0.0.1:443:443',
      '127.0.0.1:8443:30443',
      '127.0.0.1::9000',
      '192.168.1.5:9100:9100/udp',
    ]);
    expect(o.registries.create.host).toBe('127.0.0.1');
    expect(o.kubeAPI).toEqual({ hostIP: '127.0.0.1', hostPort: '6550' });
  });
  it('plannedHostPorts lists every published port with its address (what doctor, status and the e2e compare)', () => {
    const { config: c } = render(undefined);
    expect(plannedHostPorts(c, 6550).map((p) => `${p.what} ${p.hostIp}:${p.hostPort ?? '*'}`)).toEqual([
      'ingress HTTP 127.0.0.1:80',
      'ingress HTTPS 127.0.0.1:443',
      'TLS passthrough 127.0.0.1:8443',
      'image registry 127.0.0.1:5001',
      'Kubernetes API 127.0.0.1:6550',
    ]);
    const lan = plannedHostPorts(render('lan').config).map((p) => p.hostIp);
    expect(lan).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0', '127.0.0.1', '127.0.0.1']);
  });
  it('refuses something that is not a k3d Simple config', () => {
    expect(() => renderK3dConfig('apiVersion: v1\nkind: Pod\n', 'x.yaml', config)).toThrow(
      /k3d.io\/v1alpha5/,
    );
  });
});

describe('context safety', () => {
  it('allows the devenv-owned context and allow-listed ones', () => {
    expect(k3dContext('shop')).toBe('k3d-shop');
    expect(() => assertDevContextAllowed(config, 'k3d-shop')).not.toThrow();
    expect(() => assertDevContextAllowed(config, 'kind-dev')).not.toThrow();
  });
  it('refuses any other context with the fix', () => {
    expect(() => assertDevContextAllowed(config, 'prod-eu')).toThrow(
      /refusing to deploy to kube context "prod-eu".*allowContexts/,
    );
  });
});

describe('up lock', () => {
  it('refuses a second holder and takes over a stale lock', () => {
    process.env.DEVENV_STATE_DIR = mkdtempSync(join(tmpdir(), 'devenv-lock-'));
    const lock = acquireLock('shop');
    // A live owner (this process pretending to be another one): refused.
    writeFileSync(lock.path, JSON.stringify({ pid: process.ppid, since: 'x' }));
    expect(() => acquireLock('shop')).toThrow(/another "devenv up" is running/);
    // A dead owner (kill -9): taken over.
    writeFileSync(lock.path, JSON.stringify({ pid: 2 ** 22 + 12345, since: 'x' }));
    const again = acquireLock('shop');
    again.release();
    delete process.env.DEVENV_STATE_DIR;
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { assertDevContextAllowed } from '../../src/cluster/context.ts';
import { k3dContext, renderK3dConfig } from '../../src/cluster/k3dconfig.ts';
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
    expect(out.ports.map((p: { port: string }) => p.port)).toEqual(['8080:80', '8443:443', '9443:30443']);
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
    expect(r.ports.map((p: { port: string }) => p.port)).toContain('9999:9999');
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

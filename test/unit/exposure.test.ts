/**
 * Live port bindings of the k3d cluster against cluster.expose (src/cluster/exposure.ts)
 * and doctor's `exposure` check. The bindings are shaped as Docker reports them for k3d's
 * containers (IPv4 and IPv6 entries when a port listens on every interface).
 */
import { describe, expect, it } from 'vitest';
import { type BoundPort, compareBindings, isClusterContainer } from '../../src/cluster/exposure.ts';
import { configSchema } from '../../src/config/schema.ts';
import { exposureCheck } from '../../src/doctor/exposure.ts';
import { exposureLine } from '../../src/engine/exposure.ts';

const config = (expose?: 'localhost' | 'lan') =>
  configSchema.parse({
    apiVersion: 'devenv.dev/v1alpha1',
    project: 'shop',
    ...(expose ? { cluster: { expose } } : {}),
    tls: { hosts: ['chat.shop.localhost'], service: 'chat' },
  });

const lb = 'k3d-shop-serverlb';
const reg = 'k3d-shop-registry';
const loopback: BoundPort[] = [
  { container: lb, hostIp: '127.0.0.1', hostPort: 80, containerPort: 80 },
  { container: lb, hostIp: '127.0.0.1', hostPort: 443, containerPort: 443 },
  { container: lb, hostIp: '127.0.0.1', hostPort: 8443, containerPort: 30443 },
  { container: lb, hostIp: '127.0.0.1', hostPort: 41233, containerPort: 6443 },
  { container: reg, hostIp: '127.0.0.1', hostPort: 5001, containerPort: 5000 },
];
// What a cluster created by the old k3d/cluster.yaml publishes (issue 18's probe).
const everywhere: BoundPort[] = loopback.flatMap((b) =>
  b.container === reg
    ? [b]
    : [
        { ...b, hostIp: '0.0.0.0' },
        { ...b, hostIp: '::' },
      ],
);

describe('compareBindings', () => {
  it('a loopback cluster matches the default plan, the API on its random port', () => {
    const r = compareBindings(config(), loopback);
    expect(r.map((b) => [b.what, b.actual.join(' '), b.ok])).toEqual([
      ['ingress HTTP', '127.0.0.1:80', true],
      ['ingress HTTPS', '127.0.0.1:443', true],
      ['TLS passthrough', '127.0.0.1:8443', true],
      ['image registry', '127.0.0.1:5001', true],
      ['Kubernetes API', '127.0.0.1:41233', true],
    ]);
    expect(r.at(-1)?.hostPort).toBe(41233);
  });
  it('every interface where loopback is planned is not ok (IPv6 too)', () => {
    const r = compareBindings(config(), everywhere);
    expect(r.filter((b) => !b.ok).map((b) => b.what)).toEqual([
      'ingress HTTP',
      'ingress HTTPS',
      'TLS passthrough',
      'Kubernetes API',
    ]);
    expect(r[0]!.actual).toEqual(['0.0.0.0:80', '[::]:80']);
  });
  it('with expose: lan the ingress may listen everywhere, the API still may not', () => {
    const r = compareBindings(config('lan'), everywhere);
    expect(r.filter((b) => !b.ok).map((b) => b.what)).toEqual(['Kubernetes API']);
  });
  it('knows the cluster containers by k3d label or name, and no others', () => {
    expect(isClusterContainer('shop', 'k3d-shop-server-0', { 'k3d.cluster': 'shop' })).toBe(true);
    expect(isClusterContainer('shop', reg, {})).toBe(true);
    expect(isClusterContainer('shop', 'k3d-shopping-serverlb', { 'k3d.cluster': 'shopping' })).toBe(false);
    expect(isClusterContainer('shop', 'devenv-shop-db', { 'dev.devenv/project': 'shop' })).toBe(false);
  });
});

describe('doctor: exposure', () => {
  it('ok for a loopback cluster, listing the live addresses', () => {
    const c = exposureCheck(config(), loopback);
    expect(c).toMatchObject({ id: 'exposure', status: 'ok', required: false });
    expect(c.detail).toContain('ingress HTTP 127.0.0.1:80');
    expect(c.detail).toContain('Kubernetes API 127.0.0.1:41233');
  });
  it('warns, with the fix, for a cluster listening on every interface', () => {
    const c = exposureCheck(config(), everywhere);
    expect(c.status).toBe('warn');
    expect(c.detail).toMatch(/every interface, not 127\.0\.0\.1: ingress HTTP 0\.0\.0\.0:80 \[::\]:80/);
    expect(c.fix).toContain('k3d cluster delete shop');
  });
  it('warns whenever expose: lan is on, so it is never on by accident', () => {
    expect(
      exposureCheck(
        config('lan'),
        everywhere.filter((b) => b.containerPort !== 6443),
      ).status,
    ).toBe('warn');
    expect(exposureCheck(config('lan'), []).detail).toMatch(/anyone on this network/);
  });
  it('before the cluster exists: what up will bind', () => {
    const c = exposureCheck(config(), []);
    expect(c.status).toBe('ok');
    expect(c.detail).toContain('ingress HTTPS 127.0.0.1:443');
    expect(c.detail).toContain('Kubernetes API 127.0.0.1:<random>');
  });
  it('skips without a config or a Docker engine', () => {
    expect(exposureCheck(undefined, []).status).toBe('skip');
    expect(exposureCheck(config(), undefined).status).toBe('skip');
  });
});

describe('up: the exposure line', () => {
  it('quiet for loopback, naming every address', () => {
    expect(exposureLine(config(), compareBindings(config(), loopback))).toBe(
      'published on loopback only: ingress HTTP 127.0.0.1:80, ingress HTTPS 127.0.0.1:443, TLS passthrough 127.0.0.1:8443, image registry 127.0.0.1:5001, Kubernetes API 127.0.0.1:41233',
    );
  });
  it('loud for expose: lan', () => {
    const lan = everywhere.filter((b) => b.containerPort !== 6443);
    expect(exposureLine(config('lan'), compareBindings(config('lan'), lan))).toMatch(
      /^WARNING: cluster\.expose: lan: the ingress listens on every interface, reachable by anyone on this network \(ingress HTTP 0\.0\.0\.0:80 \[::\]:80/,
    );
  });
  it('loud, with the fix, for a cluster wider than devenv.yaml asks', () => {
    const line = exposureLine(config(), compareBindings(config(), everywhere));
    expect(line).toMatch(/^WARNING: listening on every interface: ingress HTTP 0\.0\.0\.0:80/);
    expect(line).toContain('k3d cluster delete shop');
  });
});

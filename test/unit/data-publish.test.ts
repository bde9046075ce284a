/**
 * Where the data services are published (src/data/publish.ts): 127.0.0.1 only for the k3d
 * cluster; for an allow-listed existing cluster, ALSO cluster.dataHost, the one address its
 * pods are told to use, never every interface. Real compose files, real plan.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { generateCredentials } from '../../src/data/credentials.ts';
import { completeSpec, planData } from '../../src/data/plan.ts';
import { alsoPublishOn, dataPublishAddress } from '../../src/data/publish.ts';

const ROOT = join(import.meta.dirname, '../..');
const src = (name: string) => ({
  text: readFileSync(join(ROOT, 'compose', `${name}.yaml`), 'utf8'),
  file: `compose/${name}.yaml`,
  dir: join(ROOT, 'compose'),
});
const plan = planData({
  config: configSchema.parse({
    apiVersion: 'devenv.dev/v1alpha1',
    project: 'shop',
    database: { engine: 'postgres', port: 15432 },
    objectStore: { port: 19000, consolePort: 19001 },
  }),
  root: '/proj',
  credentials: generateCredentials(),
  database: src('postgres'),
  objectStore: src('minio'),
  env: {},
});
const bindings = (p: {
  spec: { ports: Array<{ hostIp?: string; hostPort?: number; containerPort: number }> };
}) => p.spec.ports.map((b) => `${b.hostIp ?? '*'}:${b.hostPort}->${b.containerPort}`);

describe('data services: where they are published', () => {
  it('by default on 127.0.0.1 only (the compose files say so)', () => {
    expect(bindings(plan.database!)).toEqual(['127.0.0.1:15432->5432']);
    expect(bindings(plan.objectStore!)).toEqual(['127.0.0.1:19000->9000', '127.0.0.1:19001->9001']);
  });
  it('only an existing cluster with an address for this machine needs more', () => {
    expect(dataPublishAddress({ kind: 'k3d' }, '192.168.1.20')).toBeUndefined();
    expect(dataPublishAddress({ kind: 'existing' }, '192.168.1.20')).toBe('192.168.1.20');
    expect(dataPublishAddress({ kind: 'existing' }, '127.0.0.1')).toBeUndefined();
    // Docker binds addresses, not names.
    expect(dataPublishAddress({ kind: 'existing' }, 'dev-laptop.lan')).toBeUndefined();
  });
  it('for it, each port is bound on 127.0.0.1 and on that one address, never 0.0.0.0', () => {
    const db = alsoPublishOn(plan.database!, '192.168.1.20');
    expect(bindings(db)).toEqual(['127.0.0.1:15432->5432', '192.168.1.20:15432->5432']);
    expect(db.ports.map((p) => p.configKey)).toEqual(['database.port', 'database.port']);
    const s3 = alsoPublishOn(plan.objectStore!, '10.0.0.7');
    expect(bindings(s3)).toEqual([
      '127.0.0.1:19000->9000',
      '127.0.0.1:19001->9001',
      '10.0.0.7:19000->9000',
      '10.0.0.7:19001->9001',
    ]);
    expect(bindings(s3).some((b) => b.startsWith('0.0.0.0') || b.startsWith('*'))).toBe(false);
  });
  it('changes the container spec hash, so switching target recreates the container (data volumes stay)', () => {
    const a = completeSpec(plan.database!, { id: 'sha256:x', volumes: [] }).hash;
    const b = completeSpec(alsoPublishOn(plan.database!, '192.168.1.20'), {
      id: 'sha256:x',
      volumes: [],
    }).hash;
    expect(a).not.toBe(b);
  });
});

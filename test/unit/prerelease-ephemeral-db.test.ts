// biome-ignore-all lint/suspicious/noExplicitAny: the tests walk into planned manifests, whose shape the assertions check
// prerelease.database: ephemeral — the database server planned into the namespace from
// the SAME compose files as the dev containers (devenv's own compose/postgres.yaml and
// compose/mysql.yaml, read from disk here), so both places agree on image, environment and
// healthcheck.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import type { ComposeSource } from '../../src/data/plan.ts';
import { DevenvError } from '../../src/errors.ts';
import { planPrereleaseData, prereleaseDataSecret } from '../../src/prerelease/data.ts';
import { planEphemeralDatabase, readinessProbe } from '../../src/prerelease/ephemeral-db.ts';

const root = join(import.meta.dirname, '..', '..');
const compose = (name: string, text?: string): ComposeSource => {
  const file = join(root, 'compose', `${name}.yaml`);
  return {
    text: text ?? readFileSync(file, 'utf8'),
    file: `compose/${name}.yaml`,
    dir: join(root, 'compose'),
  };
};
const cfg = (engine: 'postgres' | 'mysql', extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    apiVersion: 'devenv.dev/v1alpha1',
    project: 'shop',
    database: { engine, databases: ['shop_main'], ...extra },
    objectStore: { buckets: ['uploads'] },
    prerelease: { database: 'ephemeral' },
  });
const creds = { user: 'devenv', password: 'pw-app', rootPassword: 'pw-root' };
const find = (objs: Array<Record<string, any>>, kind: string) => objs.find((o) => o.kind === kind)!;

describe('ephemeral prerelease database', () => {
  it('Postgres: a Deployment, Service and env Secret from compose/postgres.yaml', () => {
    const db = planEphemeralDatabase(
      cfg('postgres', { image: 'registry.example.com/postgres:15' }),
      root,
      compose('postgres'),
      creds,
    );
    expect(db).toMatchObject({
      engine: 'postgres',
      database: 'shop_main',
      user: 'devenv',
      access: { host: 'devenv-db', port: 5432, user: 'devenv', password: 'pw-app', database: 'shop_main' },
    });
    const secret = find(db.objects, 'Secret');
    expect(secret.metadata.name).toBe('devenv-db-env');
    expect(secret.stringData).toEqual({
      POSTGRES_USER: 'devenv',
      POSTGRES_PASSWORD: 'pw-app',
      POSTGRES_DB: 'shop_main',
    });
    const dep = find(db.objects, 'Deployment');
    expect(dep.spec.strategy).toEqual({ type: 'Recreate' });
    const c = dep.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.example.com/postgres:15');
    // The passwords stay in the Secret, not in the Deployment.
    expect(JSON.stringify(dep)).not.toContain('pw-app');
    expect(c.envFrom).toEqual([{ secretRef: { name: 'devenv-db-env' } }]);
    expect(c.volumeMounts).toEqual([
      { name: 'data-0', mountPath: '/var/lib/postgresql/data', readOnly: false },
    ]);
    expect(dep.spec.template.spec.volumes).toEqual([{ name: 'data-0', emptyDir: {} }]);
    // compose's "$$POSTGRES_USER" is the container shell's variable.
    expect(c.readinessProbe).toEqual({
      exec: {
        command: ['sh', '-c', 'pg_isready -q -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
      },
      periodSeconds: 2,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(find(db.objects, 'Service').spec.ports).toEqual([{ name: 'db', port: 5432, targetPort: 'db' }]);
  });

  it('MySQL: the official image interface, root password included; default image', () => {
    const db = planEphemeralDatabase(cfg('mysql'), root, compose('mysql'), creds);
    expect(db.access.port).toBe(3306);
    expect(db.image).toBe('mysql:8.4');
    expect(find(db.objects, 'Secret').stringData).toMatchObject({
      MYSQL_ROOT_PASSWORD: 'pw-root',
      MYSQL_USER: 'devenv',
      MYSQL_PASSWORD: 'pw-app',
      MYSQL_DATABASE: 'shop_main',
    });
  });

  it('mounts database.initScripts where the official images run them at first start', () => {
    const db = planEphemeralDatabase(cfg('postgres'), root, compose('postgres'), creds, [
      { name: 'db/schema.sql', sql: 'CREATE TABLE t (id int);' },
      { name: 'db/seed data.sql', sql: 'INSERT INTO t VALUES (1);' },
    ]);
    expect(find(db.objects, 'ConfigMap')).toMatchObject({
      metadata: { name: 'devenv-db-init' },
      data: { '00-schema.sql': 'CREATE TABLE t (id int);', '01-seed_data.sql': 'INSERT INTO t VALUES (1);' },
    });
    const pod = find(db.objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'init-scripts',
      mountPath: '/docker-entrypoint-initdb.d',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({ name: 'init-scripts', configMap: { name: 'devenv-db-init' } });
  });

  it('refuses a compose file with a bind mount, naming the file (exit 2)', () => {
    const text = readFileSync(join(root, 'compose', 'postgres.yaml'), 'utf8').replace(
      '- data:/var/lib/postgresql/data',
      '- ./initdb:/docker-entrypoint-initdb.d',
    );
    try {
      planPrereleaseData(cfg('postgres'), 'prerelease-n1', {}, { compose: compose('postgres', text), root });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DevenvError);
      expect((err as DevenvError).exitCode).toBe(2);
      expect((err as DevenvError).message).toMatch(/compose\/postgres\.yaml: bind mounts .*initdb/);
    }
  });

  it('needs no shared server: no admin URL, and the devenv-data Secret points at the Service', () => {
    const plan = planPrereleaseData(
      cfg('postgres'),
      'prerelease-n1',
      {},
      { compose: compose('postgres'), root },
    );
    expect(plan.database?.mode).toBe('ephemeral');
    const db = planEphemeralDatabase(cfg('postgres'), root, compose('postgres'), creds);
    const secret = prereleaseDataSecret('shop', 'prerelease-n1', plan, db.access)!;
    expect(secret.stringData).toMatchObject({
      DATABASE_URL: 'postgresql://devenv:pw-app@devenv-db:5432/shop_main',
      DB_HOST: 'devenv-db',
    });
  });

  it('maps Docker healthchecks to readiness probes', () => {
    expect(readinessProbe(undefined)).toBeUndefined();
    expect(readinessProbe({ test: ['NONE'] })).toBeUndefined();
    expect(readinessProbe({ test: ['CMD', 'mysqladmin', 'ping'], intervalNs: 500e6 })).toEqual({
      exec: { command: ['mysqladmin', 'ping'] },
      periodSeconds: 1,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
  });
});

import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OBJECT_STORE_ENGINES } from '../../src/config/engines.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ensureCredentials, generateCredentials, readCredentials } from '../../src/data/credentials.ts';
import { clientCommand, dumpCommands, quoteString, restoreCommand } from '../../src/data/database.ts';
import { completeSpec, dataLabels, planData } from '../../src/data/plan.ts';
import { checkSnapshotName, defaultSnapshotName, snapshotKey } from '../../src/data/snapshot.ts';

const ROOT = join(import.meta.dirname, '../..');
const src = (name: string) => ({
  text: readFileSync(join(ROOT, 'compose', `${name}.yaml`), 'utf8'),
  file: `compose/${name}.yaml`,
  dir: join(ROOT, 'compose'),
});

const config = configSchema.parse({
  apiVersion: 'devenv.dev/v1alpha1',
  project: 'my-shop',
  database: { engine: 'postgres', port: 15432, databases: ['shop', 'analytics'] },
  objectStore: { port: 19000, consolePort: 19001, buckets: ['uploads'] },
});
const creds = generateCredentials();
const plan = planData({
  config,
  root: '/proj',
  credentials: creds,
  database: src('postgres'),
  objectStore: src('minio'),
  env: {},
});

describe('data plan', () => {
  it('defaults to images that exist, pinned: MinIO from quay.io by digest (Docker Hub no longer serves minio/minio)', () => {
    expect(plan.objectStore!.engine).toBe('minio');
    expect(plan.objectStore!.spec.image).toBe(
      'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z@sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e',
    );
    // The compose file's own default (used when run by hand) is the same pinned image.
    expect(src('minio').text).toContain(`\${MINIO_IMAGE:-${OBJECT_STORE_ENGINES.minio.image}}`);
    expect(src('seaweedfs').text).toContain(`\${S3_IMAGE:-${OBJECT_STORE_ENGINES.seaweedfs.image}}`);
    for (const e of Object.values(OBJECT_STORE_ENGINES))
      expect(e.image).toMatch(/^[^@]+:[^:@/]+(@sha256:[0-9a-f]{64})?$/);
  });

  it('plans SeaweedFS from compose/seaweedfs.yaml: S3 port 8333, its own volumes, admin credentials from the project', () => {
    const c = configSchema.parse({
      apiVersion: 'devenv.dev/v1alpha1',
      project: 'my-shop',
      objectStore: { engine: 'seaweedfs', port: 19000, consolePort: 19001 },
    });
    const os = planData({
      config: c,
      root: '/proj',
      credentials: creds,
      objectStore: src('seaweedfs'),
      env: {},
    }).objectStore!;
    expect(os.engine).toBe('seaweedfs');
    expect(os.spec.image).toBe(OBJECT_STORE_ENGINES.seaweedfs.image);
    expect(os.containerName).toBe('devenv-my-shop-minio');
    expect(os.volumes.map((v) => v.name)).toEqual(['devenv-my-shop-seaweedfs-data']);
    expect(os.containerPort).toBe(8333);
    expect(os.hostPort).toBe(19000);
    expect(os.consoleHostPort).toBe(19001);
    expect(os.spec.env).toContain(`AWS_ACCESS_KEY_ID=${creds.objectStore.accessKeyId}`);
    expect(os.spec.env).toContain(`AWS_SECRET_ACCESS_KEY=${creds.objectStore.secretAccessKey}`);
    expect(os.spec.cmd?.[0]).toBe('mini');
    // The default engine's volumes keep their old names (existing projects keep their data).
    expect(plan.objectStore!.volumes.map((v) => v.name)).toEqual(['devenv-my-shop-minio-data']);
  });

  it('names containers and volumes after the project, with labels', () => {
    expect(plan.database!.containerName).toBe('devenv-my-shop-db');
    expect(plan.objectStore!.containerName).toBe('devenv-my-shop-minio');
    expect(plan.database!.volumes).toEqual([
      { name: 'devenv-my-shop-db-data', labels: dataLabels('my-shop', 'database') },
    ]);
    expect(plan.database!.spec.labels).toEqual({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'my-shop',
      'dev.devenv/component': 'data',
      'dev.devenv/role': 'database',
    });
  });

  it('fills the compose file from devenv.yaml and the credentials', () => {
    const db = plan.database!;
    expect(db.spec.image).toBe('postgres:16');
    expect(db.spec.env).toContain(`POSTGRES_PASSWORD=${creds.database.password}`);
    expect(db.spec.env).toContain('POSTGRES_DB=shop');
    expect(db.ports).toMatchObject([{ hostPort: 15432, containerPort: 5432, configKey: 'database.port' }]);
    expect(db.databases).toEqual(['shop', 'analytics']);
    const os = plan.objectStore!;
    expect(os.spec.env).toContain(`MINIO_ROOT_USER=${creds.objectStore.accessKeyId}`);
    expect(os.ports.map((p) => p.configKey)).toEqual(['objectStore.port', 'objectStore.consolePort']);
    expect(os.hostPort).toBe(19000);
    expect(os.consoleHostPort).toBe(19001);
  });

  it('the main database defaults to the project name as an identifier', () => {
    const c = configSchema.parse({
      apiVersion: 'devenv.dev/v1alpha1',
      project: 'my-app',
      database: { engine: 'mysql' },
    });
    const p = planData({ config: c, root: '/', credentials: creds, database: src('mysql'), env: {} });
    expect(p.database!.databases).toEqual(['my_app']);
    expect(p.database!.spec.image).toBe('mysql:8.4');
    expect(p.database!.hostPort).toBe(3306);
  });

  it('gives image VOLUMEs the compose file does not mount a labelled volume, and hashes the spec', () => {
    const a = completeSpec(plan.database!, {
      id: 'sha256:1',
      volumes: ['/var/lib/postgresql/data', '/extra'],
    });
    expect(a.volumes.map((v) => v.name)).toEqual([
      'devenv-my-shop-db-data',
      expect.stringMatching(/^devenv-my-shop-db-anon-[0-9a-f]{12}$/),
    ]);
    expect(a.spec.mounts.map((m) => m.target)).toEqual(['/var/lib/postgresql/data', '/extra']);
    expect(a.spec.labels['dev.devenv/spec-hash']).toBe(a.hash);
    // Same inputs, same hash; another image id or another port, another hash.
    expect(
      completeSpec(plan.database!, { id: 'sha256:1', volumes: ['/var/lib/postgresql/data', '/extra'] }).hash,
    ).toBe(a.hash);
    expect(completeSpec(plan.database!, { id: 'sha256:2', volumes: [] }).hash).not.toBe(a.hash);
    const other = planData({
      config: { ...config, database: { ...config.database!, port: 15433 } },
      root: '/proj',
      credentials: creds,
      database: src('postgres'),
      objectStore: src('minio'),
      env: {},
    });
    expect(completeSpec(other.database!, { id: 'sha256:1', volumes: [] }).hash).not.toBe(
      completeSpec(plan.database!, { id: 'sha256:1', volumes: [] }).hash,
    );
  });

  it('refuses a compose file with more than one service', () => {
    const text = 'services:\n  a: {image: x}\n  b: {image: y}\n';
    expect(() =>
      planData({
        config,
        root: '/',
        credentials: creds,
        database: { text, file: 'two.yaml', dir: '/' },
        objectStore: src('minio'),
      }),
    ).toThrow(/two\.yaml: defines 2 services \(a, b\)/);
  });
});

describe('database commands', () => {
  const t = {
    container: 'c',
    engine: 'postgres' as const,
    port: 5432,
    user: 'devenv',
    password: 'SECRET1',
    rootPassword: 'SECRET2',
    database: 'shop',
  };

  it('pass passwords through the environment, never argv', () => {
    for (const c of [
      clientCommand(t),
      clientCommand({ ...t, engine: 'mysql' }, { admin: true }),
      ...dumpCommands(t, ['a', 'b']),
      ...dumpCommands({ ...t, engine: 'mysql' }, ['a']),
      restoreCommand({ ...t, engine: 'mysql' }),
    ]) {
      expect(c.cmd.join(' ')).not.toMatch(/SECRET/);
      expect(c.env.join(' ')).toMatch(/SECRET/);
    }
  });

  it('dump per database for postgres, all at once for mysql', () => {
    expect(dumpCommands(t, ['a', 'b']).map((c) => c.database)).toEqual(['a', 'b']);
    const my = dumpCommands({ ...t, engine: 'mysql' }, ['a', 'b']);
    expect(my).toHaveLength(1);
    expect(my[0]!.cmd.slice(-3)).toEqual(['--databases', 'a', 'b']);
  });

  it('quote strings per engine', () => {
    expect(quoteString('postgres', "a'b\\c")).toBe("'a''b\\c'");
    expect(quoteString('mysql', "a'b\\c")).toBe("'a''b\\\\c'");
  });
});

describe('credentials', () => {
  it('are generated once, stored with mode 0600, random per project', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devenv-cred-'));
    const prev = process.env.DEVENV_STATE_DIR;
    process.env.DEVENV_STATE_DIR = dir;
    try {
      expect(readCredentials('p1')).toBeUndefined();
      const a = ensureCredentials('p1');
      const file = join(dir, 'projects', 'p1', 'credentials.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(ensureCredentials('p1')).toEqual(a);
      const b = ensureCredentials('p2');
      expect(b.database.password).not.toBe(a.database.password);
      expect(a.database.password.length).toBeGreaterThanOrEqual(32);
      expect(a.objectStore.secretAccessKey.length).toBeGreaterThanOrEqual(8);
    } finally {
      if (prev === undefined) delete process.env.DEVENV_STATE_DIR;
      else process.env.DEVENV_STATE_DIR = prev;
    }
  });
});

describe('snapshot names', () => {
  it('default to a sortable UTC time and are validated', () => {
    expect(defaultSnapshotName(new Date('2026-05-01T14:30:05Z'))).toBe('20260501-143005');
    expect(snapshotKey('p', 'n')).toBe('p/n.sql.gz');
    expect(() => checkSnapshotName('../etc')).toThrow(/not allowed/);
    expect(() => checkSnapshotName('ok-1.2_3')).not.toThrow();
  });
});

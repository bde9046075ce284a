import { describe, expect, it } from 'vitest';
import { buildDataSecret, DATA_SECRET_NAME } from '../../src/data/secret.ts';
import type { DataAccess } from '../../src/data/types.ts';
import { bucketVar, connectionVars, databaseUrl, formatDotenv, MASK } from '../../src/data/vars.ts';

const cluster: DataAccess = {
  database: {
    engine: 'postgres',
    host: 'devenv-db',
    port: 5432,
    user: 'devenv',
    password: 'p@ss/w:rd',
    database: 'shop',
    databases: ['shop', 'analytics'],
  },
  objectStore: {
    endpoint: 'http://devenv-minio:9000',
    accessKeyId: 'AK',
    secretAccessKey: 'SK',
    region: 'us-east-1',
    buckets: ['uploads', 'user-avatars'],
    consoleUrl: 'http://127.0.0.1:9001',
  },
};

describe('the devenv-data Secret', () => {
  const s = buildDataSecret('shop', cluster, 'back');

  it('is a labelled Opaque Secret named devenv-data', () => {
    expect(s.apiVersion).toBe('v1');
    expect(s.kind).toBe('Secret');
    expect(s.type).toBe('Opaque');
    expect(s.metadata).toEqual({
      name: DATA_SECRET_NAME,
      namespace: 'back',
      labels: {
        'app.kubernetes.io/managed-by': 'devenv',
        'dev.devenv/project': 'shop',
        'dev.devenv/component': 'data',
      },
    });
    expect(buildDataSecret('shop', cluster).metadata.namespace).toBeUndefined();
  });

  it('carries the in-cluster connection variables', () => {
    expect(s.stringData).toMatchObject({
      DATABASE_URL: 'postgresql://devenv:p%40ss%2Fw%3Ard@devenv-db:5432/shop',
      DB_HOST: 'devenv-db',
      DB_PORT: '5432',
      DB_USER: 'devenv',
      DB_PASSWORD: 'p@ss/w:rd',
      DB_NAME: 'shop',
      S3_ENDPOINT: 'http://devenv-minio:9000',
      S3_ACCESS_KEY_ID: 'AK',
      S3_SECRET_ACCESS_KEY: 'SK',
      S3_BUCKETS: 'uploads,user-avatars',
      S3_BUCKET_UPLOADS: 'uploads',
      S3_BUCKET_USER_AVATARS: 'user-avatars',
    });
    // The console is a host convenience, not something pods should use.
    expect(s.stringData.S3_CONSOLE_URL).toBeUndefined();
    expect(Object.values(s.stringData).every((v) => typeof v === 'string')).toBe(true);
  });

  it('holds only the parts that are configured', () => {
    const onlyDb = buildDataSecret('p', { database: cluster.database });
    expect(Object.keys(onlyDb.stringData).some((k) => k.startsWith('S3_'))).toBe(false);
    const onlyS3 = buildDataSecret('p', { objectStore: cluster.objectStore });
    expect(onlyS3.stringData.DATABASE_URL).toBeUndefined();
  });
});

describe('connection variables', () => {
  it('mask secrets unless asked, including the password inside DATABASE_URL', () => {
    const masked = connectionVars(cluster, { mask: true });
    expect(masked.DB_PASSWORD).toBe(MASK);
    expect(masked.S3_SECRET_ACCESS_KEY).toBe(MASK);
    expect(masked.DATABASE_URL).toBe('postgresql://devenv:****@devenv-db:5432/shop');
    expect(JSON.stringify(masked)).not.toContain('p@ss');
    expect(JSON.stringify(masked)).not.toContain('"SK"');
    expect(connectionVars(cluster).DB_PASSWORD).toBe('p@ss/w:rd');
  });

  it('use the mysql scheme for MySQL', () => {
    expect(databaseUrl({ ...cluster.database!, engine: 'mysql', port: 3306, password: 'x' })).toBe(
      'mysql://devenv:x@devenv-db:3306/shop',
    );
  });

  it('bucket variable names', () => {
    expect(bucketVar('my.bucket-1')).toBe('S3_BUCKET_MY_BUCKET_1');
  });

  it('dotenv output quotes what a shell would split', () => {
    expect(formatDotenv({ A: 'plain', B: "it's a b", C: 'x$y' })).toBe("A=plain\nB='it'\\''s a b'\nC='x$y'");
  });
});

// The project's object store, on EACH engine devenv offers (objectStore.engine: the real
// MinIO and SeaweedFS servers, built from their Go modules into devenv-test/minio:latest
// and devenv-test/seaweedfs:latest), selected through objectStore.engine + image in a
// temp devenv.yaml. The same suite runs on both: buckets, seed folder, keys, path-style
// access, presigned URLs, multipart uploads, prerelease buckets, the cluster network
// alias, idempotence, destroy; and switching engines on a project that has data.
// (Database snapshots and `devenv env`: the Postgres suite on MinIO, MariaDB on SeaweedFS.)
// The S3 checks use AWS's SDK directly (not devenv's adapter), so they are independent
// of the code under test.
import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OBJECT_STORE_ENGINES, type ObjectStoreEngineName } from '../../src/config/engines.ts';
import { loadConfig } from '../../src/config/load.ts';
import { destroyDataServices } from '../../src/data/destroy.ts';
import { ensureDataServices } from '../../src/data/lifecycle.ts';
import type { DataEndpoints } from '../../src/data/types.ts';
import { demuxBuffer, inspectContainer } from '../../src/docker/containers.ts';
import { docker } from '../../src/docker/engine.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent, StepEvent } from '../../src/events.ts';
import { projectLabels } from '../../src/labels.ts';
import { ensureBuckets, removeBuckets } from '../../src/prerelease/shared-s3.ts';
import { cleanupDataTest, ensureTestNetwork, stepPhases, upData } from '../support/data.ts';
import { freePort } from '../support/fixture.ts';

const ok = inject('dockerAvailable');

/** The offline test image of each engine (the default images need a registry). */
const ENGINES: Array<{ engine: ObjectStoreEngineName; image: string; health: string }> = [
  {
    engine: 'minio',
    image: process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest',
    health: '/minio/health/live',
  },
  {
    engine: 'seaweedfs',
    image: process.env.DEVENV_TEST_SEAWEEDFS_IMAGE ?? 'devenv-test/seaweedfs:latest',
    health: '/healthz',
  },
];

function s3(ep: DataEndpoints, secret?: string): S3Client {
  const o = ep.host.objectStore!;
  return new S3Client({
    endpoint: o.endpoint,
    region: o.region,
    forcePathStyle: true,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: secret ?? o.secretAccessKey },
    maxAttempts: 1,
  });
}

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** sha256 / HMAC-sha256 for the SigV4 signer, from node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** A SigV4 presigned, path-style URL (what an app hands a browser for a direct upload/download). */
async function presign(
  ep: DataEndpoints,
  method: 'GET' | 'PUT',
  bucket: string,
  key: string,
): Promise<string> {
  const o = ep.host.objectStore!;
  const url = new URL(`${o.endpoint}/${bucket}/${key}`);
  const signer = new SignatureV4({
    service: 's3',
    region: o.region,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.presign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      // As AWS's S3 presigner: the payload is not signed (the browser sends it later).
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn: 60 },
  );
  const q = new URLSearchParams(signed.query as Record<string, string>).toString();
  return `${url.origin}${url.pathname}?${q}`;
}

const steps = stepPhases;

describe.skipIf(!ok).each(ENGINES)('data services: object store on $engine', ({ engine, image, health }) => {
  const PROJECT = `t-s3-${engine.slice(0, 3)}-${Math.random().toString(36).slice(2, 8)}`;
  const NETWORK = `${PROJECT}-net`;
  const def = OBJECT_STORE_ENGINES[engine];
  let dir: string;
  const ports: Record<string, number> = {};
  let ep: DataEndpoints;
  const firstEvents: ProgressEvent[] = [];

  const up = (events: ProgressEvent[] = []) => upData(dir, NETWORK, events);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-s3-'));
    process.env.DEVENV_STATE_DIR = join(dir, '.state');
    ports.s3 = await freePort();
    ports.console = await freePort();
    await mkdir(join(dir, 'seed/img'), { recursive: true });
    await writeFile(join(dir, 'seed/hello.txt'), 'hello from the seed\n');
    await writeFile(join(dir, 'seed/img/dot.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
    await writeFile(
      join(dir, 'devenv.yaml'),
      [
        'apiVersion: devenv.dev/v1alpha1',
        `project: ${PROJECT}`,
        'objectStore:',
        `  engine: ${engine}`,
        `  image: ${image}`,
        `  port: ${ports.s3}`,
        `  consolePort: ${ports.console}`,
        '  buckets: [uploads, avatars]',
        '  seed: {folder: seed, bucket: uploads}',
        '',
      ].join('\n'),
    );
    await ensureTestNetwork(NETWORK, PROJECT);
    ep = await up(firstEvents);
  });

  afterAll(async () => {
    if (!ok) return;
    await cleanupDataTest(PROJECT, dir);
  });

  it('creates the configured buckets and devenv-snapshots, and reports the console URL', async () => {
    const done = firstEvents.find(
      (e) => e.type === 'step' && e.id === 'objectStore' && e.phase === 'done',
    ) as StepEvent;
    expect(done.detail).toContain(`console http://127.0.0.1:${ports.console}`);
    expect(ep.host.objectStore).toMatchObject({
      endpoint: `http://127.0.0.1:${ports.s3}`,
      consoleUrl: `http://127.0.0.1:${ports.console}`,
      buckets: ['uploads', 'avatars'],
    });
    expect(done.detail).toContain(`${def.title} ready on`);
    expect(ep.cluster.objectStore!.endpoint).toBe(`http://devenv-minio:${def.s3Port}`);
    const r = await s3(ep).send(new ListBucketsCommand({}));
    expect((r.Buckets ?? []).map((b) => b.Name).sort()).toEqual(['avatars', 'devenv-snapshots', 'uploads']);
    // The console answers on its port.
    const res = await fetch(ep.host.objectStore!.consoleUrl!);
    expect(res.status).toBeLessThan(500);
  });

  it('an object put with the generated keys reads back', async () => {
    const c = s3(ep);
    await c.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'u/1.txt', Body: 'round trip' }));
    const got = await c.send(new GetObjectCommand({ Bucket: 'avatars', Key: 'u/1.txt' }));
    expect(await got.Body!.transformToString()).toBe('round trip');
  });

  it('path-style presigned URLs: a GET and a PUT signed for 60 s work without credentials', async () => {
    const c = s3(ep);
    await c.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'p/get.txt', Body: 'presigned get' }));
    const getUrl = await presign(ep, 'GET', 'avatars', 'p/get.txt');
    expect(getUrl).toContain(`${ep.host.objectStore!.endpoint}/avatars/p/get.txt?`); // path-style
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('presigned get');
    const putUrl = await presign(ep, 'PUT', 'avatars', 'p/put.txt');
    expect((await fetch(putUrl, { method: 'PUT', body: 'presigned put' })).status).toBe(200);
    const back = await c.send(new GetObjectCommand({ Bucket: 'avatars', Key: 'p/put.txt' }));
    expect(await back.Body!.transformToString()).toBe('presigned put');
    // A tampered signature is refused.
    expect((await fetch(getUrl.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'))).status).toBe(
      403,
    );
  });

  it('multipart upload: two parts (5 MiB + 1 byte) assemble into one object', async () => {
    const c = s3(ep);
    const a = Buffer.alloc(5 * 1024 * 1024, 'a');
    const b = Buffer.from('b');
    const { UploadId } = await c.send(
      new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'big.bin' }),
    );
    const parts = [];
    for (const [i, body] of [a, b].entries()) {
      const r = await c.send(
        new UploadPartCommand({ Bucket: 'uploads', Key: 'big.bin', UploadId, PartNumber: i + 1, Body: body }),
      );
      parts.push({ ETag: r.ETag!, PartNumber: i + 1 });
    }
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'uploads',
        Key: 'big.bin',
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const got = await c.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'big.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(a.length + 1);
    expect(bytes.subarray(-2).toString()).toBe('ab');
    await c.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'big.bin' }));
  });

  it('wrong keys are refused', async () => {
    await expect(s3(ep, 'not-the-secret').send(new ListBucketsCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    const o = ep.host.objectStore!;
    const stranger = new S3Client({
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'nobody', secretAccessKey: 'nothing-at-all' },
      maxAttempts: 1,
    });
    await expect(
      stranger.send(new GetObjectCommand({ Bucket: 'avatars', Key: 'u/1.txt' })),
    ).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
    });
  });

  it('uploads the seed folder once (marker object)', async () => {
    const c = s3(ep);
    const keys = async () =>
      ((await c.send(new ListObjectsV2Command({ Bucket: 'uploads' }))).Contents ?? [])
        .map((o) => o.Key)
        .sort();
    expect(await keys()).toEqual(['.devenv-seed', 'hello.txt', 'img/dot.svg']);
    const hello = await c.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'hello.txt' }));
    expect(await hello.Body!.transformToString()).toBe('hello from the seed\n');
    expect((await c.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'img/dot.svg' }))).ContentType).toBe(
      'image/svg+xml',
    );
    // A file the app deleted is not brought back by the next up.
    await c.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'hello.txt' }));
    const events: ProgressEvent[] = [];
    await up(events);
    expect(steps(events, 'objectStore')).toEqual(['start', 'skip']);
    expect(await keys()).toEqual(['.devenv-seed', 'img/dot.svg']);
  });

  it('is reachable from the cluster network as devenv-minio, and idempotent', async () => {
    const before = (await inspectContainer(`devenv-${PROJECT}-minio`))!;
    expect(before.networks).toContain(NETWORK);
    const d = await docker();
    const c = await d.createContainer({
      Image: image,
      Entrypoint: [],
      Cmd: [
        'curl',
        '-fsS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://devenv-minio:${def.s3Port}${health}`,
      ],
      Labels: projectLabels(PROJECT, { 'dev.devenv/component': 'test' }),
      HostConfig: { NetworkMode: NETWORK },
    });
    try {
      await c.start();
      const r = (await c.wait()) as { StatusCode: number };
      const out = demuxBuffer((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
      expect(out.trim()).toBe('200');
      expect(r.StatusCode).toBe(0);
    } finally {
      await c.remove({ force: true, v: true }); // the image declares VOLUME /data
    }
    await up();
    const after = (await inspectContainer(`devenv-${PROJECT}-minio`))!;
    expect([after.id, after.startedAt]).toEqual([before.id, before.startedAt]);
  });

  it('prerelease buckets: <namespace>-<bucket> created, then emptied and removed; others untouched', async () => {
    const o = ep.host.objectStore!;
    const shared = {
      endpoint: o.endpoint,
      accessKeyId: o.accessKeyId,
      secretAccessKey: o.secretAccessKey,
      region: o.region,
    };
    const ns = 'prerelease-nightly-1';
    const names = [`${ns}-uploads`, `${ns}-avatars`];
    expect(await ensureBuckets(shared, names)).toEqual(names);
    expect(await ensureBuckets(shared, names)).toEqual([]); // idempotent
    const c = s3(ep);
    await c.send(new PutObjectCommand({ Bucket: `${ns}-uploads`, Key: 'a/b.txt', Body: 'x' }));
    // A bucket outside the namespace prefix is never removed, even when asked.
    expect(await removeBuckets(shared, ns, [...names, 'uploads'])).toEqual(names);
    const left = ((await c.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
    expect(left.filter((b) => b?.startsWith(ns))).toEqual([]);
    expect(left).toContain('uploads');
  });

  it('destroy removes the container and its volume', async () => {
    const r = await destroyDataServices(PROJECT);
    expect(r).toEqual({
      containers: [`devenv-${PROJECT}-minio`],
      volumes: [`devenv-${PROJECT}-${def.short}-data`],
    });
    expect(await listVolumes(projectLabels(PROJECT))).toEqual([]);
  });
});

describe.skipIf(!ok)('data services: switching the object store engine', () => {
  const PROJECT = `t-s3-sw-${Math.random().toString(36).slice(2, 8)}`;
  const [minio, seaweedfs] = ENGINES as [(typeof ENGINES)[0], (typeof ENGINES)[0]];
  let dir: string;
  let ports: { s3: number; console: number };

  async function writeConfig(e: (typeof ENGINES)[0]): Promise<void> {
    await writeFile(
      join(dir, 'devenv.yaml'),
      [
        'apiVersion: devenv.dev/v1alpha1',
        `project: ${PROJECT}`,
        'objectStore:',
        `  engine: ${e.engine}`,
        `  image: ${e.image}`,
        `  port: ${ports.s3}`,
        `  consolePort: ${ports.console}`,
        '  buckets: [uploads]',
        '',
      ].join('\n'),
    );
  }
  const upWith = async (switchObjectStore = false) => {
    const { config, root } = loadConfig(join(dir, 'devenv.yaml'));
    return ensureDataServices({
      config,
      root,
      timeoutMs: 120_000,
      ...(switchObjectStore ? { switchObjectStore } : {}),
    });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-s3sw-'));
    process.env.DEVENV_STATE_DIR = join(dir, '.state');
    ports = { s3: await freePort(), console: await freePort() };
  });
  afterAll(async () => {
    if (!ok) return;
    await destroyDataServices(PROJECT).catch(() => {});
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses while the old engine has data, naming what would be left behind; --switch-object-store starts the new one empty and keeps the old volumes', async () => {
    await writeConfig(minio);
    const first = await upWith();
    await s3(first).send(new PutObjectCommand({ Bucket: 'uploads', Key: 'keep.txt', Body: 'in minio' }));
    const before = (await inspectContainer(`devenv-${PROJECT}-minio`))!;

    await writeConfig(seaweedfs);
    const err = (await upWith().then(
      () => undefined,
      (e: unknown) => e,
    )) as DevenvError;
    expect(err).toBeInstanceOf(DevenvError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      `objectStore.engine is seaweedfs, but this project's objects are in MinIO's volume devenv-${PROJECT}-minio-data; ` +
        'starting SeaweedFS would leave them behind (nothing was changed). Run "devenv up --switch-object-store" to start ' +
        'SeaweedFS empty and keep those volumes (copy objects across with any S3 client; "devenv destroy" removes them), ' +
        'or set objectStore.engine back to minio.',
    );
    // Nothing changed: the same MinIO container still runs.
    const still = (await inspectContainer(`devenv-${PROJECT}-minio`))!;
    expect([still.id, still.startedAt, still.image]).toEqual([before.id, before.startedAt, before.image]);

    const switched = await upWith(true);
    const c = s3(switched);
    const keys = (await c.send(new ListObjectsV2Command({ Bucket: 'uploads' }))).Contents ?? [];
    expect(keys).toEqual([]); // empty: objects are not copied
    const after = (await inspectContainer(`devenv-${PROJECT}-minio`))!;
    expect(after.id).not.toBe(before.id);
    expect((await listVolumes(projectLabels(PROJECT))).map((v) => v.name).sort()).toEqual([
      `devenv-${PROJECT}-minio-data`,
      `devenv-${PROJECT}-seaweedfs-data`,
    ]);
    // Once switched, the next up is refused again (the MinIO volume still holds data) unless asked.
    await expect(upWith()).rejects.toThrow(/objects are in MinIO's volume/);
    // destroy removes both engines' volumes.
    const r = await destroyDataServices(PROJECT);
    expect(r.volumes.sort()).toEqual([`devenv-${PROJECT}-minio-data`, `devenv-${PROJECT}-seaweedfs-data`]);
  });
});

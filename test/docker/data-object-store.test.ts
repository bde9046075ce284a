// MinIO (the real server, built from its Go module into devenv-test/minio:latest) as the
// project's object store, selected through objectStore.image in a temp devenv.yaml.
// The S3 checks use AWS's SDK directly (not devenv's adapter), so they are independent
// of the code under test.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { destroyDataServices, ensureDataServices } from '../../src/data/index.ts';
import type { DataEndpoints } from '../../src/data/types.ts';
import {
  demuxBuffer,
  inspectContainer,
  listContainers,
  removeContainer,
} from '../../src/docker/containers.ts';
import { docker } from '../../src/docker/engine.ts';
import { devenvLabels } from '../../src/docker/labels.ts';
import { ensureNetwork, removeNetworks } from '../../src/docker/networks.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import type { ProgressEvent, StepEvent } from '../../src/engine/events.ts';
import { freePort } from '../support/fixture.ts';

const ok = inject('dockerAvailable');
const PROJECT = `t-s3-${Math.random().toString(36).slice(2, 8)}`;
const NETWORK = `${PROJECT}-net`;
const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';

let dir: string;
const ports: Record<string, number> = {};

async function up(events: ProgressEvent[] = []): Promise<DataEndpoints> {
  const { config, root } = loadConfig(join(dir, 'devenv.yaml'));
  return ensureDataServices({
    config,
    root,
    network: NETWORK,
    onEvent: (e) => events.push(e),
    timeoutMs: 120_000,
  });
}

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

const steps = (events: ProgressEvent[], id: string) =>
  events
    .filter((e): e is StepEvent => e.type === 'step' && e.id === id && e.phase !== 'progress')
    .map((e) => e.phase);

describe.skipIf(!ok)('data services: MinIO object store', () => {
  let ep: DataEndpoints;
  const firstEvents: ProgressEvent[] = [];

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
        `  image: ${MINIO_IMAGE}`,
        `  port: ${ports.s3}`,
        `  consolePort: ${ports.console}`,
        '  buckets: [uploads, avatars]',
        '  seed: {folder: seed, bucket: uploads}',
        '',
      ].join('\n'),
    );
    await ensureNetwork(NETWORK, devenvLabels(PROJECT, { 'dev.devenv/component': 'test' }));
    ep = await up(firstEvents);
  });

  afterAll(async () => {
    if (!ok) return;
    for (const c of await listContainers(devenvLabels(PROJECT))) await removeContainer(c.name);
    await destroyDataServices(PROJECT).catch(() => {});
    await removeNetworks(devenvLabels(PROJECT)).catch(() => {});
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
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
    expect(ep.cluster.objectStore!.endpoint).toBe('http://devenv-minio:9000');
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
      Image: MINIO_IMAGE,
      Entrypoint: [],
      Cmd: [
        'curl',
        '-fsS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        'http://devenv-minio:9000/minio/health/live',
      ],
      Labels: devenvLabels(PROJECT, { 'dev.devenv/component': 'test' }),
      HostConfig: { NetworkMode: NETWORK },
    });
    try {
      await c.start();
      const r = (await c.wait()) as { StatusCode: number };
      const out = demuxBuffer((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
      expect(out.trim()).toBe('200');
      expect(r.StatusCode).toBe(0);
    } finally {
      await c.remove({ force: true });
    }
    await up();
    const after = (await inspectContainer(`devenv-${PROJECT}-minio`))!;
    expect([after.id, after.startedAt]).toEqual([before.id, before.startedAt]);
  });

  it('destroy removes the container and its volume', async () => {
    const r = await destroyDataServices(PROJECT);
    expect(r).toEqual({ containers: [`devenv-${PROJECT}-minio`], volumes: [`devenv-${PROJECT}-minio-data`] });
    expect(await listVolumes(devenvLabels(PROJECT))).toEqual([]);
  });
});

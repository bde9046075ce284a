/**
 * Stand-ins for a team's SHARED data servers, for the prerelease kube tests: real Postgres
 * (devenv-test/postgres:15) and MinIO (devenv-test/minio) containers published on all
 * addresses, so that devenv reaches them on 127.0.0.1 and pods of the real test cluster on
 * the node's address. Labelled `dev.devenv/test=<label>`; `stop()` removes them with their
 * volumes (call it in afterAll).
 *
 * These are servers devenv does not manage (a team's shared ones), so they are started
 * with testcontainers and its wait strategies rather than devenv's own data code. Offline
 * rules: the images are the local test images, never pulled (`neverPull`: a missing image
 * is an error naming it); Ryuk, testcontainers' reaper, is an image these machines do not
 * have, so it is off and `stop()` is the cleanup; and the engine publishes on this
 * machine, so the mapped ports are reached on 127.0.0.1 (testcontainers would pick the
 * Docker bridge's gateway when it finds itself in a container, as on the build machines).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import type { KubeClient } from '../../src/kube/client.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

const run = promisify(execFile);
export const PG_IMAGE = process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15';
export const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';
const ADMIN_PW = 'admin-pw-for-tests';
export const S3_KEY = 'prerelease-test';
export const S3_SECRET = 'prerelease-test-secret';
const STARTUP_MS = 60_000;

export async function imagesAvailable(...images: string[]): Promise<boolean> {
  try {
    await run('docker', ['image', 'inspect', ...images]);
    return true;
  } catch {
    return false;
  }
}

/** The node's InternalIP: where pods reach ports Docker publishes on this machine. */
export async function nodeAddress(client: KubeClient): Promise<string> {
  const nodes = await client.request<{
    items: Array<{ status: { addresses: Array<{ type: string; address: string }> } }>;
  }>('GET', '/api/v1/nodes');
  return nodes.items[0]!.status.addresses.find((a) => a.type === 'InternalIP')!.address;
}

export interface SharedServers {
  /** DEVENV_PRERELEASE_* for the CLI (contains the admin password: tests only). */
  env: Record<string, string>;
  adminUrl: string;
  adminPassword: string;
  /** A query as the admin, on the shared Postgres. */
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export async function startSharedServers(
  client: KubeClient,
  opts: { label: string; minio?: boolean },
): Promise<SharedServers> {
  const nodeIp = await nodeAddress(client);
  // Loaded here: the kube tests that skip (no images) never load testcontainers.
  const { GenericContainer, PullPolicy, Wait } = await import('testcontainers');
  type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>>;
  const started: Started[] = [];
  const stop = async () => {
    for (const c of started.splice(0))
      await c.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
  };
  const server = (image: string) =>
    new GenericContainer(image)
      .withPullPolicy(PullPolicy.neverPull())
      .withLabels({ 'dev.devenv/test': opts.label })
      .withStartupTimeout(STARTUP_MS);

  let adminUrl: string;
  const env: Record<string, string> = {};
  try {
    // Ready when it answers on TCP: the image's first-run initialisation serves on the
    // socket only, so a TCP answer is the server that stays.
    const pgc = await server(PG_IMAGE)
      .withEnvironment({ POSTGRES_PASSWORD: ADMIN_PW })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forSuccessfulCommand('pg_isready -h 127.0.0.1 -p 5432 -U postgres'))
      .start();
    started.push(pgc);
    adminUrl = `postgres://postgres:${ADMIN_PW}@127.0.0.1:${pgc.getMappedPort(5432)}/postgres`;
    Object.assign(env, {
      DEVENV_PRERELEASE_DATABASE_URL: adminUrl,
      // Pods reach the "shared" server on the node's address (Docker publishes it there).
      DEVENV_PRERELEASE_DATABASE_HOST: nodeIp,
    });
    if (opts.minio) {
      const s3 = await server(MINIO_IMAGE)
        .withEnvironment({ MINIO_ROOT_USER: S3_KEY, MINIO_ROOT_PASSWORD: S3_SECRET })
        .withCommand(['minio', 'server', '/data'])
        .withExposedPorts(9000)
        .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
        .start();
      started.push(s3);
      Object.assign(env, {
        DEVENV_PRERELEASE_S3_ENDPOINT: `http://${nodeIp}:${s3.getMappedPort(9000)}`,
        DEVENV_PRERELEASE_S3_ACCESS_KEY: S3_KEY,
        DEVENV_PRERELEASE_S3_SECRET_KEY: S3_SECRET,
      });
    }
  } catch (err) {
    // A container that failed its wait is removed by testcontainers; the ones before it here.
    await stop();
    throw err;
  }
  const query = async (sql: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  return { env, adminUrl, adminPassword: ADMIN_PW, query, stop };
}

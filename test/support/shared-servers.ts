/**
 * Stand-ins for a team's SHARED data servers, for the prerelease kube tests: real Postgres
 * (devenv-test/postgres:15) and MinIO (devenv-test/minio) containers published on all
 * addresses, so that devenv reaches them on 127.0.0.1 and pods of the real test cluster on
 * the node's address. Labelled `dev.devenv/test=<label>`; `stop()` removes them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import type { KubeClient } from '../../src/kube/client.ts';

const run = promisify(execFile);
export const PG_IMAGE = process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15';
export const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';
const ADMIN_PW = 'admin-pw-for-tests';
export const S3_KEY = 'prerelease-test';
export const S3_SECRET = 'prerelease-test-secret';

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
  const containers: string[] = [];
  const publish = async (image: string, port: number, args: string[], cmd: string[] = []) => {
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--label',
      `dev.devenv/test=${opts.label}`,
      '-p',
      `0.0.0.0::${port}`,
      ...args,
      image,
      ...cmd,
    ]);
    const id = stdout.trim();
    containers.push(id);
    const { stdout: p } = await run('docker', ['port', id, `${port}/tcp`]);
    return Number.parseInt(p.split('\n')[0]!.split(':').pop()!, 10);
  };
  const pgPort = await publish(PG_IMAGE, 5432, ['-e', `POSTGRES_PASSWORD=${ADMIN_PW}`]);
  const adminUrl = `postgres://postgres:${ADMIN_PW}@127.0.0.1:${pgPort}/postgres`;
  const env: Record<string, string> = {
    DEVENV_PRERELEASE_DATABASE_URL: adminUrl,
    // Pods reach the "shared" server on the node's address (Docker publishes it there).
    DEVENV_PRERELEASE_DATABASE_HOST: nodeIp,
  };
  if (opts.minio) {
    const s3Port = await publish(
      MINIO_IMAGE,
      9000,
      ['-e', `MINIO_ROOT_USER=${S3_KEY}`, '-e', `MINIO_ROOT_PASSWORD=${S3_SECRET}`],
      ['minio', 'server', '/data'],
    );
    Object.assign(env, {
      DEVENV_PRERELEASE_S3_ENDPOINT: `http://${nodeIp}:${s3Port}`,
      DEVENV_PRERELEASE_S3_ACCESS_KEY: S3_KEY,
      DEVENV_PRERELEASE_S3_SECRET_KEY: S3_SECRET,
    });
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
  const stop = async () => {
    for (const id of containers) await run('docker', ['rm', '-f', '-v', id]).catch(() => undefined);
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await query('SELECT 1');
        if (opts.minio) {
          const live = await fetch(`${env.DEVENV_PRERELEASE_S3_ENDPOINT}/minio/health/live`);
          if (!live.ok) throw new Error(`MinIO: ${live.status}`);
        }
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, adminUrl, adminPassword: ADMIN_PW, query, stop };
}

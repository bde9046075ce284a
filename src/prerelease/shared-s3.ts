/**
 * Buckets per prerelease on the shared object store, when
 * DEVENV_PRERELEASE_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY are set: each bucket of
 * devenv.yaml becomes `<namespace>-<bucket>` (created by `up`, emptied and removed by
 * `down` / `gc`). The app sees the prefixed name under the same variable as in dev
 * (S3_BUCKET_UPLOADS=<namespace>-uploads), so manifests stay unchanged.
 *
 * Through the data part's ObjectStore (AWS's SDK). Only names starting with
 * `<namespace>-` are ever removed.
 */
import { S3_REGION } from '../data/types.ts';
import { DevenvError } from '../errors.ts';

export const S3_ENDPOINT_ENV = 'DEVENV_PRERELEASE_S3_ENDPOINT';
export const S3_ACCESS_KEY_ENV = 'DEVENV_PRERELEASE_S3_ACCESS_KEY';
export const S3_SECRET_KEY_ENV = 'DEVENV_PRERELEASE_S3_SECRET_KEY';
export const S3_REGION_ENV = 'DEVENV_PRERELEASE_S3_REGION';

export interface SharedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** The shared store from the environment, or undefined when not configured. */
export function sharedS3FromEnv(env: Readonly<Record<string, string | undefined>>): SharedS3 | undefined {
  const endpoint = env[S3_ENDPOINT_ENV];
  const accessKeyId = env[S3_ACCESS_KEY_ENV];
  const secretAccessKey = env[S3_SECRET_KEY_ENV];
  if (!endpoint || !accessKeyId || !secretAccessKey) return undefined;
  return { endpoint, accessKeyId, secretAccessKey, region: env[S3_REGION_ENV] ?? S3_REGION };
}

async function connect(s3: SharedS3) {
  const { ObjectStore } = await import('../data/s3.ts');
  return ObjectStore.connect(s3);
}

export async function ensureBuckets(s3: SharedS3, buckets: readonly string[]): Promise<string[]> {
  const store = await connect(s3);
  const created: string[] = [];
  try {
    for (const b of buckets) if (await store.ensureBucket(b)) created.push(b);
  } catch (err) {
    throw new DevenvError(`shared object store ${s3.endpoint}: ${(err as Error).message}`, { cause: err });
  } finally {
    store.close();
  }
  return created;
}

/** Empties and removes the namespace's buckets; returns those removed. */
export async function removeBuckets(
  s3: SharedS3,
  namespace: string,
  buckets: readonly string[],
): Promise<string[]> {
  const ours = buckets.filter((b) => b.startsWith(`${namespace}-`));
  const store = await connect(s3);
  const removed: string[] = [];
  try {
    const existing = new Set(await store.listBuckets());
    const { deleteBucket } = await import('../data/s3.ts');
    for (const b of ours) {
      if (!existing.has(b)) continue;
      for (const o of await store.list(b)) await store.delete(b, o.key);
      await deleteBucket(store, b);
      removed.push(b);
    }
  } catch (err) {
    throw new DevenvError(`shared object store ${s3.endpoint}: ${(err as Error).message}`, { cause: err });
  } finally {
    store.close();
  }
  return removed;
}

/**
 * The object store adapter: the ONLY module that imports the S3 client
 * (@aws-sdk/client-s3, AWS's own SDK, which also speaks to MinIO and DigitalOcean
 * Spaces). Path-style addressing (MinIO serves buckets as paths) and checksums only
 * where required (older MinIO / Spaces reject the newer default trailers).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Access {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
}

type Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => {
  sdk ??= import('@aws-sdk/client-s3');
  return sdk;
};

export class ObjectStore {
  readonly client: S3Client;
  private readonly s3: Sdk;
  private constructor(s3: Sdk, client: S3Client) {
    this.s3 = s3;
    this.client = client;
  }

  static async connect(a: S3Access): Promise<ObjectStore> {
    const s3 = await loadSdk();
    const client = new s3.S3Client({
      endpoint: a.endpoint,
      region: a.region,
      forcePathStyle: true,
      credentials: { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
    return new ObjectStore(s3, client);
  }

  close(): void {
    this.client.destroy();
  }

  async listBuckets(): Promise<string[]> {
    const r = await this.client.send(new this.s3.ListBucketsCommand({}));
    return (r.Buckets ?? []).map((b) => b.Name ?? '').filter(Boolean);
  }

  /** Creates the bucket unless it exists; true when created. */
  async ensureBucket(bucket: string): Promise<boolean> {
    try {
      await this.client.send(new this.s3.HeadBucketCommand({ Bucket: bucket }));
      return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.send(new this.s3.CreateBucketCommand({ Bucket: bucket }));
      return true;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return false;
      throw err;
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.head(bucket, key)) !== undefined;
  }

  async head(
    bucket: string,
    key: string,
  ): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
    try {
      const r = await this.client.send(new this.s3.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: Number(r.ContentLength ?? 0), metadata: r.Metadata ?? {} };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(
    bucket: string,
    key: string,
    body: string | Buffer,
    opts: { contentType?: string; metadata?: Record<string, string> } = {},
  ): Promise<void> {
    await this.client.send(
      new this.s3.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.metadata ? { Metadata: opts.metadata } : {}),
      }),
    );
  }

  async getText(bucket: string, key: string): Promise<string> {
    const r = await this.client.send(new this.s3.GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await r.Body?.transformToString('utf8')) ?? '';
  }

  /** The object's content as a Node stream (for restores: piped, never buffered). */
  async getStream(bucket: string, key: string): Promise<Readable> {
    const r = await this.client.send(new this.s3.GetObjectCommand({ Bucket: bucket, Key: key }));
    return r.Body as Readable;
  }

  /**
   * Uploads a stream of unknown length (multipart for large ones, a single PUT for small
   * ones). On failure the multipart upload is aborted, so no partial object remains.
   */
  async uploadStream(
    bucket: string,
    key: string,
    body: Readable,
    opts: { contentType?: string; metadata?: Record<string, string> } = {},
  ): Promise<void> {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: body,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.metadata ? { Metadata: opts.metadata } : {}),
      },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async list(bucket: string, prefix = ''): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new this.s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) {
        if (o.Key)
          out.push({
            key: o.Key,
            size: Number(o.Size ?? 0),
            ...(o.LastModified ? { lastModified: o.LastModified } : {}),
          });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.client.send(new this.s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** Uploads every file under `folder` (keys relative to it, "/"-separated). Returns the count. */
  async uploadFolder(bucket: string, folder: string): Promise<number> {
    let n = 0;
    for (const file of walk(folder)) {
      const key = relative(folder, file).split(sep).join('/');
      await this.client.send(
        new this.s3.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: statSync(file).size,
          ContentType: contentType(file),
        }),
      );
      n++;
    }
    return n;
  }
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

const TYPES: Record<string, string> = {
  html: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  json: 'application/json',
  txt: 'text/plain',
  csv: 'text/csv',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
};

function contentType(file: string): string {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}

/** An S3 error is one of `names`, or else answered with HTTP `status`. */
function s3ErrorIs(err: unknown, names: readonly string[], status: number): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return names.includes(e?.name ?? '') || e?.$metadata?.httpStatusCode === status;
}

export function isNotFound(err: unknown): boolean {
  return s3ErrorIs(err, ['NotFound', 'NoSuchKey', 'NoSuchBucket'], 404);
}

/** True for errors that mean "these credentials are wrong". */
export function isAuthError(err: unknown): boolean {
  return s3ErrorIs(err, ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'], 403);
}

/** Removes a bucket, which must be empty (S3 refuses to remove one with objects in it). */
export async function deleteBucket(store: ObjectStore, bucket: string): Promise<void> {
  const s3 = await loadSdk();
  await store.client.send(new s3.DeleteBucketCommand({ Bucket: bucket }));
}

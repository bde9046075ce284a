/**
 * The shapes the data part hands to the rest of devenv: where the database and the
 * object store are reachable, from the host and from inside the cluster.
 */
import type { DATABASE_ENGINES } from '../config/engines.ts';

/** A database engine's name: a key of config/engines.ts's table. */
export type DbEngine = keyof typeof DATABASE_ENGINES;

export interface DatabaseEndpoint {
  engine: DbEngine;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The main database (DB_NAME, and the one in DATABASE_URL). */
  database: string;
  /** Every database devenv created (the main one first). */
  databases: string[];
}

export interface ObjectStoreEndpoint {
  /** S3 endpoint URL, e.g. http://127.0.0.1:9000 or http://devenv-minio:9000. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Application buckets from devenv.yaml (not devenv's own snapshot bucket). */
  buckets: string[];
  /** The MinIO web console, when it is published (host side only). */
  consoleUrl?: string;
}

/** One side's view: how the host (or a pod) reaches the data services. */
export interface DataAccess {
  database?: DatabaseEndpoint;
  objectStore?: ObjectStoreEndpoint;
}

export interface DataEndpoints {
  project: string;
  /** From this machine, through the published ports. */
  host: DataAccess;
  /** From the cluster network, through the stable aliases devenv-db / devenv-minio. */
  cluster: DataAccess;
  /** The Docker network the containers joined, if one was given. */
  network?: string;
}

export type DataRole = 'database' | 'objectStore';

export const DB_ALIAS = 'devenv-db';
export const MINIO_ALIAS = 'devenv-minio';
export const SNAPSHOT_BUCKET = 'devenv-snapshots';
export const S3_REGION = 'us-east-1';

/**
 * The Kubernetes Secret `devenv-data` that gives pods the in-cluster connection
 * variables (hosts are the stable Docker network aliases devenv-db / devenv-minio).
 *
 * Pure, and free of any Kubernetes client import: it returns a plain object that the
 * kube layer applies (server-side apply) in each namespace that needs it.
 */
import { LABEL_COMPONENT, LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';
import type { DataAccess } from './types.ts';
import { connectionVars } from './vars.ts';

export const DATA_SECRET_NAME = 'devenv-data';

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  type: 'Opaque';
  stringData: Record<string, string>;
}

/**
 * The Secret for the cluster side of the endpoints (`DataEndpoints.cluster`). Keys:
 * DATABASE_URL, DB_HOST/PORT/USER/PASSWORD/NAME (+ DB_ENGINE), S3_ENDPOINT,
 * S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKETS (comma-separated), S3_BUCKET_<NAME>
 * (+ S3_REGION, S3_FORCE_PATH_STYLE). No console URL: it is a host-side convenience.
 */
export function buildDataSecret(project: string, cluster: DataAccess, namespace?: string): SecretObject {
  const vars = connectionVars(
    cluster.objectStore
      ? { ...cluster, objectStore: { ...cluster.objectStore, consoleUrl: undefined } }
      : cluster,
  );
  delete vars.S3_CONSOLE_URL;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: DATA_SECRET_NAME,
      ...(namespace ? { namespace } : {}),
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_PROJECT]: project, [LABEL_COMPONENT]: 'data' },
    },
    type: 'Opaque',
    stringData: vars,
  };
}

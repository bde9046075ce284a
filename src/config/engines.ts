/**
 * The ONE table of data-service engines devenv can run, with the default image of each.
 * Everything that differs between engines (config enum, default image, compose file,
 * volume names, messages, the pre-flight's "where is it set") reads it from here.
 *
 * Defaults are pinned so that a laptop pulls exactly what was tested, and each says why
 * it was chosen (checked 2026-12):
 * - MinIO: the community edition went source-only in October 2025 and is in maintenance
 *   mode; Docker Hub no longer serves minio/minio. quay.io still serves its old releases;
 *   RELEASE.2025-09-07T16-13-09Z is the last multi-arch one (index digest below, the same
 *   on docker.io and quay.io). Kept as the default for existing projects (their data is in
 *   MinIO's format); new projects should prefer SeaweedFS.
 * - SeaweedFS: Apache-2.0, released weekly through 2026, images on Docker Hub
 *   (chrislusf/seaweedfs, one tag per release); `weed mini` runs master + volume + filer +
 *   S3 in one process, with admin credentials from AWS_ACCESS_KEY_ID /
 *   AWS_SECRET_ACCESS_KEY. 4.53 is the release the offline test image is built from
 *   (test/images/seaweedfs/versions.env); pinned by tag (no published digest found).
 * - Postgres 16 / MySQL 8.4: Docker official images, major-version tags (supported until
 *   Nov 2028 / Apr 2032), so security patch releases arrive with a pull.
 *
 * Pure module: no I/O, no imports.
 */

/**
 * The ingress controller devenv installs in its own cluster (cluster/ingress.ts): Docker's
 * official Traefik image, the newest v3 release when pinned (v3.7.13, 2026-09).
 */
export const TRAEFIK_DEFAULT_IMAGE = 'docker.io/library/traefik:v3.7.13';

export interface ObjectStoreEngine {
  /** Name in messages. */
  title: string;
  /** Default image (`objectStore.image` overrides it). */
  image: string;
  /** devenv's compose file for it: compose/<compose>.yaml. */
  compose: string;
  /** Short name in container/volume names: devenv-<project>-<short>[-<volume>]. */
  short: string;
  /** The S3 API port inside the container. */
  s3Port: number;
  /** The web console port inside the container, when it has one. */
  consolePort?: number;
  /** Upstream status, printed by the README reference and by `doctor`. */
  status: string;
}

export const OBJECT_STORE_ENGINES = {
  minio: {
    title: 'MinIO',
    image:
      'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z@sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e',
    compose: 'minio',
    short: 'minio',
    s3Port: 9000,
    consolePort: 9001,
    status:
      'community edition archived: source-only since Oct 2025, maintenance mode, no new images; Docker Hub no longer serves minio/minio',
  },
  seaweedfs: {
    title: 'SeaweedFS',
    image: 'chrislusf/seaweedfs:4.53',
    compose: 'seaweedfs',
    short: 'seaweedfs',
    s3Port: 8333,
    consolePort: 23646,
    status: 'maintained (Apache-2.0, weekly releases in 2026)',
  },
} as const satisfies Record<string, ObjectStoreEngine>;

export type ObjectStoreEngineName = keyof typeof OBJECT_STORE_ENGINES;
export const OBJECT_STORE_ENGINE_NAMES = Object.keys(OBJECT_STORE_ENGINES) as [
  ObjectStoreEngineName,
  ...ObjectStoreEngineName[],
];
export const DEFAULT_OBJECT_STORE_ENGINE: ObjectStoreEngineName = 'minio';

export const DATABASE_ENGINES = {
  postgres: { title: 'Postgres', repository: 'postgres', version: '16', port: 5432 },
  mysql: { title: 'MySQL', repository: 'mysql', version: '8.4', port: 3306 },
} as const;

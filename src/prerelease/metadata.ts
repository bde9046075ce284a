/**
 * What a prerelease namespace says about itself: devenv's ownership labels plus
 * `dev.devenv/prerelease=true`, and annotations naming who made it (the CI job, or the
 * user), from which commit, when, and until when it may live. `gc` and `down` read these
 * back; a namespace lacking the labels is never touched.
 *
 * Pure module: no I/O; the environment and the clock are parameters.
 */
import { hasLabels, LABEL_ENV, LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';
import { type KubeObject, ownerLabels } from '../manifests/types.ts';

export const LABEL_PRERELEASE = 'dev.devenv/prerelease';

export const ANNOTATION_OWNER = 'dev.devenv/owner';
export const ANNOTATION_OWNER_URL = 'dev.devenv/owner-url';
export const ANNOTATION_COMMIT = 'dev.devenv/commit';
export const ANNOTATION_CREATED_AT = 'dev.devenv/created-at';
export const ANNOTATION_EXPIRES_AT = 'dev.devenv/expires-at';
/** JSON map repository → image reference deployed by `up`, so `test` renders the same images. */
export const ANNOTATION_IMAGES = 'dev.devenv/images';
/** Names of the per-prerelease database and user on the shared server (never the password). */
export const ANNOTATION_DATABASE = 'dev.devenv/database';
/** Prefixed bucket names created on the shared object store. */
export const ANNOTATION_BUCKETS = 'dev.devenv/buckets';

/** The labels of every prerelease namespace of a project. */
export function prereleaseLabels(project: string): Record<string, string> {
  return { ...ownerLabels(project, 'prerelease'), [LABEL_PRERELEASE]: 'true' };
}

/** Label selector for all prerelease namespaces devenv made (any project). */
export const PRERELEASE_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_PRERELEASE}=true`;

/** True when labels carry devenv's prerelease labels for this project. */
export function isPrereleaseOf(labels: Record<string, string> | undefined, project: string): boolean {
  return hasLabels(labels, prereleaseLabels(project));
}

/** True when labels carry devenv's prerelease labels (for any project). */
export function isPrerelease(labels: Record<string, string> | undefined): boolean {
  return (
    labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE &&
    labels[LABEL_PRERELEASE] === 'true' &&
    labels[LABEL_ENV] === 'prerelease' &&
    Boolean(labels[LABEL_PROJECT])
  );
}

export interface Owner {
  /** "gitlab-ci", "github-actions" or "user". */
  kind: 'gitlab-ci' | 'github-actions' | 'user';
  /** Who: the CI user (login) or $USER. */
  name: string;
  /** The CI job's URL, when in CI. */
  url?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Who is deploying, from CI variables (GitLab CI, GitHub Actions), else $USER. */
export function ownerFromEnv(env: Env): Owner {
  if (env.GITLAB_CI === 'true') {
    return {
      kind: 'gitlab-ci',
      name: env.GITLAB_USER_LOGIN ?? env.GITLAB_USER_NAME ?? 'gitlab-ci',
      ...(env.CI_JOB_URL ? { url: env.CI_JOB_URL } : {}),
    };
  }
  if (env.GITHUB_ACTIONS === 'true') {
    const base = env.GITHUB_SERVER_URL ?? 'https://github.com';
    const url =
      env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${base}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    return { kind: 'github-actions', name: env.GITHUB_ACTOR ?? 'github-actions', ...(url ? { url } : {}) };
  }
  return { kind: 'user', name: env.USER ?? env.USERNAME ?? env.LOGNAME ?? 'unknown' };
}

/** The commit CI names (CI_COMMIT_SHA, GITHUB_SHA), if any; else the caller asks git. */
export function commitFromEnv(env: Env): string | undefined {
  const sha = env.CI_COMMIT_SHA ?? env.GITHUB_SHA;
  return sha && /^[0-9a-f]{7,64}$/i.test(sha) ? sha : undefined;
}

export interface NamespaceMeta {
  name: string;
  project: string;
  owner: Owner;
  commit?: string;
  createdAt: string;
  expiresAt: string;
  images: Readonly<Record<string, string>>;
  database?: { database: string; user: string };
  buckets?: readonly string[];
}

/** The Namespace object `prerelease up` applies (server-side apply; labels + annotations). */
export function namespaceObject(m: NamespaceMeta): KubeObject {
  const owner = `${m.owner.kind}:${m.owner.name}`;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: m.name,
      labels: prereleaseLabels(m.project),
      annotations: {
        [ANNOTATION_OWNER]: owner,
        ...(m.owner.url ? { [ANNOTATION_OWNER_URL]: m.owner.url } : {}),
        ...(m.commit ? { [ANNOTATION_COMMIT]: m.commit } : {}),
        [ANNOTATION_CREATED_AT]: m.createdAt,
        [ANNOTATION_EXPIRES_AT]: m.expiresAt,
        [ANNOTATION_IMAGES]: JSON.stringify(sortedRecord(m.images)),
        ...(m.database ? { [ANNOTATION_DATABASE]: `${m.database.database}/${m.database.user}` } : {}),
        ...(m.buckets && m.buckets.length > 0 ? { [ANNOTATION_BUCKETS]: [...m.buckets].join(',') } : {}),
      },
    },
  };
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The images map `up` recorded, or {} when absent or unreadable. */
export function imagesOf(annotations: Record<string, string> | undefined): Record<string, string> {
  try {
    const v = JSON.parse(annotations?.[ANNOTATION_IMAGES] ?? '{}') as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      );
    }
  } catch {
    // fall through
  }
  return {};
}

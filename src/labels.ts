/**
 * devenv's ownership labels: the ONE definition of the label keys that decide what devenv
 * may change or delete, for Docker objects (containers, volumes, networks, images) and
 * Kubernetes objects alike. devenv never stops, removes or changes an object that lacks
 * `app.kubernetes.io/managed-by=devenv` (and, for project-scoped operations, the project
 * label). `docker/labels.ts`, `manifests/types.ts` and `prerelease/metadata.ts` build
 * their label sets and checks from these.
 *
 * Ground floor: importable from every layer; pure, no I/O.
 */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'devenv';
export const LABEL_PROJECT = 'dev.devenv/project';
/** Where a Kubernetes object was deployed: "dev" or "prerelease". */
export const LABEL_ENV = 'dev.devenv/env';
/**
 * The role of an object: "database" / "objectStore" on a data container or volume;
 * "test" on a Job of the manifests that holds the integration tests.
 */
export const LABEL_ROLE = 'dev.devenv/role';
/** Which part of devenv owns a Docker object, e.g. "data" for the database and object store. */
export const LABEL_COMPONENT = 'dev.devenv/component';
/** sha256 of a data container's resolved spec: a different hash means "recreate". */
export const LABEL_SPEC_HASH = 'dev.devenv/spec-hash';

/** managed-by=devenv and the project label, then `extra` (in this key order). */
export function projectLabels(project: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_PROJECT]: project, ...extra };
}

/** "k=v" for each label: Docker API `label` filters, and the parts of a Kubernetes selector. */
export function labelPairs(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

/** True when `actual` carries every label of `required` with the same value. */
export function hasLabels(
  actual: Record<string, string> | undefined | null,
  required: Record<string, string>,
): boolean {
  if (!actual) return false;
  return Object.entries(required).every(([k, v]) => actual[k] === v);
}

/**
 * The labels every object devenv creates carries, and the filters built from them.
 * devenv never stops, removes or changes a container, volume or network that lacks
 * `app.kubernetes.io/managed-by=devenv` (and, for project-scoped operations, the
 * project label): these helpers are how the rest of src/docker checks that.
 */
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'devenv';
export const PROJECT_LABEL = 'dev.devenv/project';
/** Which part of devenv owns the object, e.g. "data" for the database and object store. */
export const COMPONENT_LABEL = 'dev.devenv/component';
/** The role of a data container / volume: "database" or "objectStore". */
export const ROLE_LABEL = 'dev.devenv/role';
/** sha256 of the resolved container spec: a different hash means "recreate". */
export const SPEC_HASH_LABEL = 'dev.devenv/spec-hash';

export function devenvLabels(project: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [MANAGED_BY]: MANAGED_BY_VALUE, [PROJECT_LABEL]: project, ...extra };
}

/** Docker API `label` filters ("k=v") for a label set. */
export function labelFilter(labels: Record<string, string>): string[] {
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

/** True for objects devenv created (managed-by=devenv), optionally of one project. */
export function isManaged(labels: Record<string, string> | undefined | null, project?: string): boolean {
  if (!labels || labels[MANAGED_BY] !== MANAGED_BY_VALUE) return false;
  return project === undefined || labels[PROJECT_LABEL] === project;
}

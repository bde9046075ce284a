/**
 * The labels every Docker object devenv creates carries, and the filters built from them.
 * devenv never stops, removes or changes a container, volume or network that lacks
 * `app.kubernetes.io/managed-by=devenv` (and, for project-scoped operations, the project
 * label): these helpers are how the rest of src/docker checks that. The keys themselves
 * are defined once, in `src/labels.ts`, and imported from there.
 */
import { LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';

/** True for objects devenv created (managed-by=devenv), optionally of one project. */
export function isManaged(labels: Record<string, string> | undefined | null, project?: string): boolean {
  if (!labels || labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return false;
  return project === undefined || labels[LABEL_PROJECT] === project;
}

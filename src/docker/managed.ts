/**
 * Removal of the Docker objects devenv made, shared by volumes and networks: only through a
 * label filter that includes managed-by=devenv, only objects that carry that label, and an
 * object already gone (404) is not an error.
 */
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../labels.ts';
import { isManaged } from './labels.ts';

/** True for the engine's "no such object" answer (HTTP 404). */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/** One kind of object: how to list those matching a label filter, read them and remove one. */
export interface ManagedKind<T> {
  /** The caller's name in the refusal message, e.g. "removeVolumes". */
  caller: string;
  list(labels: Record<string, string>): Promise<T[]>;
  labelsOf(item: T): Record<string, string> | undefined | null;
  nameOf(item: T): string;
  remove(item: T): Promise<unknown>;
}

/** Removes every object carrying `labels` (which must include managed-by=devenv). Returns their names. */
export async function removeManaged<T>(
  kind: ManagedKind<T>,
  labels: Record<string, string>,
): Promise<string[]> {
  if (labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE)
    throw new Error(`${kind.caller}: refusing a filter without managed-by=devenv`);
  const removed: string[] = [];
  for (const item of await kind.list(labels)) {
    if (!isManaged(kind.labelsOf(item))) continue;
    try {
      await kind.remove(item);
      removed.push(kind.nameOf(item));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return removed;
}

/**
 * Garbage-collection selection: which prerelease namespaces are to be deleted. A
 * namespace is selected only if ALL hold:
 *   - it carries devenv's prerelease labels for THIS project
 *     (app.kubernetes.io/managed-by=devenv, dev.devenv/project, dev.devenv/env=prerelease,
 *     dev.devenv/prerelease=true);
 *   - its name is `<prefix>-<something>` for the configured prefix;
 *   - its `dev.devenv/expires-at` annotation is readable and in the past;
 *   - it is not already being deleted.
 * Everything else is kept, each with the reason, so `gc --dry-run` can say why.
 *
 * Pure module: no I/O; the clock is a parameter.
 */
import { LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';
import { expiryState, humanSpan } from './expiry.ts';
import { ANNOTATION_EXPIRES_AT, isPrereleaseOf } from './metadata.ts';
import { assertSafePrefix, inPrefix } from './naming.ts';

export interface NamespaceInfo {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface GcDecision {
  name: string;
  reason: string;
}

export interface GcSelection {
  expired: GcDecision[];
  kept: GcDecision[];
}

export function selectForGc(
  namespaces: readonly NamespaceInfo[],
  opts: { project: string; prefix: string; now: Date },
): GcSelection {
  assertSafePrefix(opts.prefix);
  const out: GcSelection = { expired: [], kept: [] };
  for (const ns of [...namespaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const keep = (reason: string) => out.kept.push({ name: ns.name, reason });
    if (!inPrefix(ns.name, opts.prefix)) {
      keep(`outside the prefix "${opts.prefix}-"`);
      continue;
    }
    if (!isPrereleaseOf(ns.labels, opts.project)) {
      if (ns.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) keep('not labelled as created by devenv');
      else if (ns.labels[LABEL_PROJECT] !== opts.project)
        keep(`belongs to project "${ns.labels[LABEL_PROJECT] ?? '?'}"`);
      else keep('lacks the prerelease labels');
      continue;
    }
    if (ns.deletionTimestamp) {
      keep('already being deleted');
      continue;
    }
    const st = expiryState(ns.annotations?.[ANNOTATION_EXPIRES_AT], opts.now);
    if (st.state === 'unknown') keep(`${st.reason}: kept`);
    else if (st.state === 'alive') keep(`expires in ${humanSpan(st.remainingMs)}`);
    else out.expired.push({ name: ns.name, reason: `expired ${humanSpan(st.overdueMs)} ago` });
  }
  return out;
}

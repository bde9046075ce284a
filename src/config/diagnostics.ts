/**
 * A problem found in an input file, located by line and column (1-based), printed in the
 * `file:line:col: message` form that editors and terminals turn into links.
 */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
  /** The config path the problem is about, e.g. "services[1].context" (empty for the document). */
  path: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}

/** "services[1].context" from ['services', 1, 'context']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

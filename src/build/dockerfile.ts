/**
 * devenv's labels on built images, added by rewriting the Dockerfile as SENT (the file on
 * disk is never touched). Pure module.
 *
 * Why not the engine API's `labels` option: the classic builder turns it into one LABEL
 * step per label appended after the last instruction, each a container commit (~100-150
 * ms here) that reruns on EVERY build because it follows the changed COPY layer
 * (test/bench/reload.ts measured devenv at 1.9x a raw build+push with three labels).
 * One LABEL line right after the built stage's FROM is cached with the base layers, so
 * an edit costs nothing extra, and the labels are inherited by the final image.
 * (BuildKit, devenv's builder where the engine has it, writes API labels into the image
 * config without a step; the inline line is harmless there and keeps both builders alike.)
 */

/** One LABEL instruction carrying every label (keys sorted, values JSON-quoted). */
export function labelInstruction(labels: Record<string, string>): string {
  return `LABEL ${Object.keys(labels)
    .sort()
    .map((k) => `${JSON.stringify(k)}=${JSON.stringify(labels[k])}`)
    .join(' ')}`;
}

const FROM_RE = /^\s*FROM\s+(.*)$/i;

/**
 * The Dockerfile with `instruction` inserted after the FROM line of the stage that is
 * built: the stage named `target`, else the last stage. Undefined when that cannot be done
 * safely (no such FROM, or a FROM continued on the next line): the caller then falls back
 * to the API's `labels` option.
 */
export function insertAfterBuiltFrom(text: string, instruction: string, target?: string): string | undefined {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  let at = -1;
  let continued = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const prev = i > 0 ? (lines[i - 1] as string).trimEnd() : '';
    const inContinuation = prev.endsWith('\\') || prev.endsWith('`');
    if (inContinuation && !prev.trimStart().startsWith('#')) continue;
    const m = FROM_RE.exec(line);
    if (!m) continue;
    const args = (m[1] ?? '').trim();
    const stage = /\s+AS\s+([^\s]+)\s*$/i.exec(args)?.[1];
    if (target !== undefined && stage?.toLowerCase() !== target.toLowerCase()) continue;
    at = i;
    continued = args.endsWith('\\') || args.endsWith('`');
  }
  if (at < 0 || continued) return undefined;
  return [...lines.slice(0, at + 1), instruction, ...lines.slice(at + 1)].join(eol);
}

/**
 * devenv.yaml validation: text in, either a typed Config or EVERY problem found, each
 * located at `file:line:col` through the yaml package's source ranges.
 *
 * The steps: an empty file, then YAML syntax, then a mapping, then aliases (toJSChecked),
 * then the apiVersion alone (a config of another format gets one clear message), then the
 * zod schema (`zod-issues.ts` words its issues), then, on a config the schema accepts, the
 * cross-field rules (`semantic.ts`).
 *
 * Pure: the only view of the file system is the injected `probe`, so the checks that
 * need it (does the build context exist?) are unit-testable without touching disk.
 */
import * as YAML from 'yaml';
import { type Diagnostic, formatPath } from './diagnostics.ts';
import { API_VERSION, type Config, configSchema } from './schema.ts';
import { type PathProbe, semanticProblems } from './semantic.ts';
import { toJSChecked } from './yaml-aliases.ts';
import { type At, issueToDiagnostics, type Path } from './zod-issues.ts';

export type ValidationResult = { ok: true; config: Config } | { ok: false; diagnostics: Diagnostic[] };

export function validateConfigText(text: string, file: string, probe: PathProbe): ValidationResult {
  const lineCounter = new YAML.LineCounter();
  const at: At = (offset, message, path = []) => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col, message, path: formatPath(path) };
  };
  if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text)) {
    return failed([
      {
        file,
        line: 1,
        col: 1,
        path: '',
        message: 'the file is empty; run "devenv init" to write a starter devenv.yaml',
      },
    ]);
  }
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return failed(
      doc.errors.map((e) => {
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return at(e.pos[0], `invalid YAML: ${first}`);
      }),
    );
  }
  if (!YAML.isMap(doc.contents)) {
    const offset = doc.contents?.range?.[0] ?? 0;
    return failed([at(offset, 'the config must be a mapping with keys such as "apiVersion" and "project"')]);
  }
  const expanded = toJSChecked(doc);
  if (!expanded.ok) return failed([at(expanded.offset, expanded.message)]);
  return checkConfig(expanded.value, doc, probe, at);
}

function failed(diagnostics: Diagnostic[]): ValidationResult {
  return { ok: false, diagnostics };
}

/** The parsed YAML value against the apiVersion, the schema and the cross-field rules. */
function checkConfig(raw: unknown, doc: YAML.Document, probe: PathProbe, at: At): ValidationResult {
  const locate = (path: Path, keyOf?: string): number => offsetOf(doc, path, keyOf);
  const apiVersion = (raw as Record<string, unknown>).apiVersion;
  if (apiVersion !== undefined && apiVersion !== API_VERSION) {
    // Checked before the schema so that a config of a newer or older format gets ONE clear
    // message instead of a cascade of unknown-key errors.
    const message = `unsupported apiVersion ${JSON.stringify(apiVersion)}: this devenv reads "${API_VERSION}"`;
    return failed([at(locate(['apiVersion']), message, ['apiVersion'])]);
  }
  const diagnostics: Diagnostic[] = [];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) diagnostics.push(...issueToDiagnostics(issue, raw, locate, at));
  } else {
    for (const p of semanticProblems(parsed.data, probe)) {
      diagnostics.push(at(locate(p.path, p.key), p.message, p.path));
    }
  }
  if (diagnostics.length > 0) {
    diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
    return failed(diagnostics);
  }
  return { ok: true, config: (parsed as { data: Config }).data };
}

/** Offset of the node at `path` (or of the key `keyOf` inside it), falling back to the nearest existing parent. */
function offsetOf(doc: YAML.Document, path: Path, keyOf?: string): number {
  const parts = [...path];
  if (keyOf !== undefined) {
    const parent = doc.getIn(parts as unknown[], true);
    if (YAML.isMap(parent)) {
      const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === keyOf);
      const r = pair && YAML.isScalar(pair.key) ? pair.key.range : undefined;
      if (r) return r[0];
    }
  }
  while (parts.length > 0) {
    const node = doc.getIn(parts as unknown[], true);
    if (YAML.isNode(node) && node.range) return node.range[0];
    parts.pop();
  }
  return doc.contents?.range?.[0] ?? 0;
}

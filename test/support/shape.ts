/**
 * `npm run shape`: the source files of src/ over 450 lines and the functions over 80
 * lines (function declarations, methods, and arrow functions or function expressions of
 * 10 lines or more), longest first. Read with oxc-parser's AST, so a function is what the
 * language says it is. Prints; exits 0 (a place to look, not a verdict).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseSync } from 'oxc-parser';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const MAX_FILE = 450;
const MAX_FUNCTION = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

interface Found {
  where: string;
  name: string;
  lines: number;
}

type Node = { type?: string; start?: number; end?: number; [k: string]: unknown };

const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** Every function of a file with its line span; a function's name from its declaration, key or variable. */
function functionsOf(code: string, file: string): Found[] {
  const lineAt = (offset: number) => code.slice(0, offset).split('\n').length;
  const out: Found[] = [];
  const visit = (node: unknown, name: string): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, name);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    let own = name;
    if (n.type === 'VariableDeclarator' || n.type === 'MethodDefinition' || n.type === 'Property') {
      const id = (n.id ?? n.key) as { name?: string } | undefined;
      if (id?.name) own = id.name;
    }
    if (n.type && FUNCTIONS.has(n.type) && n.start !== undefined && n.end !== undefined) {
      const id = (n.id as { name?: string } | null | undefined)?.name ?? own;
      const first = lineAt(n.start);
      const lines = lineAt(n.end) - first + 1;
      out.push({ where: `${file}:${first}`, name: id || '(anonymous)', lines });
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'type' && typeof v === 'object') visit(v, own);
  };
  visit(parseSync(file, code).program, '');
  return out;
}

const longFiles: Found[] = [];
const longFunctions: Found[] = [];
for (const path of sourceFiles(SRC)) {
  const file = relative(join(SRC, '..'), path);
  const code = readFileSync(path, 'utf8');
  const lines = code.split('\n').length;
  if (lines > MAX_FILE) longFiles.push({ where: file, name: '', lines });
  for (const f of functionsOf(code, file)) if (f.lines > MAX_FUNCTION) longFunctions.push(f);
}
const byLines = (a: Found, b: Found) => b.lines - a.lines;
console.log(`files over ${MAX_FILE} lines: ${longFiles.length}`);
for (const f of longFiles.sort(byLines)) console.log(`  ${f.lines}  ${f.where}`);
console.log(`functions over ${MAX_FUNCTION} lines: ${longFunctions.length}`);
for (const f of longFunctions.sort(byLines)) console.log(`  ${f.lines}  ${f.where}  ${f.name}`);

/**
 * The shape of src/, checked on every test run (ARCHITECTURE.md, "Layers"):
 * - every import (static, dynamic, type-only alike) points to the importer's own layer or
 *   one below it, never up;
 * - no file imports itself back through a loop of imports.
 * Imports (re-exports and `import()` with a literal included) are read by a real parser
 * (oxc-parser's module record), not by regex.
 * To see the violations of a tree by hand: `npx vitest run --project unit test/unit/layers.test.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseSync } from 'oxc-parser';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/**
 * The layers, bottom first. A name is a top-level folder of src/ or a file at its root
 * (without `.ts`). Parts of one layer may import each other, but not in a loop.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'events', 'wait', 'labels', 'state', 'net'], // ground floor: shared words
  ['config'], // the validated config and its tables (engines, defaults)
  ['tools', 'docker', 'compose', 'tls'], // adapters without Kubernetes, pure parsers
  ['manifests', 'cluster'], // rendering; k3d and the cluster add-ons
  ['kube', 'data', 'build'], // the Kubernetes adapter; data services; image builds
  ['watch', 'store'], // file watching; the dashboard's state store and its model
  ['engine', 'doctor'], // the pipeline (plan → render → deploy), pre-flight, checks
  ['prerelease'], // the same pipeline in a prerelease namespace, CI templates
  ['tui'], // terminal views and printers
  ['cli'], // commander tree and thin commands
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The part of src/ a file belongs to: its top-level folder, or its name at the root. */
function partOf(file: string): string {
  const [first = '', ...rest] = relative(SRC, file).split(sep);
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

const rel = (f: string) => relative(SRC, f);
const layerOf = new Map(LAYERS.flatMap((parts, i) => parts.map((p) => [p, i] as const)));

/** Every relative import of every file of src/, resolved to a file path. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const code = readFileSync(file, 'utf8');
    const { module: m } = parseSync(file, code);
    const names = [
      ...m.staticImports.map((i) => i.moduleRequest.value),
      ...m.staticExports.flatMap((e) =>
        e.entries.flatMap((x) => (x.moduleRequest ? [x.moduleRequest.value] : [])),
      ),
      ...m.dynamicImports.map((d) =>
        code.slice(d.moduleRequest.start, d.moduleRequest.end).replace(/^['"`]|['"`]$/g, ''),
      ),
    ];
    graph.set(
      file,
      names.filter((name) => name.startsWith('.')).map((name) => resolve(dirname(file), name)),
    );
  }
  return graph;
}

/** The import loops of a graph (Tarjan's strongly connected components larger than one file). */
function loops(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** `importer -> imported` for every import from a lower layer to a higher one. */
function upwardImports(g: Map<string, string[]>): string[] {
  const up: string[] = [];
  for (const [file, imports] of g) {
    const from = layerOf.get(partOf(file)) ?? -1;
    for (const target of imports) {
      if ((layerOf.get(partOf(target)) ?? -1) > from) up.push(`${rel(file)} -> ${rel(target)}`);
    }
  }
  return up;
}

const graph = importGraph();

describe('the layers of src/', () => {
  it('name every part of src/ exactly once', () => {
    const parts = [...new Set([...graph.keys()].map(partOf))].sort();
    expect(parts.filter((p) => !layerOf.has(p))).toEqual([]);
    expect(LAYERS.flat().length).toBe(layerOf.size);
  });

  it('hold no import that points to a higher layer', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('hold no import loop', () => {
    expect(loops(graph).map((scc) => scc.map(rel).sort().join(' <-> '))).toEqual([]);
  });

  it('finds a loop and an upward import when there is one (the checks can fail)', () => {
    const a = join(SRC, 'config', 'a.ts');
    const b = join(SRC, 'config', 'b.ts');
    expect(
      loops(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toHaveLength(1);
    const kube = join(SRC, 'kube', 'watch.ts');
    const store = join(SRC, 'store', 'actions.ts');
    expect(
      upwardImports(
        new Map([
          [kube, [store]],
          [store, [kube]],
        ]),
      ),
    ).toEqual(['kube/watch.ts -> store/actions.ts']);
  });
});

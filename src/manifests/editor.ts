/**
 * The few edits rendering makes, through one interface over either source: a clone of a
 * yaml Document (so values, key order, comments and scalar styles of untouched fields
 * survive) or a clone of a plain object (documents that a renderer produced as JSON).
 *
 * Pure module: no I/O; the source is never mutated.
 */
import * as YAML from 'yaml';

export type Path = readonly (string | number)[];

/** A uniform view over a yaml Document or a plain object, for the few edits rendering makes. */
export interface Editor {
  get(path: Path): unknown;
  set(path: Path, value: unknown): void;
  toJS(): Record<string, unknown>;
  toYaml(): string;
}

export function documentEditor(source: YAML.Document): Editor {
  const doc = source.clone();
  expandAliases(doc);
  const ensureMap = (path: Path): void => {
    for (let i = 1; i <= path.length; i++) {
      const prefix = path.slice(0, i);
      const node = doc.getIn(prefix, true);
      if (node === undefined || node === null || (YAML.isScalar(node) && node.value === null)) {
        doc.setIn(prefix, doc.createNode({}));
      }
    }
  };
  return {
    get(path) {
      const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
      return YAML.isNode(node) ? node.toJS(doc) : node;
    },
    set(path, value) {
      ensureMap(path.slice(0, -1));
      const existing = doc.getIn(path, true);
      if (YAML.isScalar(existing) && typeof value !== 'object') {
        // Keep the node (and its comment); only the value changes.
        // (The stringifier quotes a plain string that would read as another type, e.g. "yes".)
        existing.value = value;
        return;
      }
      doc.setIn(path, doc.createNode(value));
    },
    toJS() {
      return doc.toJS() as Record<string, unknown>;
    },
    toYaml() {
      return doc.toString({ indentSeq: !usesCompactSequences(source), flowCollectionPadding: false });
    },
  };
}

/**
 * Replaces every alias (`*name`) in `doc` with a copy of the node it names, and drops the
 * anchors: what kubectl sends is the expanded object too. Without it an edit through an
 * alias fails ("Expected YAML collection at labels" for `labels: *common`), and an edit
 * of an anchored map (devenv's labels on `metadata.labels: &l`) would also change every
 * place that aliases it (`selector.matchLabels: *l`). parse.ts has already refused
 * aliases that cannot be expanded or expand too much, so this ends.
 */
function expandAliases(doc: YAML.Document): void {
  for (let found = true; found; ) {
    found = false;
    YAML.visit(doc, {
      Alias(_key, alias) {
        const target = alias.resolve(doc);
        if (!target) return undefined;
        found = true;
        return target.clone() as YAML.Node;
      },
    });
  }
  YAML.visit(doc, {
    Node(_key, node) {
      if ('anchor' in node) delete (node as { anchor?: string }).anchor;
    },
  });
}

/**
 * True when the source writes block sequences flush with their parent key
 * ("containers:\n- name: api"), so that the rendered YAML keeps that layout.
 * Needs the CST tokens that parse.ts keeps (keepSourceTokens).
 */
function usesCompactSequences(doc: YAML.Document): boolean {
  let compact = false;
  YAML.visit(doc, {
    Map(_key, map) {
      const mapIndent = (map.srcToken as { indent?: number } | undefined)?.indent;
      for (const pair of map.items) {
        const v = pair.value;
        if (!YAML.isSeq(v) || v.flow) continue;
        const seqIndent = (v.srcToken as { indent?: number } | undefined)?.indent;
        if (mapIndent === undefined || seqIndent === undefined) continue;
        compact = seqIndent === mapIndent;
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  return compact;
}

export function objectEditor(source: Record<string, unknown>): Editor {
  const root = structuredClone(source);
  const walk = (path: Path, create: boolean): Record<string | number, unknown> | undefined => {
    let cur: unknown = root;
    for (const p of path) {
      if (cur === null || typeof cur !== 'object') return undefined;
      const c = cur as Record<string | number, unknown>;
      if ((c[p] === undefined || c[p] === null) && create) c[p] = {};
      cur = c[p];
    }
    return cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>) : undefined;
  };
  return {
    get(path) {
      if (path.length === 0) return root;
      const parent = walk(path.slice(0, -1), false);
      return parent?.[path[path.length - 1]!];
    },
    set(path, value) {
      const parent = walk(path.slice(0, -1), true);
      if (parent) parent[path[path.length - 1]!] = structuredClone(value);
    },
    toJS() {
      return structuredClone(root);
    },
    toYaml() {
      return YAML.stringify(root, { version: '1.1' });
    },
  };
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Expanding a parsed YAML document's aliases safely, for every input file devenv reads
 * (devenv.yaml, manifests).
 *
 * The yaml package parses `*alias` nodes without expanding them; they are expanded when
 * the document is turned into plain values (`toJS`). There, a document whose aliases nest
 * ("billion laughs": nine aliases of nine aliases of …) would grow exponentially, so the
 * package stops after `maxAliasCount` expansions and throws a ReferenceError, as it does
 * for an alias whose anchor is not defined before it. Neither error carries a position,
 * and a bare throw reaches the user as "internal error" with exit 1. This turns both into
 * a problem at the node that caused it, so callers report it as `file:line:col` bad input
 * (exit 2) like any other YAML error.
 *
 * Pure.
 */
import * as YAML from 'yaml';

/** The yaml package's own default: enough for every real use of anchors and merge keys. */
export const MAX_ALIAS_COUNT = 100;

export type ToJSResult =
  | { ok: true; value: unknown }
  | {
      ok: false;
      /** Source offset of the alias (or the smallest collection) whose expansion failed. */
      offset: number;
      message: string;
    };

/** `doc.toJS()` with the alias limit, or the located problem when the aliases cannot be expanded. */
export function toJSChecked(doc: YAML.Document.Parsed | YAML.Document): ToJSResult {
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const node = culprit(doc, doc.contents);
    const offset = node?.range?.[0] ?? doc.contents?.range?.[0] ?? 0;
    if (/unresolved alias/i.test(err.message) && YAML.isAlias(node)) {
      return {
        ok: false,
        offset,
        message: `invalid YAML: alias "*${node.source}" has no anchor "&${node.source}" before it`,
      };
    }
    if (/excessive alias count/i.test(err.message)) {
      return {
        ok: false,
        offset,
        message: `invalid YAML: the aliases here expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias expansions); a document that nests aliases like this ("billion laughs") is refused`,
      };
    }
    return { ok: false, offset, message: `invalid YAML: ${err.message}` };
  }
}

/**
 * The first node, in document order, whose own expansion throws: an alias when one alone
 * fails, else the smallest collection whose aliases together exceed the limit (each
 * child alone stays under it because the count is per expansion).
 */
function culprit(doc: YAML.Document, node: unknown): YAML.Node | undefined {
  if (!YAML.isNode(node)) return undefined;
  if (YAML.isAlias(node)) return node;
  if (YAML.isCollection(node)) {
    for (const item of node.items) {
      const children = YAML.isPair(item) ? [item.key, item.value] : [item];
      for (const child of children) {
        if (YAML.isNode(child) && throws(doc, child)) return culprit(doc, child);
      }
    }
  }
  return node;
}

function throws(doc: YAML.Document, node: YAML.Node): boolean {
  try {
    node.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
    return false;
  } catch (err) {
    return err instanceof ReferenceError;
  }
}

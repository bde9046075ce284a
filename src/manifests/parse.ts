/**
 * Manifest text → source documents, read with the same YAML rules as kubectl, each
 * checked for what devenv needs to reconcile it (apiVersion, kind, metadata.name), with
 * every problem located at `file:line:col`.
 *
 * kubectl reads manifests through sigs.k8s.io/yaml, i.e. YAML 1.1: `defaultMode: 0644` is
 * the octal 420, `enabled: yes` is a boolean, `<<` merges. The yaml package's default is
 * YAML 1.2, which would read 0644 as decimal 644 and silently deploy something else than
 * production does. So documents are parsed as YAML 1.1, minus the 1.1 types that
 * kubectl's parser does NOT resolve when decoding into JSON (timestamps and sexagesimal
 * numbers stay strings; !!omap/!!set/!!pairs/!!binary are not Kubernetes YAML).
 *
 * Pure module: no I/O (load.ts reads the files).
 */
import * as YAML from 'yaml';
import type { Diagnostic } from '../config/diagnostics.ts';
import { toJSChecked } from '../config/yaml-aliases.ts';
import type { SourceDoc } from './types.ts';

type Tags = Exclude<YAML.SchemaOptions['customTags'], ((tags: never) => unknown) | null | undefined>;

function kubectlTags(tags: Tags): Tags {
  return tags.filter((t) => {
    const tag = typeof t === 'string' ? t : t.tag;
    const format = typeof t === 'string' ? undefined : (t as { format?: string }).format;
    return !/:(timestamp|omap|pairs|set|binary)$/.test(tag) && format !== 'TIME';
  });
}

/** Parse options shared by every manifest document (and by documents devenv creates). */
export const KUBE_YAML_OPTIONS = {
  version: '1.1',
  customTags: kubectlTags,
  merge: true,
  uniqueKeys: true,
  prettyErrors: false,
  // render.ts reads the source's indentation to keep it in the rendered YAML.
  keepSourceTokens: true,
} as const satisfies YAML.ParseOptions & YAML.DocumentOptions & YAML.SchemaOptions;

export interface ParsedManifests {
  docs: SourceDoc[];
  problems: Diagnostic[];
}

type Path = readonly (string | number)[];

/**
 * Parses one file (YAML, multi-document, or JSON) into documents. Empty documents (only
 * comments, or `---` separators) are skipped like kubectl does; a `kind: List` is
 * expanded into its items.
 */
export function parseManifestText(text: string, file: string): ParsedManifests {
  const lineCounter = new YAML.LineCounter();
  const docs: SourceDoc[] = [];
  const problems: Diagnostic[] = [];
  const at = (offset: number, message: string, path: Path = []): Diagnostic => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col, message, path: path.join('.') };
  };

  const parsed = YAML.parseAllDocuments(text, { ...KUBE_YAML_OPTIONS, lineCounter });
  const all = Array.isArray(parsed) ? parsed : [];
  if (!Array.isArray(parsed)) {
    // An EmptyStream: nothing but comments or whitespace.
    return { docs, problems };
  }
  let index = 0;
  for (const doc of all) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        problems.push(at(e.pos[0], `invalid YAML: ${first}`));
      }
      index++;
      continue;
    }
    // Render and apply expand the aliases later; a document whose aliases cannot be
    // expanded (undefined anchor, "billion laughs") is bad input here, with its position.
    const expanded = toJSChecked(doc);
    if (!expanded.ok) {
      problems.push(at(expanded.offset, expanded.message));
      index++;
      continue;
    }
    const contents = doc.contents;
    if (contents === null || (YAML.isScalar(contents) && contents.value === null)) continue;
    const items: Array<{ node: YAML.Node; doc: YAML.Document }> = [];
    if (YAML.isMap(contents) && isList(contents)) {
      const list = contents.get('items', true);
      if (YAML.isSeq(list)) {
        for (const item of list.items) {
          if (!YAML.isNode(item)) continue;
          const d = new YAML.Document(null, KUBE_YAML_OPTIONS);
          d.contents = item as YAML.Node as typeof d.contents;
          items.push({ node: item, doc: d });
        }
      } else if (list !== undefined && !(YAML.isScalar(list) && list.value === null)) {
        problems.push(at(list.range?.[0] ?? 0, 'a List must have "items" as a sequence', ['items']));
      }
    } else {
      items.push({ node: contents, doc: doc as YAML.Document });
    }
    for (const { node, doc: itemDoc } of items) {
      const start = node.range?.[0] ?? 0;
      const found = checkObject(node, at);
      if (found.length > 0) problems.push(...found);
      else {
        const pos = lineCounter.linePos(start);
        docs.push({ file, index, doc: itemDoc, line: pos.line, col: pos.col });
      }
      index++;
    }
  }
  return { docs, problems };
}

function isList(map: YAML.YAMLMap): boolean {
  const kind = map.get('kind');
  return typeof kind === 'string' && (kind === 'List' || kind.endsWith('List')) && map.has('items');
}

/** What devenv needs of every object; each problem names the object where it can. */
function checkObject(
  node: YAML.Node,
  at: (offset: number, message: string, path?: Path) => Diagnostic,
): Diagnostic[] {
  const start = node.range?.[0] ?? 0;
  if (!YAML.isMap(node)) {
    return [at(start, 'a manifest must be a mapping with apiVersion, kind and metadata')];
  }
  const out: Diagnostic[] = [];
  const kind = node.get('kind', true);
  const apiVersion = node.get('apiVersion', true);
  const metadata = node.get('metadata', true);
  const nameNode = YAML.isMap(metadata) ? metadata.get('name', true) : undefined;
  const kindText = YAML.isScalar(kind) && typeof kind.value === 'string' ? kind.value : undefined;
  const nameText = YAML.isScalar(nameNode) && typeof nameNode.value === 'string' ? nameNode.value : undefined;
  const what = `${kindText ?? 'object'}${nameText ? ` "${nameText}"` : ''}`;

  const str = (n: unknown, key: string, path: Path, owner: YAML.Node): void => {
    if (n === undefined) out.push(at(owner.range?.[0] ?? start, `${what}: missing ${path.join('.')}`, path));
    else if (!YAML.isScalar(n) || typeof n.value !== 'string' || n.value.trim() === '') {
      const pos = YAML.isNode(n) ? (n.range?.[0] ?? start) : start;
      out.push(at(pos, `${what}: ${key} must be a non-empty string`, path));
    }
  };
  str(apiVersion, 'apiVersion', ['apiVersion'], node);
  str(kind, 'kind', ['kind'], node);
  if (metadata === undefined || (YAML.isScalar(metadata) && metadata.value === null)) {
    out.push(at(start, `${what}: missing metadata.name`, ['metadata', 'name']));
  } else if (!YAML.isMap(metadata)) {
    out.push(at(metadata.range?.[0] ?? start, `${what}: metadata must be a mapping`, ['metadata']));
  } else if (nameNode === undefined && metadata.has('generateName')) {
    out.push(
      at(
        metadata.range?.[0] ?? start,
        `${what}: metadata.generateName is not supported: devenv reconciles objects by name, so give it metadata.name`,
        ['metadata', 'name'],
      ),
    );
  } else {
    str(nameNode, 'metadata.name', ['metadata', 'name'], metadata);
  }
  return out;
}

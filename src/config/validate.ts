/**
 * devenv.yaml validation: text in, either a typed Config or EVERY problem found, each
 * located at `file:line:col` through the yaml package's source ranges.
 *
 * Pure: the only view of the file system is the injected `probe`, so the checks that
 * need it (does the build context exist?) are unit-testable without touching disk.
 */
import { closest, distance } from 'fastest-levenshtein';
import * as YAML from 'yaml';
import type { z } from 'zod';
import { findCycle } from './dependencies.ts';
import { type Diagnostic, formatPath } from './diagnostics.ts';
import { API_VERSION, type Config, configSchema } from './schema.ts';
import { toJSChecked } from './yaml-aliases.ts';

export type PathKind = 'file' | 'dir' | 'missing';

/** How validation sees the project's files: the kind of a path relative to the config's directory. */
export interface PathProbe {
  kind(relPath: string): PathKind;
}

export type ValidationResult = { ok: true; config: Config } | { ok: false; diagnostics: Diagnostic[] };

type Path = readonly PropertyKey[];

export function validateConfigText(text: string, file: string, probe: PathProbe): ValidationResult {
  const lineCounter = new YAML.LineCounter();
  const at = (offset: number, message: string, path: Path = []): Diagnostic => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col, message, path: formatPath(path) };
  };

  if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text)) {
    return {
      ok: false,
      diagnostics: [
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: 'the file is empty; run "devenv init" to write a starter devenv.yaml',
        },
      ],
    };
  }

  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => {
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return at(e.pos[0], `invalid YAML: ${first}`);
      }),
    };
  }
  if (!YAML.isMap(doc.contents)) {
    return {
      ok: false,
      diagnostics: [
        at(
          doc.contents?.range?.[0] ?? 0,
          'the config must be a mapping with keys such as "apiVersion" and "project"',
        ),
      ],
    };
  }

  const expanded = toJSChecked(doc);
  if (!expanded.ok) return { ok: false, diagnostics: [at(expanded.offset, expanded.message)] };
  const raw: unknown = expanded.value;
  const locate = (path: Path, keyOf?: string): number => offsetOf(doc, path, keyOf);
  const diagnostics: Diagnostic[] = [];

  const apiVersion = (raw as Record<string, unknown>).apiVersion;
  if (apiVersion !== undefined && apiVersion !== API_VERSION) {
    // Checked before the schema so that a config of a newer or older format gets ONE clear
    // message instead of a cascade of unknown-key errors.
    diagnostics.push(
      at(
        locate(['apiVersion']),
        `unsupported apiVersion ${JSON.stringify(apiVersion)}: this devenv reads "${API_VERSION}"`,
        ['apiVersion'],
      ),
    );
    return { ok: false, diagnostics };
  }

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
    return { ok: false, diagnostics };
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

type At = (offset: number, message: string, path?: Path) => Diagnostic;

function issueToDiagnostics(
  issue: z.core.$ZodIssue,
  raw: unknown,
  locate: (path: Path, keyOf?: string) => number,
  at: At,
): Diagnostic[] {
  const where = formatPath(issue.path) || 'the config';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(configSchema, issue.path);
      return issue.keys.map((key) => {
        const guess = suggest(key, known);
        const hint = guess
          ? ` (did you mean "${guess}"?)`
          : known.length
            ? ` (known keys: ${known.join(', ')})`
            : '';
        return at(locate(issue.path, key), `unknown key "${key}" in ${where}${hint}`, [...issue.path, key]);
      });
    }
    case 'invalid_type': {
      const value = getAt(raw, issue.path);
      if (value === undefined) {
        const parent = issue.path.slice(0, -1);
        const key = String(issue.path[issue.path.length - 1]);
        return [
          at(
            locate(parent),
            `missing required key "${key}" in ${formatPath(parent) || 'the config'}`,
            issue.path,
          ),
        ];
      }
      return [
        at(
          locate(issue.path),
          `${where}: expected ${typeWords(issue.expected)}, got ${describe(value)}`,
          issue.path,
        ),
      ];
    }
    case 'invalid_union': {
      // zod's own message ("Invalid input") says nothing; a union written with its own
      // message (e.g. the forms a port forward may take) keeps that message.
      if (issue.message !== 'Invalid input') break;
      const value = getAt(raw, issue.path);
      if (value === undefined) {
        const parent = issue.path.slice(0, -1);
        return [
          at(
            locate(parent),
            `missing required key "${String(issue.path.at(-1))}" in ${formatPath(parent) || 'the config'}`,
            issue.path,
          ),
        ];
      }
      // Every branch refused the value's type: name the types it may have.
      const types = unionTypes(issue.errors);
      if (types)
        return [at(locate(issue.path), `${where}: expected ${types}, got ${describe(value)}`, issue.path)];
      break;
    }
    case 'invalid_value': {
      const value = getAt(raw, issue.path);
      const options = issue.values.map((v) => String(v));
      const guess = typeof value === 'string' ? suggest(value, options) : undefined;
      const hint = guess ? ` (did you mean "${guess}"?)` : '';
      const expected =
        options.length === 1 ? `"${options[0]}"` : `one of ${options.map((o) => `"${o}"`).join(', ')}`;
      if (value === undefined) {
        return [
          at(
            locate(issue.path.slice(0, -1)),
            `missing required key "${String(issue.path.at(-1))}": must be ${expected}`,
            issue.path,
          ),
        ];
      }
      return [
        at(
          locate(issue.path),
          `${where}: ${describe(value)} is not allowed; must be ${expected}${hint}`,
          issue.path,
        ),
      ];
    }
    case 'too_big':
    case 'too_small': {
      const value = getAt(raw, issue.path);
      if (typeof value === 'number') {
        const bound =
          issue.code === 'too_big' ? `at most ${String(issue.maximum)}` : `at least ${String(issue.minimum)}`;
        return [at(locate(issue.path), `${where}: ${value} is out of range; must be ${bound}`, issue.path)];
      }
      return [at(locate(issue.path), `${where}: ${describe(value)} ${issue.message}`, issue.path)];
    }
    default:
      break;
  }
  const value = getAt(raw, issue.path);
  return [at(locate(issue.path), `${where}: ${describe(value)} ${issue.message}`, issue.path)];
}

/** The value as a user wrote it, in the words of YAML: "a mapping", "a list", "the number 3". */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `the ${typeof value} ${String(value)}`;
}

/** zod's type names in the words of YAML, as `describe` says what was found. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  set: 'a list',
  null: 'null',
};

function typeWords(expected: string): string {
  return TYPE_WORDS[expected] ?? expected;
}

/** "a string or a number" when every branch of a union failed on the type alone; else undefined. */
function unionTypes(branches: readonly (readonly z.core.$ZodIssue[])[]): string | undefined {
  const words: string[] = [];
  for (const branch of branches) {
    const only = branch.length === 1 ? branch[0] : undefined;
    if (only?.code !== 'invalid_type' || only.path.length > 0) return undefined;
    const w = typeWords(only.expected);
    if (!words.includes(w)) words.push(w);
  }
  if (words.length === 0) return undefined;
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function getAt(raw: unknown, path: Path): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** The closest known word, when it is close enough to be a plausible typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(word, known as string[]);
  const d = distance(word.toLowerCase(), best.toLowerCase());
  return d <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Keys the schema allows for the object at `path`, found by walking the zod schema itself. */
export function keysAt(schema: z.ZodType, path: Path): string[] {
  let cur: z.ZodType | undefined = schema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let t = s as z.ZodType & {
      def: { type: string; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
    };
    for (;;) {
      const def = t.def;
      if (
        (def.type === 'optional' ||
          def.type === 'default' ||
          def.type === 'prefault' ||
          def.type === 'nullable') &&
        def.innerType
      )
        t = def.innerType as typeof t;
      else if (def.type === 'pipe' && def.in) t = def.in as typeof t;
      // A union of a scalar and an object (a manifest path or a chart): the object's keys.
      else if (def.type === 'union' && def.options?.some((o) => o.def.type === 'object'))
        t = def.options.find((o) => o.def.type === 'object') as typeof t;
      else return t;
    }
  };
  for (const p of path) {
    if (!cur) return [];
    const s = unwrap(cur) as z.ZodType & {
      def: { type: string };
      shape?: Record<string, z.ZodType>;
      element?: z.ZodType;
    };
    if (typeof p === 'number') cur = s.def.type === 'array' ? s.element : undefined;
    else cur = s.def.type === 'object' ? s.shape?.[String(p)] : undefined;
  }
  if (!cur) return [];
  const s = unwrap(cur) as z.ZodType & { def: { type: string }; shape?: Record<string, z.ZodType> };
  return s.def.type === 'object' && s.shape ? Object.keys(s.shape) : [];
}

interface Problem {
  path: PropertyKey[];
  /** Point at this key of the object at `path` rather than at its value. */
  key?: string;
  message: string;
}

/** Cross-field rules the schema cannot express: uniqueness, references, files that must exist. */
export function semanticProblems(config: Config, probe: PathProbe): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  const images = new Map<string, number>();

  const mustBe = (path: PropertyKey[], rel: string, kind: 'file' | 'dir' | 'any', what: string): void => {
    const k = probe.kind(rel);
    if (k === 'missing')
      problems.push({ path, message: `${what} "${rel}" does not exist (paths are relative to devenv.yaml)` });
    else if (kind !== 'any' && k !== kind)
      problems.push({ path, message: `${what} "${rel}" must be a ${kind === 'dir' ? 'directory' : 'file'}` });
  };

  config.services.forEach((svc, i) => {
    const first = seen.get(svc.name);
    if (first !== undefined) {
      problems.push({
        path: ['services', i, 'name'],
        message: `duplicate service name "${svc.name}" (first defined in services[${first}])`,
      });
    } else seen.set(svc.name, i);

    const image = svc.image ?? `${config.project}/${svc.name}`;
    const firstImage = images.get(image);
    if (firstImage !== undefined) {
      problems.push({
        path: ['services', i, 'image'],
        message: `image "${image}" is already used by services[${firstImage}]`,
      });
    } else images.set(image, i);

    const ctxKind = probe.kind(svc.context);
    if (ctxKind !== 'dir') {
      problems.push({
        path: ['services', i, 'context'],
        message: `build context "${svc.context}" of service "${svc.name}" ${ctxKind === 'missing' ? 'does not exist' : 'is not a directory'} (paths are relative to devenv.yaml)`,
      });
    } else {
      mustBe(
        ['services', i, 'dockerfile'],
        joinRel(svc.context, svc.dockerfile),
        'file',
        `Dockerfile of service "${svc.name}"`,
      );
    }
    for (const [j, m] of svc.manifests.entries()) {
      if (typeof m === 'string') {
        mustBe(['services', i, 'manifests', j], m, 'any', `manifests of service "${svc.name}"`);
        continue;
      }
      const at = ['services', i, 'manifests', j];
      const remote = m.repo !== undefined || m.chart.startsWith('oci://');
      const chartKind = remote ? 'dir' : probe.kind(m.chart);
      if (remote) {
        // Fetched by helm from its repository or registry when rendered.
      } else if (chartKind !== 'dir')
        problems.push({
          path: [...at, 'chart'],
          message: `chart of service "${svc.name}" "${m.chart}" ${chartKind === 'missing' ? 'does not exist' : 'is not a directory'} (paths are relative to devenv.yaml)`,
        });
      else if (probe.kind(joinRel(m.chart, 'Chart.yaml')) !== 'file')
        problems.push({
          path: [...at, 'chart'],
          message: `chart of service "${svc.name}" "${m.chart}" has no Chart.yaml (a local Helm chart folder is expected)`,
        });
      for (const [k, v] of m.values.entries())
        mustBe([...at, 'values', k], v, 'file', `values file of service "${svc.name}"`);
    }
    for (const [j, w] of svc.watch.entries()) mustBe(['services', i, 'watch', j], w, 'any', 'watch path');
  });

  if (config.database) {
    for (const [j, s] of config.database.initScripts.entries()) {
      mustBe(['database', 'initScripts', j], s, 'file', 'init script');
    }
    if (config.database.compose)
      mustBe(['database', 'compose'], config.database.compose, 'file', 'compose file');
  }
  if (config.objectStore) {
    if (config.objectStore.seed)
      mustBe(['objectStore', 'seed', 'folder'], config.objectStore.seed.folder, 'dir', 'seed folder');
    if (config.objectStore.compose)
      mustBe(['objectStore', 'compose'], config.objectStore.compose, 'file', 'compose file');
  }
  if (config.tls && !seen.has(config.tls.service)) {
    const names = [...seen.keys()];
    const guess = suggest(config.tls.service, names);
    problems.push({
      path: ['tls', 'service'],
      message: `tls.service "${config.tls.service}" is not a service of this project${guess ? ` (did you mean "${guess}"?)` : names.length ? ` (services: ${names.join(', ')})` : ''}`,
    });
  }

  // dependsOn: names of services of this project, and no cycle (deploy order, engine/order.ts).
  config.services.forEach((svc, i) => {
    for (const [j, d] of (svc.dependsOn ?? []).entries()) {
      if (seen.has(d)) continue;
      const names = [...seen.keys()].filter((n) => n !== svc.name);
      const guess = suggest(d, names);
      problems.push({
        path: ['services', i, 'dependsOn', j],
        message: `services[${i}].dependsOn: "${d}" is not a service of this project${guess ? ` (did you mean "${guess}"?)` : names.length ? ` (services: ${names.join(', ')})` : ''}`,
      });
    }
  });
  const cycle = findCycle(config.services.map((s) => ({ name: s.name, dependsOn: s.dependsOn ?? [] })));
  if (cycle) {
    // Pointed at the entry that closes the cycle: the last service's dependency on the first.
    const [last, first] = [cycle.at(-2)!, cycle.at(-1)!];
    const i = config.services.findIndex((s) => s.name === last);
    const j = (config.services[i]!.dependsOn ?? []).indexOf(first);
    problems.push({
      path: ['services', i, 'dependsOn', j],
      message: `services[${i}].dependsOn: dependency cycle ${cycle.join(' → ')} (each waits for the next before it rolls out); remove one of these dependencies`,
    });
  }

  // Two things cannot listen on one host port: catch it here, before anything starts.
  const ports: Array<[PropertyKey[], number | undefined]> = [
    [['cluster', 'httpPort'], config.cluster.httpPort],
    [['cluster', 'httpsPort'], config.cluster.httpsPort],
    [['cluster', 'registryPort'], config.cluster.registryPort],
    [['database', 'port'], config.database?.port],
    [['objectStore', 'port'], config.objectStore ? config.objectStore.port : undefined],
    [['objectStore', 'consolePort'], config.objectStore ? config.objectStore.consolePort : undefined],
    [['tls', 'port'], config.tls?.port],
    ...config.services.flatMap((svc, i) =>
      (svc.forwards ?? []).map((f, j): [PropertyKey[], number] => [['services', i, 'forwards', j], f.local]),
    ),
  ];
  const byPort = new Map<number, string>();
  for (const [path, port] of ports) {
    if (port === undefined) continue;
    const other = byPort.get(port);
    if (other) problems.push({ path, message: `host port ${port} is already used by ${other}` });
    else byPort.set(port, formatPath(path));
  }

  const window = config.prerelease.window;
  if (window) {
    const tz = window.split(' ')[1];
    const [from, to] = window.split(' ')[0]!.split('-') as [string, string];
    for (const hm of [from, to]) {
      const [h, m] = hm.split(':').map(Number) as [number, number];
      if (h > 23 || m > 59)
        problems.push({
          path: ['prerelease', 'window'],
          message: `prerelease.window: "${hm}" is not a time of day`,
        });
    }
    if (tz && !isTimeZone(tz))
      problems.push({
        path: ['prerelease', 'window'],
        message: `prerelease.window: unknown time zone "${tz}"`,
      });
  }
  return problems;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function joinRel(a: string, b: string): string {
  if (a === '.' || a === './') return b;
  return `${a.replace(/\/+$/, '')}/${b}`;
}

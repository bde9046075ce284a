/**
 * zod's issues in the words of a YAML file: each issue of the config schema becomes one or
 * more diagnostics at the `file:line:col` of the key or value concerned, with a guess at the
 * key or value meant when a typo is plausible.
 *
 * Pure module: no I/O.
 */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';
import { type Diagnostic, formatPath } from './diagnostics.ts';
import { configSchema } from './schema.ts';

export type Path = readonly PropertyKey[];

/** A diagnostic at a source offset. */
export type At = (offset: number, message: string, path?: Path) => Diagnostic;

/** The source offset of the node at `path` (or of the key `keyOf` inside it). */
export type Locate = (path: Path, keyOf?: string) => number;

export function issueToDiagnostics(
  issue: z.core.$ZodIssue,
  raw: unknown,
  locate: Locate,
  at: At,
): Diagnostic[] {
  const c: IssueContext = { raw, locate, at, where: formatPath(issue.path) || 'the config' };
  const specific = byCode(issue, c);
  if (specific) return specific;
  const value = getAt(raw, issue.path);
  return [at(locate(issue.path), `${c.where}: ${describe(value)} ${issue.message}`, issue.path)];
}

interface IssueContext {
  /** The config as parsed from YAML, before the schema. */
  raw: unknown;
  locate: Locate;
  at: At;
  /** The issue's path as written in messages, or "the config". */
  where: string;
}

type IssueOf<C extends z.core.$ZodIssue['code']> = Extract<z.core.$ZodIssue, { code: C }>;

/** A message of devenv's own for the issue codes it words better than zod; undefined for the rest. */
function byCode(issue: z.core.$ZodIssue, c: IssueContext): Diagnostic[] | undefined {
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKeys(issue, c);
    case 'invalid_type':
      return wrongType(issue, c);
    case 'invalid_union':
      return unionRefused(issue, c);
    case 'invalid_value':
      return notAllowed(issue, c);
    case 'too_big':
    case 'too_small':
      return outOfRange(issue, c);
    default:
      return undefined;
  }
}

function unknownKeys(issue: IssueOf<'unrecognized_keys'>, c: IssueContext): Diagnostic[] {
  const known = keysAt(configSchema, issue.path);
  return issue.keys.map((key) => {
    const guess = suggest(key, known);
    const hint = guess
      ? ` (did you mean "${guess}"?)`
      : known.length
        ? ` (known keys: ${known.join(', ')})`
        : '';
    return c.at(c.locate(issue.path, key), `unknown key "${key}" in ${c.where}${hint}`, [...issue.path, key]);
  });
}

/** At the parent: `missing required key "<last>" in <parent>`. */
function missingKey(path: Path, c: IssueContext): Diagnostic {
  const parent = path.slice(0, -1);
  return c.at(
    c.locate(parent),
    `missing required key "${String(path.at(-1))}" in ${formatPath(parent) || 'the config'}`,
    path,
  );
}

function wrongType(issue: IssueOf<'invalid_type'>, c: IssueContext): Diagnostic[] {
  const value = getAt(c.raw, issue.path);
  if (value === undefined) return [missingKey(issue.path, c)];
  return [
    c.at(
      c.locate(issue.path),
      `${c.where}: expected ${typeWords(issue.expected)}, got ${describe(value)}`,
      issue.path,
    ),
  ];
}

function unionRefused(issue: IssueOf<'invalid_union'>, c: IssueContext): Diagnostic[] | undefined {
  // zod's own message ("Invalid input") says nothing; a union written with its own
  // message (e.g. the forms a port forward may take) keeps that message.
  if (issue.message !== 'Invalid input') return undefined;
  const value = getAt(c.raw, issue.path);
  if (value === undefined) return [missingKey(issue.path, c)];
  // Every branch refused the value's type: name the types it may have.
  const types = unionTypes(issue.errors);
  if (!types) return undefined;
  return [c.at(c.locate(issue.path), `${c.where}: expected ${types}, got ${describe(value)}`, issue.path)];
}

function notAllowed(issue: IssueOf<'invalid_value'>, c: IssueContext): Diagnostic[] {
  const value = getAt(c.raw, issue.path);
  const options = issue.values.map((v) => String(v));
  const guess = typeof value === 'string' ? suggest(value, options) : undefined;
  const hint = guess ? ` (did you mean "${guess}"?)` : '';
  const expected =
    options.length === 1 ? `"${options[0]}"` : `one of ${options.map((o) => `"${o}"`).join(', ')}`;
  if (value === undefined) {
    return [
      c.at(
        c.locate(issue.path.slice(0, -1)),
        `missing required key "${String(issue.path.at(-1))}": must be ${expected}`,
        issue.path,
      ),
    ];
  }
  return [
    c.at(
      c.locate(issue.path),
      `${c.where}: ${describe(value)} is not allowed; must be ${expected}${hint}`,
      issue.path,
    ),
  ];
}

function outOfRange(issue: IssueOf<'too_big'> | IssueOf<'too_small'>, c: IssueContext): Diagnostic[] {
  const value = getAt(c.raw, issue.path);
  if (typeof value === 'number') {
    const bound =
      issue.code === 'too_big' ? `at most ${String(issue.maximum)}` : `at least ${String(issue.minimum)}`;
    return [c.at(c.locate(issue.path), `${c.where}: ${value} is out of range; must be ${bound}`, issue.path)];
  }
  return [c.at(c.locate(issue.path), `${c.where}: ${describe(value)} ${issue.message}`, issue.path)];
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

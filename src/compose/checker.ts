/**
 * One compose file's check in progress: the diagnostics found so far (`file:line:col`, through
 * the yaml package's source ranges), the variables interpolated into values, and the helpers
 * every part of the check uses to read a value or refuse a key.
 *
 * Pure: no I/O.
 */
import * as YAML from 'yaml';
import type { Diagnostic } from '../config/diagnostics.ts';
import { suggest } from '../config/zod-issues.ts';
import { InterpolationError, interpolate, type Vars } from './interpolate.ts';

export type Path = (string | number)[];

/** One compose file's check in progress: where problems go, and the helpers that find them. */
export interface Checker {
  dir: string;
  vars: Vars;
  diags: Diagnostic[];
  /** Variables referenced without a default and not set. */
  missing: Set<string>;
  /** Records a problem at a node's position. */
  at(node: YAML.Node | null | undefined, message: string, path?: Path): void;
  /** `file:line:col` of a node. */
  whereOf(node: YAML.Node | null | undefined): string;
  /** A scalar's string value, interpolated; undefined (and a diagnostic) otherwise. */
  str(node: unknown, path: Path, what: string): string | undefined;
  /** Refuses (with a suggestion) every key of `map` that is not in `allowed`. */
  checkKeys(map: YAML.YAMLMap, allowed: readonly string[], path: Path, what: string): void;
}

export function checker(file: string, dir: string, vars: Vars, lc: YAML.LineCounter): Checker {
  const diags: Diagnostic[] = [];
  const missing = new Set<string>();
  const at = (node: YAML.Node | null | undefined, message: string, path: Path = []): void => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    diags.push({ file, line: pos.line, col: pos.col, message, path: fmt(path) });
  };
  const whereOf = (node: YAML.Node | null | undefined): string => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    return `${file}:${pos.line}:${pos.col}`;
  };
  const str = (node: unknown, path: Path, what: string): string | undefined => {
    if (!YAML.isScalar(node) || node.value === null || typeof node.value === 'object') {
      at(node as YAML.Node, `${fmt(path)}: ${what} must be a string`, path);
      return undefined;
    }
    if (typeof node.value !== 'string') return String(node.value);
    try {
      const r = interpolate(node.value, vars);
      for (const m of r.missing) missing.add(m);
      return r.value;
    } catch (err) {
      if (err instanceof InterpolationError) {
        at(node, `${fmt(path)}: ${err.message}`, path);
        return undefined;
      }
      throw err;
    }
  };
  const checkKeys = (map: YAML.YAMLMap, allowed: readonly string[], path: Path, what: string): void => {
    for (const pair of map.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        at(pair.key as YAML.Node, `${what}: keys must be plain strings`, path);
        continue;
      }
      if (!allowed.includes(key)) {
        const guess = suggest(key, allowed);
        at(
          pair.key as YAML.Node,
          `unsupported key "${key}" in ${what}: devenv honours only ${allowed.join(', ')}${guess ? ` (did you mean "${guess}"?)` : ''}`,
          [...path, key],
        );
      }
    }
  };
  return { dir, vars, diags, missing, at, whereOf, str, checkKeys };
}

/** A missing value: `key:` with nothing after it, or `? key`. */
export const isNull = (v: unknown): boolean => v === null || (YAML.isScalar(v) && v.value === null);

/** A path as written in messages: services.api.ports[0]. */
export function fmt(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

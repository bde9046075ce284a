/**
 * Finds, reads and validates devenv.yaml. The only I/O of the config part: everything
 * else (schema, validation, diagnostics) is pure.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { badInput } from '../errors.ts';
import { formatDiagnostic } from './diagnostics.ts';
import type { Config } from './schema.ts';
import type { PathKind, PathProbe } from './semantic.ts';
import { type ValidationResult, validateConfigText } from './validate.ts';

export const CONFIG_FILE = 'devenv.yaml';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of devenv.yaml. */
  file: string;
  /** The project root: the directory holding devenv.yaml; config paths are relative to it. */
  root: string;
}

/** devenv.yaml in `start` or the nearest parent directory, like git finds .git. */
export function findConfigFile(start: string = process.cwd()): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function fsProbe(root: string): PathProbe {
  return {
    kind(rel: string): PathKind {
      try {
        const st = statSync(isAbsolute(rel) ? rel : join(root, rel));
        return st.isDirectory() ? 'dir' : 'file';
      } catch {
        return 'missing';
      }
    },
  };
}

/** Validates without throwing: the result carries every diagnostic. */
export function checkConfigFile(file: string): ValidationResult {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      diagnostics: [
        {
          file: displayPath(abs),
          line: 1,
          col: 1,
          path: '',
          message:
            code === 'ENOENT'
              ? 'file not found; run "devenv init" to write one'
              : `cannot read: ${code ?? String(err)}`,
        },
      ],
    };
  }
  return validateConfigText(text, displayPath(abs), fsProbe(dirname(abs)));
}

/** Loads the project config or throws a bad-input error listing every problem. */
export function loadConfig(file?: string): LoadedConfig {
  const path = file ? resolve(file) : findConfigFile();
  if (!path) {
    throw badInput(
      `no ${CONFIG_FILE} in ${process.cwd()} or its parents. Run "devenv init" to write one, or pass --config FILE.`,
    );
  }
  const result = checkConfigFile(path);
  if (!result.ok) {
    const n = result.diagnostics.length;
    throw badInput(
      `${displayPath(path)}: ${n} problem${n === 1 ? '' : 's'}; nothing was changed.`,
      result.diagnostics.map(formatDiagnostic),
    );
  }
  return { config: result.config, file: path, root: dirname(path) };
}

/** Paths in messages are relative to the working directory when that is shorter. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && rel.length < abs.length ? rel : abs;
}

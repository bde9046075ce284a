/**
 * What belongs to a service's build context, as Docker decides it: .dockerignore rules
 * (Docker's own semantics, via @balena/dockerignore: a pattern excludes a path AND
 * everything under it, `!` re-includes, `**` spans directories, no implicit `**` prefix),
 * plus the service's `ignore` globs (same syntax, relative to the context root).
 *
 * Pure module: the caller reads .dockerignore; nothing here touches the disk. Build
 * (context.ts) and watch (watch/changeset.ts) share it, so a file that is not sent to the
 * engine is also never a reason to rebuild, and the other way round.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import type { ServiceConfig } from '../config/schema.ts';

// The package is CommonJS (`module.exports = factory`) while its types declare an ES
// default export; under Node's ESM loader the default import IS the factory.
const dockerignore = ((dockerignoreModule as unknown as { default?: unknown }).default ??
  dockerignoreModule) as unknown as typeof dockerignoreModule.default;

/** Directories never worth watching or walking for changes (the watcher prunes them). */
export const ALWAYS_PRUNED_DIRS: ReadonlySet<string> = new Set(['.git', 'node_modules']);

export interface ContextMatcher {
  /** True when `rel` (posix, relative to the context root, no leading "./") is excluded. */
  ignores(rel: string): boolean;
  /**
   * True when the directory `rel` and everything below it are excluded, so a walker or a
   * watcher may skip it without looking inside. False whenever a `!` exception exists:
   * Docker walks excluded directories in that case, because an exception may re-include a
   * file deep below (being exact there is not worth a second glob engine).
   */
  prunesDir(rel: string): boolean;
}

/** Lines of a .dockerignore file, as Docker reads them: comments and blanks dropped. */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    out.push(line);
  }
  return out;
}

/**
 * A matcher over .dockerignore patterns + extra globs. `keep` lists paths Docker always
 * sends even when a pattern excludes them: the Dockerfile and .dockerignore itself (the
 * Docker CLI adds `!Dockerfile` and `!.dockerignore` exceptions for the same reason).
 */
export function contextMatcher(
  patterns: readonly string[],
  extraGlobs: readonly string[] = [],
  keep: readonly string[] = [],
): ContextMatcher {
  const all = [...patterns, ...extraGlobs].map(normalizePattern).filter((p) => p !== '' && p !== '!');
  const ig = dockerignore().add(all);
  const keepSet = new Set(keep.map(normalizeRel));
  const hasExceptions = all.some((p) => p.startsWith('!'));
  return {
    ignores(rel: string): boolean {
      const r = normalizeRel(rel);
      if (r === '' || keepSet.has(r)) return false;
      return ig.ignores(r);
    },
    prunesDir(rel: string): boolean {
      const r = normalizeRel(rel);
      if (r === '' || hasExceptions) return false;
      for (const k of keepSet) if (k.startsWith(`${r}/`)) return false;
      return ig.ignores(r);
    },
  };
}

function normalizePattern(p: string): string {
  const neg = p.startsWith('!');
  let body = (neg ? p.slice(1) : p).trim().replaceAll('\\', '/');
  while (body.startsWith('./')) body = body.slice(2);
  while (body.startsWith('/')) body = body.slice(1);
  return neg ? `!${body}` : body;
}

/** Posix, relative, without "./" or trailing "/": the form every matcher call expects. */
export function normalizeRel(rel: string): string {
  let r = rel.replaceAll('\\', '/');
  while (r.startsWith('./')) r = r.slice(2);
  while (r.endsWith('/')) r = r.slice(0, -1);
  return r === '.' ? '' : r;
}

/** Where a service's context and Dockerfile are (config paths are relative to `root`). */
export function contextPaths(
  service: Pick<ServiceConfig, 'context' | 'dockerfile'>,
  root: string,
): { dir: string; dockerfileAbs: string; dockerfileRel: string | undefined } {
  const dir = resolve(root, service.context);
  const dockerfileAbs = resolve(dir, service.dockerfile);
  const rel = relative(dir, dockerfileAbs);
  const inside = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
  return { dir, dockerfileAbs, dockerfileRel: inside ? rel.split(sep).join('/') : undefined };
}

/** The matcher Docker would apply to this service's context (+ the service's `ignore` globs). */
export function serviceMatcher(
  service: Pick<ServiceConfig, 'ignore'>,
  dockerignoreText: string,
  dockerfileRel: string | undefined,
): ContextMatcher {
  const keep = ['.dockerignore', ...(dockerfileRel ? [dockerfileRel] : [])];
  return contextMatcher(parseDockerignore(dockerignoreText), service.ignore ?? [], keep);
}

/** A normalized absolute POSIX path: no "." or ".." segment, no "//", no trailing "/" (but "/"). */
const NOT_NORMAL = /(^|\/)\.\.?(\/|$)|\/\/|.\/$/;

/** `abs` relative to `dir` in posix form ('' for `dir` itself), or undefined when outside. */
export function relInside(dir: string, abs: string): string | undefined {
  // Fast path for what the watcher hands over (normalized absolute paths, every path of the
  // tree against every service's context): a prefix test. path.relative resolves both
  // paths on each call, which made the watcher's scan O(services x files) in path work
  // (40 contexts: ~0.6 s of CPU before chokidar's ready). Same answer as below.
  if (sep === '/' && dir[0] === '/' && abs[0] === '/' && !NOT_NORMAL.test(dir) && !NOT_NORMAL.test(abs)) {
    if (abs === dir) return '';
    const prefix = dir === '/' ? '/' : `${dir}/`;
    return abs.startsWith(prefix) ? abs.slice(prefix.length) : undefined;
  }
  const rel = relative(dir, abs);
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

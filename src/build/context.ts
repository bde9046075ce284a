/**
 * A service's build context: which files Docker would receive, a CONTENT tag over them,
 * and the tar stream that sends exactly those files to the engine.
 *
 * The tag is the reconcile key of builds: same inputs → same tag → the image that already
 * exists is reused, so `devenv up` twice builds nothing the second time, and a save that
 * did not change content (touch, editor re-save) builds nothing either. Inputs, and
 * nothing else: every included file's (relative path, type, mode, content), the Dockerfile
 * (path and content), buildArgs and target. Not inputs: mtimes, owners, ignored files,
 * and (a known limit) the digest of the FROM image.
 *
 * Hashing a 10k-file tree on every save would cost a full read; file digests are cached
 * in memory by (path, size, mtime, ctime, inode), so an unchanged tree costs one lstat
 * per file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import type { ServiceConfig } from '../config/schema.ts';
import { DevenvError } from '../errors.ts';
import { type ContextMatcher, contextPaths, serviceMatcher } from './ignore.ts';

export { contextPaths, serviceMatcher };

/** Name the Dockerfile gets in the tar when it lives outside the context directory. */
export const OUTSIDE_DOCKERFILE_NAME = '.devenv.Dockerfile';

/** Bumped whenever the tag input format changes, so old tags are never reused wrongly. */
const TAG_FORMAT = 'devenv-context-v1';

export interface ContextEntry {
  /** Posix path relative to the context root: the name inside the tar. */
  rel: string;
  abs: string;
  type: 'file' | 'symlink';
  /** Permission bits (mode & 0o7777): an executable bit flip changes the image. */
  mode: number;
  size: number;
  mtimeMs: number;
  /** sha256 of the content (for a symlink: of its target string). */
  sha256: string;
  linkTarget?: string;
}

export interface BuildContext {
  service: string;
  /** Absolute context directory. */
  dir: string;
  /** The Dockerfile's path inside the tar (what the engine's `dockerfile` option names). */
  dockerfile: string;
  dockerfileAbs: string;
  /** Included files, sorted by `rel`. */
  entries: ContextEntry[];
  /** The Dockerfile when it lives outside `dir` (sent under OUTSIDE_DOCKERFILE_NAME). */
  outsideDockerfile?: ContextEntry;
  buildArgs: Record<string, string>;
  target?: string;
  /** `dev-<12 hex>`. */
  tag: string;
  matcher: ContextMatcher;
}

/** The text of `<dir>/.dockerignore`, or '' when there is none. */
export async function readDockerignore(dir: string): Promise<string> {
  try {
    return await readFile(join(dir, '.dockerignore'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

// ---------------------------------------------------------------- the tag (pure)

export interface TagInput {
  entries: readonly Pick<ContextEntry, 'rel' | 'type' | 'mode' | 'sha256'>[];
  dockerfile: { path: string; sha256: string };
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
}

/** `dev-<first 12 hex of sha256>` over the tag inputs; order-independent for entries and args. */
export function computeContentTag(input: TagInput): string {
  const h = createHash('sha256');
  h.update(`${TAG_FORMAT}\n`);
  const entries = [...input.entries].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const e of entries) h.update(`${e.type}\0${e.rel}\0${e.mode.toString(8)}\0${e.sha256}\n`);
  h.update(`dockerfile\0${input.dockerfile.path}\0${input.dockerfile.sha256}\n`);
  for (const k of Object.keys(input.buildArgs).sort()) h.update(`arg\0${k}\0${input.buildArgs[k]}\n`);
  h.update(`target\0${input.target ?? ''}\n`);
  return `dev-${h.digest('hex').slice(0, 12)}`;
}

// ---------------------------------------------------------------- hashing with a cache

/** What identifies an unchanged file: ctime too, since a write (or utimes) always moves it. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

interface CachedDigest extends FileIdentity {
  sha256: string;
}

/**
 * File digests keyed by absolute path, valid while (size, mtime, ctime, inode) are
 * unchanged (ctime catches a rewrite that restored size and mtime).
 * A digest of a file modified in the last RACY_MS is not cached: a second write within the
 * same mtime tick and of the same size would otherwise go unseen (git's "racily clean").
 */
export class HashCache {
  readonly #map = new Map<string, CachedDigest>();
  hits = 0;
  misses = 0;
  get(abs: string, st: FileIdentity): string | undefined {
    const c = this.#map.get(abs);
    if (c && c.size === st.size && c.mtimeMs === st.mtimeMs && c.ctimeMs === st.ctimeMs && c.ino === st.ino) {
      this.hits++;
      return c.sha256;
    }
    this.misses++;
    return undefined;
  }
  set(abs: string, st: FileIdentity, sha256: string, now = Date.now()): void {
    if (now - st.mtimeMs < RACY_MS) {
      this.#map.delete(abs);
      return;
    }
    this.#map.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256 });
  }
  get size(): number {
    return this.#map.size;
  }
  /** Forgets every digest and resets the hit/miss counters. */
  clear(): void {
    this.#map.clear();
    this.hits = 0;
    this.misses = 0;
  }
}

const RACY_MS = 2000;
const STREAM_HASH_OVER = 4 * 1024 * 1024;

/** The process-wide cache used when a caller passes none. */
export const defaultHashCache = new HashCache();

async function hashFile(abs: string, size: number): Promise<string> {
  if (size <= STREAM_HASH_OVER)
    return createHash('sha256')
      .update(await readFile(abs))
      .digest('hex');
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Runs `fn` over items with at most `limit` in flight (file reads: bounded fds). */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function entryFor(abs: string, rel: string, cache: HashCache): Promise<ContextEntry | undefined> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // deleted mid-scan
    throw err;
  }
  const base = {
    rel,
    abs,
    mode: Number(st.mode) & 0o7777,
    size: Number(st.size),
    mtimeMs: Number(st.mtimeMs),
  };
  if (st.isSymbolicLink()) {
    const linkTarget = await readlink(abs);
    return {
      ...base,
      type: 'symlink',
      sha256: createHash('sha256').update(linkTarget).digest('hex'),
      linkTarget,
    };
  }
  if (!st.isFile()) return undefined; // sockets, fifos, devices: Docker cannot send them either
  const key: FileIdentity = {
    size: base.size,
    mtimeMs: base.mtimeMs,
    ctimeMs: Number(st.ctimeMs),
    ino: Number(st.ino),
  };
  let sha256 = cache.get(abs, key);
  if (sha256 === undefined) {
    try {
      sha256 = await hashFile(abs, base.size);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    cache.set(abs, key, sha256);
  }
  return { ...base, type: 'file', sha256 };
}

/** Every included path under `dir` (files and symlinks), pruning excluded directories. */
async function walk(dir: string, matcher: ContextMatcher): Promise<string[]> {
  const out: string[] = [];
  const visit = async (relDir: string): Promise<void> => {
    let dirents: import('node:fs').Dirent[];
    try {
      dirents = await readdir(relDir === '' ? dir : join(dir, relDir), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (relDir !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) return;
      throw err;
    }
    const subdirs: string[] = [];
    for (const d of dirents) {
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      if (d.isDirectory()) {
        if (!matcher.prunesDir(rel)) subdirs.push(rel);
      } else if (!matcher.ignores(rel)) {
        out.push(rel);
      }
    }
    await Promise.all(subdirs.map(visit));
  };
  await visit('');
  return out;
}

export interface ScanOptions {
  cache?: HashCache;
}

/**
 * Lists and hashes the context of `service` (paths relative to the project `root`) and
 * computes its content tag. Reads the disk; everything it decides is in ignore.ts and
 * computeContentTag.
 */
export async function scanContext(
  service: Pick<ServiceConfig, 'name' | 'context' | 'dockerfile' | 'ignore' | 'buildArgs' | 'target'>,
  root: string,
  opts: ScanOptions = {},
): Promise<BuildContext> {
  const cache = opts.cache ?? defaultHashCache;
  const { dir, dockerfileAbs, dockerfileRel } = contextPaths(service, root);
  const matcher = serviceMatcher(service, await readDockerignore(dir), dockerfileRel);
  let rels: string[];
  try {
    rels = await walk(dir, matcher);
  } catch (err) {
    throw new DevenvError(
      `cannot read the build context of service "${service.name}" (${dir}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  rels.sort();
  const entries = (await pool(rels, 32, (rel) => entryFor(join(dir, ...rel.split('/')), rel, cache))).filter(
    (e): e is ContextEntry => e !== undefined,
  );

  let outsideDockerfile: ContextEntry | undefined;
  let dockerfileSha: string | undefined;
  if (dockerfileRel) {
    dockerfileSha = entries.find((e) => e.rel === dockerfileRel && e.type === 'file')?.sha256;
  } else {
    outsideDockerfile = await entryFor(dockerfileAbs, OUTSIDE_DOCKERFILE_NAME, cache);
    dockerfileSha = outsideDockerfile?.type === 'file' ? outsideDockerfile.sha256 : undefined;
  }
  if (dockerfileSha === undefined) {
    throw new DevenvError(
      `Dockerfile of service "${service.name}" not found: ${dockerfileAbs} (the "dockerfile" path is relative to the build context)`,
    );
  }
  const dockerfile = dockerfileRel ?? OUTSIDE_DOCKERFILE_NAME;
  const buildArgs = { ...(service.buildArgs ?? {}) };
  const tag = computeContentTag({
    entries: outsideDockerfile ? [...entries, outsideDockerfile] : entries,
    dockerfile: { path: dockerfile, sha256: dockerfileSha },
    buildArgs,
    target: service.target,
  });
  return {
    service: service.name,
    dir,
    dockerfile,
    dockerfileAbs,
    entries,
    ...(outsideDockerfile ? { outsideDockerfile } : {}),
    buildArgs,
    ...(service.target !== undefined ? { target: service.target } : {}),
    tag,
    matcher,
  };
}

/** Raised (through the tar stream) when a file changed between scan and send. */
export class ContextChangedError extends DevenvError {
  constructor(rel: string) {
    super(`build context changed while it was being sent (${rel}); a follow-up build picks up the change`);
    this.name = 'ContextChangedError';
  }
}

/**
 * The context as a tar stream holding exactly `ctx.entries` (+ an outside Dockerfile).
 * Each file's content is re-hashed as it is sent: if it no longer matches the digest the
 * tag was computed from, the stream fails with ContextChangedError instead of producing
 * an image whose tag lies about its content.
 */
export interface ContextTarOptions {
  /**
   * Rewrites the Dockerfile as sent (the file on disk is untouched), applied to the
   * verified content: how the builder adds its LABEL line (dockerfile.ts).
   */
  transformDockerfile?: (text: string) => string;
}

export function contextTar(ctx: BuildContext, opts: ContextTarOptions = {}): Readable {
  const pack = tar.pack();
  const all = ctx.outsideDockerfile ? [...ctx.entries, ctx.outsideDockerfile] : ctx.entries;
  const add = (header: Partial<Header> & Pick<Header, 'name'>, body?: Buffer) =>
    new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  (async () => {
    for (const e of all) {
      const mtime = new Date(e.mtimeMs);
      if (e.type === 'symlink') {
        await add({ name: e.rel, type: 'symlink', linkname: e.linkTarget ?? '', mode: e.mode, mtime });
        continue;
      }
      let body: Buffer;
      try {
        body = await readFile(e.abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ContextChangedError(e.rel);
        throw err;
      }
      if (createHash('sha256').update(body).digest('hex') !== e.sha256) throw new ContextChangedError(e.rel);
      if (opts.transformDockerfile && e.rel === ctx.dockerfile) {
        body = Buffer.from(opts.transformDockerfile(body.toString('utf8')));
      }
      await add({ name: e.rel, type: 'file', size: body.length, mode: e.mode, mtime }, body);
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

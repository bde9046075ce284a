/**
 * From file events to reload plans, as pure functions (no timers, no disk):
 *   1. route:    a changed path → the services it concerns (context or `watch` paths,
 *                minus .dockerignore'd / `ignore`d / always-pruned paths);
 *   2. coalesce: events of one service within a debounce window → ONE change set, one
 *                entry per path (its net kind);
 *   3. classify: a change set vs the service's `sync` rules → copy files into the running
 *                container (every file matches a rule) or rebuild the image.
 * The watcher (loop.ts) owns the clock and the disk; it feeds events and times in.
 *
 * Path rules. Inside the build context, a path counts unless Docker would not send it
 * (.dockerignore, plus the service's `ignore` globs, relative to the context root).
 * Inside a `watch` path outside the context, only the `ignore` globs apply, matched
 * relative to the project root (there is no .dockerignore there). `.git` and
 * `node_modules` never count: the watcher does not even descend into them.
 */
import { posix, resolve } from 'node:path';
import picomatch from 'picomatch';
import {
  ALWAYS_PRUNED_DIRS,
  type ContextMatcher,
  contextMatcher,
  contextPaths,
  relInside,
  serviceMatcher,
} from '../build/ignore.ts';
import type { FileChangeKind, SyncFile } from '../build/sync.ts';
import type { ServiceConfig } from '../config/schema.ts';

// ---------------------------------------------------------------- 1. routing

export interface ServiceRoute {
  service: string;
  root: string;
  /** Absolute context directory. */
  contextDir: string;
  /** Absolute `watch` paths. */
  watchPaths: string[];
  /** Dockerfile path relative to the context ('' / undefined when outside it). */
  dockerfileRel: string | undefined;
  dockerfileAbs: string;
  /** .dockerignore + `ignore` globs, relative to the context. */
  contextMatcher: ContextMatcher;
  /** `ignore` globs only, relative to the project root (for `watch` paths). */
  watchMatcher: ContextMatcher;
}

/** The routing facts of one service; `dockerignoreText` is the content of its .dockerignore. */
export function serviceRoute(
  service: Pick<ServiceConfig, 'name' | 'context' | 'dockerfile' | 'watch' | 'ignore'>,
  root: string,
  dockerignoreText: string,
): ServiceRoute {
  const { dir, dockerfileAbs, dockerfileRel } = contextPaths(service, root);
  return {
    service: service.name,
    root,
    contextDir: dir,
    watchPaths: (service.watch ?? []).map((w) => resolve(root, w)),
    dockerfileRel,
    dockerfileAbs,
    contextMatcher: serviceMatcher(service, dockerignoreText, dockerfileRel),
    watchMatcher: contextMatcher([], service.ignore ?? []),
  };
}

function hasPrunedSegment(rel: string): boolean {
  if (rel === '') return false;
  for (const seg of rel.split('/')) if (ALWAYS_PRUNED_DIRS.has(seg)) return true;
  return false;
}

export interface RoutedChange {
  service: string;
  abs: string;
  /** Relative to the service's context; undefined when the path is only in a `watch` path. */
  rel: string | undefined;
}

/** The services for which a change of `abs` counts (see the path rules above). */
export function routeChange(routes: readonly ServiceRoute[], abs: string): RoutedChange[] {
  const out: RoutedChange[] = [];
  for (const r of routes) {
    const rel = relInside(r.contextDir, abs);
    if (rel !== undefined && rel !== '' && !hasPrunedSegment(rel) && !r.contextMatcher.ignores(rel)) {
      out.push({ service: r.service, abs, rel });
      continue;
    }
    if (abs === r.dockerfileAbs) {
      out.push({ service: r.service, abs, rel });
      continue;
    }
    for (const w of r.watchPaths) {
      if (relInside(w, abs) === undefined) continue;
      const fromRoot = relInside(r.root, abs);
      if (fromRoot !== undefined && (hasPrunedSegment(fromRoot) || r.watchMatcher.ignores(fromRoot)))
        continue;
      out.push({ service: r.service, abs, rel: rel === '' ? undefined : rel });
      break;
    }
  }
  return out;
}

/**
 * The watcher's `ignored` predicate: true when no service cares about `abs` (nor about
 * anything below it, for a directory). `isDir` is undefined when the type is not known
 * yet; then only paths excluded whatever their type are ignored (chokidar asks again
 * with stats). Pruning at this level keeps a 10k-file tree's watch cheap: excluded
 * directories are never read nor watched.
 */
export function watcherIgnores(
  routes: readonly ServiceRoute[],
  abs: string,
  isDir: boolean | undefined,
): boolean {
  const base = abs.slice(abs.lastIndexOf('/') + 1);
  if (ALWAYS_PRUNED_DIRS.has(base) && isDir !== false) return true;
  for (const r of routes) {
    if (wantedBy(r, abs, isDir)) return false;
  }
  return true;
}

function wantedBy(r: ServiceRoute, abs: string, isDir: boolean | undefined): boolean {
  if (abs === r.dockerfileAbs) return true;
  const rel = relInside(r.contextDir, abs);
  if (rel !== undefined) {
    if (rel === '') return true;
    if (hasPrunedSegment(rel)) return false;
    if (decide(r.contextMatcher, rel, isDir)) return true;
  } else if (relInside(abs, r.contextDir) !== undefined) {
    return true; // an ancestor of the context
  }
  for (const w of r.watchPaths) {
    if (relInside(abs, w) !== undefined) return true; // the watch path or an ancestor of it
    if (relInside(w, abs) === undefined) continue;
    const fromRoot = relInside(r.root, abs);
    if (fromRoot === undefined) return true;
    if (hasPrunedSegment(fromRoot)) continue;
    if (decide(r.watchMatcher, fromRoot, isDir)) return true;
  }
  return false;
}

/** Is `rel` wanted under matcher `m`? Directories: unless prunable. Unknown type: same. */
function decide(m: ContextMatcher, rel: string, isDir: boolean | undefined): boolean {
  if (isDir === false) return !m.ignores(rel);
  return !m.prunesDir(rel);
}

// ---------------------------------------------------------------- 2. coalescing

export interface ChangedFile {
  abs: string;
  /** Relative to the service's context; undefined when outside it (a `watch` path). */
  rel: string | undefined;
  kind: FileChangeKind;
}

export interface ChangeSet {
  service: string;
  /** One entry per path, in first-seen order. Never empty, except in a `requested` set. */
  files: ChangedFile[];
  /**
   * Why a rebuild was asked for by name rather than by a file (the dashboard's `r`): such
   * a set rebuilds whatever its files, and a set merged with one stays a rebuild.
   */
  requested?: string;
  /** Time (ms, caller's clock) of the first and last event: the save → ready clock starts at `firstAt`. */
  firstAt: number;
  lastAt: number;
}

/**
 * The net kind of two successive events on one path. Nothing cancels out: a file created
 * and deleted within a window stays as `unlink`, because a build that started meanwhile
 * may have sent it (a follow-up must run), and removing a missing file is harmless.
 */
export function mergeKind(prev: FileChangeKind, next: FileChangeKind): FileChangeKind {
  if (next === 'unlink') return 'unlink';
  if (prev === 'add' && next === 'change') return 'add';
  if (prev === 'unlink') return 'change'; // existed before, exists again: its content changed
  return next;
}

function addFile(files: ChangedFile[], index: Map<string, number>, f: ChangedFile): void {
  const i = index.get(f.abs);
  if (i === undefined) {
    index.set(f.abs, files.length);
    files.push({ ...f });
    return;
  }
  const prev = files[i] as ChangedFile;
  files[i] = { ...prev, kind: mergeKind(prev.kind, f.kind) };
}

/** One change set holding both (same service): what a queued follow-up build covers. */
export function mergeChangeSets(a: ChangeSet, b: ChangeSet): ChangeSet {
  const files: ChangedFile[] = [];
  const index = new Map<string, number>();
  for (const f of a.files) addFile(files, index, f);
  for (const f of b.files) addFile(files, index, f);
  const requested = a.requested ?? b.requested;
  return {
    service: a.service,
    files,
    firstAt: Math.min(a.firstAt, b.firstAt),
    lastAt: Math.max(a.lastAt, b.lastAt),
    ...(requested !== undefined ? { requested } : {}),
  };
}

export interface ChangeBufferOptions {
  /** Quiet time after the last event before a service's set is released. */
  debounceMs: number;
  /** Longest a set is held while events keep coming (so a never-ending stream still reloads). */
  maxWaitMs: number;
}

interface Pending {
  files: ChangedFile[];
  index: Map<string, number>;
  firstAt: number;
  lastAt: number;
}

/**
 * Per-service debounce buffer over an injected clock: `add` events with their time,
 * `takeDue(now)` releases the sets whose window closed, `nextDeadline()` tells the caller
 * when to look again.
 */
export class ChangeBuffer {
  readonly #opts: ChangeBufferOptions;
  readonly #pending = new Map<string, Pending>();
  constructor(opts: ChangeBufferOptions) {
    this.#opts = opts;
  }

  add(service: string, file: ChangedFile, now: number): void {
    let p = this.#pending.get(service);
    if (!p) {
      p = { files: [], index: new Map(), firstAt: now, lastAt: now };
      this.#pending.set(service, p);
    }
    addFile(p.files, p.index, file);
    p.lastAt = Math.max(p.lastAt, now);
  }

  #deadline(p: Pending): number {
    return Math.min(p.lastAt + this.#opts.debounceMs, p.firstAt + this.#opts.maxWaitMs);
  }

  /** Earliest time at which `takeDue` releases something, or undefined when empty. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const p of this.#pending.values()) {
      const d = this.#deadline(p);
      if (min === undefined || d < min) min = d;
    }
    return min;
  }

  /** Removes and returns `service`'s set now, due or not (a requested rebuild covers it). */
  take(service: string): ChangeSet | undefined {
    const p = this.#pending.get(service);
    if (!p) return undefined;
    this.#pending.delete(service);
    return { service, files: p.files, firstAt: p.firstAt, lastAt: p.lastAt };
  }

  /** Removes and returns the change sets whose window closed by `now`. */
  takeDue(now: number): ChangeSet[] {
    const out: ChangeSet[] = [];
    for (const [service, p] of this.#pending) {
      if (this.#deadline(p) > now) continue;
      this.#pending.delete(service);
      out.push({ service, files: p.files, firstAt: p.firstAt, lastAt: p.lastAt });
    }
    return out;
  }

  get size(): number {
    return this.#pending.size;
  }
}

// ---------------------------------------------------------------- 3. classification

export type ReloadPlan = { kind: 'sync'; files: SyncFile[] } | { kind: 'rebuild'; reason: string };

/**
 * Sync when EVERY file of the set matches a `sync` rule (first match wins) and none is
 * the Dockerfile, .dockerignore or outside the context; otherwise rebuild, with the
 * first reason found. A rule's `dest` mirrors the context root: `app/x.py` under
 * `{src: "app/**", dest: "/srv"}` goes to `/srv/app/x.py`. A `requested` set always rebuilds.
 */
export function classifyChangeSet(
  cs: Pick<ChangeSet, 'files' | 'requested'>,
  service: Pick<ServiceConfig, 'sync'>,
  dockerfileRel?: string,
): ReloadPlan {
  if (cs.requested !== undefined) return { kind: 'rebuild', reason: cs.requested };
  const rules = service.sync ?? [];
  if (rules.length === 0) return { kind: 'rebuild', reason: 'no sync rules' };
  const matchers = rules.map((r) => picomatch(r.src.replace(/^\.\//, ''), { dot: true }));
  const files: SyncFile[] = [];
  for (const f of cs.files) {
    if (f.rel === undefined) return { kind: 'rebuild', reason: `${f.abs} is outside the build context` };
    if (f.rel === dockerfileRel) return { kind: 'rebuild', reason: 'the Dockerfile changed' };
    if (f.rel === '.dockerignore') return { kind: 'rebuild', reason: '.dockerignore changed' };
    const i = matchers.findIndex((m) => m(f.rel as string));
    const rule = rules[i];
    if (!rule) return { kind: 'rebuild', reason: `${f.rel} matches no sync rule` };
    files.push({ rel: f.rel, abs: f.abs, kind: f.kind, dest: posix.join(rule.dest, f.rel), rule: i });
  }
  if (files.length === 0) return { kind: 'rebuild', reason: 'empty change set' };
  return { kind: 'sync', files };
}

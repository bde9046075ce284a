/**
 * The reload loop: watch every service's context and `watch` paths, debounce events into
 * one change set per service, and hand each set (classified: sync or rebuild) to the
 * injected action, one at a time per service, with at most one queued follow-up.
 *
 *   chokidar ─► routeChange ─► ChangeBuffer (debounce) ─► ReloadQueue ─► onChangeSet
 *   trigger(service) (the dashboard's `r`) ──────────────────┘            └► ReloadEvent
 *
 * Every reload of a service goes through its one queue, whatever asked for it, so a save
 * and an `r` never build or apply the same service at once, and the last run builds the
 * newest files.
 * The watcher is native (inotify per directory on Linux, FSEvents/recursive elsewhere),
 * never polling, and its `ignored` predicate prunes .git, node_modules and .dockerignore'd
 * directories before they are read, so a 10k-file repository is ready fast and costs
 * nothing while idle. The action (build + load + rollout, or a file sync) is injected: this
 * module knows nothing of Docker or Kubernetes.
 */
import { type FSWatcher, watch } from 'chokidar';
import { readDockerignore } from '../build/context.ts';
import { relInside } from '../build/ignore.ts';
import type { FileChangeKind } from '../build/sync.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { EventSink, ReloadEvent } from '../events.ts';
import {
  ChangeBuffer,
  type ChangeSet,
  classifyChangeSet,
  mergeChangeSets,
  type ReloadPlan,
  routeChange,
  type ServiceRoute,
  serviceRoute,
  watcherIgnores,
} from './changeset.ts';
import { ReloadQueue } from './queue.ts';

export const DEFAULT_DEBOUNCE_MS = 150;
export const DEFAULT_MAX_WAIT_MS = 2000;

/** A change set with its plan, as handed to the action. */
export interface ClassifiedChangeSet extends ChangeSet {
  plan: ReloadPlan;
}

/** What the action may report back; everything optional (a plain `void` action is "ok"). */
export interface ReloadOutcome {
  result?: 'ok' | 'unchanged';
  tag?: string;
  timings?: Omit<ReloadEvent['timings'], 'totalMs'>;
}

export type ChangeSetAction = (
  service: ServiceConfig,
  change: ClassifiedChangeSet,
  // biome-ignore lint/suspicious/noConfusingVoidType: a plain async () => {} action is allowed
) => Promise<ReloadOutcome | void>;

export interface WatchLoopOptions {
  /** Project root: service paths are relative to it. */
  root: string;
  services: readonly ServiceConfig[];
  onChangeSet: ChangeSetAction;
  onEvent?: EventSink;
  debounceMs?: number;
  maxWaitMs?: number;
}

export interface WatchLoop {
  /** The directories / files handed to the watcher (nested roots removed). */
  readonly roots: readonly string[];
  /**
   * Rebuilds `service` now through its queue, as a change set that rebuilds whatever its
   * files: merged into the queued follow-up while a run is in flight, and taking the
   * changes still being debounced for the service (the rebuild covers them). Resolves
   * with the ReloadEvent of the run that covered it (emitted to `onEvent` too, `failed`
   * included); rejects for an unknown service or when the loop closes before that run.
   */
  trigger(service: string, reason?: string): Promise<ReloadEvent>;
  /** Resolves when nothing is buffered, running or queued. */
  idle(): Promise<void>;
  /** Stops watching; waits for actions in flight; queued follow-ups are dropped. */
  close(): Promise<void>;
}

/** Smallest set of paths covering every context and watch path (nested ones dropped). */
export function watchRoots(routes: readonly ServiceRoute[]): string[] {
  const all = [...new Set(routes.flatMap((r) => [r.contextDir, ...r.watchPaths]))].sort();
  return all.filter((p) => !all.some((q) => q !== p && relInside(q, p) !== undefined));
}

/** Starts watching; resolves once the initial scan is done (chokidar `ready`). */
export async function startWatchLoop(opts: WatchLoopOptions): Promise<WatchLoop> {
  const st: LoopState = {
    opts,
    sink: opts.onEvent ?? (() => {}),
    byName: new Map(opts.services.map((s) => [s.name, s])),
    routes: await serviceRoutes(opts),
    buffer: new ChangeBuffer({
      debounceMs: opts.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      maxWaitMs: opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    }),
    waiting: new Map(),
    queues: new Map(),
    timer: undefined,
    closed: false,
  };
  for (const s of opts.services)
    st.queues.set(s.name, new ReloadQueue<ChangeSet>((cs) => runChangeSet(st, s, cs), mergeChangeSets));

  const roots = watchRoots(st.routes);
  const watcher = openWatcher(st, roots);
  await scanned(st, watcher, roots);

  return {
    roots,
    trigger(service, reason = 'rebuild requested') {
      return trigger(st, service, reason);
    },
    idle() {
      return idle(st);
    },
    close() {
      return close(st, watcher);
    },
  };
}

/** A trigger's caller, waiting for the ReloadEvent of the run that takes its set. */
interface Waiter {
  resolve(ev: ReloadEvent): void;
  reject(err: Error): void;
}

/** What the loop's steps share: its options, routes, debounce buffer, queues and timer. */
interface LoopState {
  opts: WatchLoopOptions;
  sink: EventSink;
  byName: Map<string, ServiceConfig>;
  /** Replaced in place when a service's .dockerignore changes. */
  routes: ServiceRoute[];
  buffer: ChangeBuffer;
  /** Callers of `trigger` whose set is queued and not yet taken by a run, per service. */
  waiting: Map<string, Waiter[]>;
  queues: Map<string, ReloadQueue<ChangeSet>>;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
}

/** Each service's route, with its context's .dockerignore read. */
function serviceRoutes(opts: WatchLoopOptions): Promise<ServiceRoute[]> {
  return Promise.all(
    opts.services.map(async (s) =>
      serviceRoute(s, opts.root, await readDockerignore(serviceRoute(s, opts.root, '').contextDir)),
    ),
  );
}

/** One run of a service's queue: the action on the classified set, its ReloadEvent to the sink and the set's triggers. */
async function runChangeSet(st: LoopState, s: ServiceConfig, cs: ChangeSet): Promise<void> {
  // Taken before the first await: the triggers merged into `cs` are exactly the
  // ones registered until the queue started this run.
  const waiters = st.waiting.get(s.name) ?? [];
  st.waiting.delete(s.name);
  const route = st.routes.find((r) => r.service === s.name) as ServiceRoute;
  const plan = classifyChangeSet(cs, s, route.dockerfileRel);
  let ev: ReloadEvent;
  try {
    const outcome = (await st.opts.onChangeSet(s, { ...cs, plan })) ?? undefined;
    ev = outcomeEvent(s.name, cs, outcome);
  } catch (err) {
    ev = failureEvent(s.name, cs, err);
  }
  st.sink(ev);
  for (const w of waiters) w.resolve(ev);
}

/** The ReloadEvent of a run whose action returned `outcome` (`ok` unless it says otherwise). */
function outcomeEvent(service: string, cs: ChangeSet, outcome: ReloadOutcome | undefined): ReloadEvent {
  const ev: ReloadEvent = {
    type: 'reload',
    service,
    result: outcome?.result ?? 'ok',
    timings: { ...(outcome?.timings ?? {}), totalMs: Date.now() - cs.firstAt },
    time: Date.now(),
  };
  if (outcome?.tag) ev.tag = outcome.tag;
  return ev;
}

/** The ReloadEvent of a run whose action threw `err`. */
function failureEvent(service: string, cs: ChangeSet, err: unknown): ReloadEvent {
  return {
    type: 'reload',
    service,
    result: 'failed',
    timings: { totalMs: Date.now() - cs.firstAt },
    error: (err as Error)?.message ?? String(err),
    time: Date.now(),
  };
}

/** Pushes the sets whose debounce is over to their queues, then schedules the next flush. */
function flush(st: LoopState): void {
  st.timer = undefined;
  for (const cs of st.buffer.takeDue(Date.now())) st.queues.get(cs.service)?.push(cs);
  schedule(st);
}

/** Sets the one timer to the buffer's next deadline (none when closed or nothing is buffered). */
function schedule(st: LoopState): void {
  if (st.closed) return;
  const at = st.buffer.nextDeadline();
  if (at === undefined) return;
  if (st.timer) clearTimeout(st.timer);
  st.timer = setTimeout(() => flush(st), Math.max(0, at - Date.now()));
}

/** Re-reads a service's .dockerignore into its route (an unreadable one counts as empty). */
async function refreshDockerignore(st: LoopState, service: string): Promise<void> {
  const i = st.routes.findIndex((r) => r.service === service);
  const s = st.byName.get(service);
  if (i < 0 || !s) return;
  const text = await readDockerignore((st.routes[i] as ServiceRoute).contextDir).catch(() => '');
  st.routes[i] = serviceRoute(s, st.opts.root, text);
}

/** One watcher event: buffered for every service whose files it touches; ignored once closed. */
function onFsEvent(st: LoopState, kind: FileChangeKind, abs: string): void {
  if (st.closed) return;
  const now = Date.now();
  for (const rc of routeChange(st.routes, abs)) {
    // A new .dockerignore changes what counts from now on (directories the watcher
    // already pruned are picked up at the next start).
    if (rc.rel === '.dockerignore') void refreshDockerignore(st, rc.service);
    st.buffer.add(rc.service, { abs, rel: rc.rel, kind }, now);
  }
  schedule(st);
}

/** The native watcher over `roots`, pruning ignored directories, its events to onFsEvent and its errors to the sink. */
function openWatcher(st: LoopState, roots: string[]): FSWatcher {
  const watcher: FSWatcher = watch(roots, {
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    ignored: (p: string, stats?: import('node:fs').Stats) =>
      watcherIgnores(st.routes, p, stats ? stats.isDirectory() : undefined),
  });
  watcher.on('add', (p) => onFsEvent(st, 'add', p));
  watcher.on('change', (p) => onFsEvent(st, 'change', p));
  watcher.on('unlink', (p) => onFsEvent(st, 'unlink', p));
  watcher.on('unlinkDir', (p) => onFsEvent(st, 'unlink', p));
  watcher.on('error', (err) => {
    st.sink({
      type: 'step',
      id: 'watch',
      phase: 'progress',
      detail: `file watcher error: ${(err as Error)?.message ?? String(err)}`,
    });
  });
  return watcher;
}

/** Resolves at the watcher's `ready`, between the `watch` step's start and done events. */
async function scanned(st: LoopState, watcher: FSWatcher, roots: string[]): Promise<void> {
  const t0 = performance.now();
  st.sink({ type: 'step', id: 'watch', phase: 'start', detail: `watching ${roots.length} path(s)` });
  // Errors during the scan (an unreadable directory) are reported above and do not stop it.
  await new Promise<void>((res) => watcher.once('ready', () => res()));
  st.sink({
    type: 'step',
    id: 'watch',
    phase: 'done',
    detail: `watching ${roots.length} path(s) for ${st.opts.services.length} service(s)`,
    ms: Math.round(performance.now() - t0),
  });
}

/** WatchLoop.trigger: a rebuild set (with the service's buffered changes) pushed to its queue. */
function trigger(st: LoopState, service: string, reason: string): Promise<ReloadEvent> {
  const queue = st.queues.get(service);
  if (!queue) return Promise.reject(new Error(`no service "${service}" is watched`));
  if (st.closed) return Promise.reject(new Error('the reload loop has stopped'));
  const now = Date.now();
  const asked: ChangeSet = { service, files: [], firstAt: now, lastAt: now, requested: reason };
  const buffered = st.buffer.take(service);
  return new Promise<ReloadEvent>((resolve, reject) => {
    const ws = st.waiting.get(service) ?? [];
    ws.push({ resolve, reject });
    st.waiting.set(service, ws);
    queue.push(buffered ? mergeChangeSets(asked, buffered) : asked);
  });
}

/** WatchLoop.idle: resolves when nothing is buffered, running or queued. */
async function idle(st: LoopState): Promise<void> {
  for (;;) {
    if (st.buffer.size > 0) {
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    const busy = [...st.queues.values()].filter((q) => q.busy);
    if (busy.length === 0) return;
    await Promise.all(busy.map((q) => q.idle()));
  }
}

/** WatchLoop.close: stops the watcher and timer, waits for runs in flight, rejects the triggers left waiting. */
async function close(st: LoopState, watcher: FSWatcher): Promise<void> {
  if (st.closed) return;
  st.closed = true;
  if (st.timer) clearTimeout(st.timer);
  await watcher.close();
  await Promise.all([...st.queues.values()].map((q) => q.close()));
  // Their queued set was dropped with the queue's follow-up.
  for (const ws of st.waiting.values())
    for (const w of ws) w.reject(new Error('the reload loop stopped before the rebuild ran'));
  st.waiting.clear();
}

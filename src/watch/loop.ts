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
  const sink: EventSink = opts.onEvent ?? (() => {});
  const byName = new Map(opts.services.map((s) => [s.name, s]));
  const routes: ServiceRoute[] = await Promise.all(
    opts.services.map(async (s) =>
      serviceRoute(s, opts.root, await readDockerignore(serviceRoute(s, opts.root, '').contextDir)),
    ),
  );
  const buffer = new ChangeBuffer({
    debounceMs: opts.debounceMs ?? DEFAULT_DEBOUNCE_MS,
    maxWaitMs: opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
  });

  // Callers of `trigger` whose set is queued and not yet taken by a run, per service.
  const waiting = new Map<string, Array<{ resolve(ev: ReloadEvent): void; reject(err: Error): void }>>();
  const queues = new Map<string, ReloadQueue<ChangeSet>>();
  for (const s of opts.services) {
    const route = () => routes.find((r) => r.service === s.name) as ServiceRoute;
    queues.set(
      s.name,
      new ReloadQueue<ChangeSet>(async (cs) => {
        // Taken before the first await: the triggers merged into `cs` are exactly the
        // ones registered until the queue started this run.
        const waiters = waiting.get(s.name) ?? [];
        waiting.delete(s.name);
        const plan = classifyChangeSet(cs, s, route().dockerfileRel);
        let ev: ReloadEvent;
        try {
          const outcome = (await opts.onChangeSet(s, { ...cs, plan })) ?? undefined;
          ev = {
            type: 'reload',
            service: s.name,
            result: outcome?.result ?? 'ok',
            timings: { ...(outcome?.timings ?? {}), totalMs: Date.now() - cs.firstAt },
            time: Date.now(),
          };
          if (outcome?.tag) ev.tag = outcome.tag;
        } catch (err) {
          ev = {
            type: 'reload',
            service: s.name,
            result: 'failed',
            timings: { totalMs: Date.now() - cs.firstAt },
            error: (err as Error)?.message ?? String(err),
            time: Date.now(),
          };
        }
        sink(ev);
        for (const w of waiters) w.resolve(ev);
      }, mergeChangeSets),
    );
  }

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const flush = () => {
    timer = undefined;
    for (const cs of buffer.takeDue(Date.now())) queues.get(cs.service)?.push(cs);
    schedule();
  };
  const schedule = () => {
    if (closed) return;
    const at = buffer.nextDeadline();
    if (at === undefined) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, at - Date.now()));
  };

  const refreshDockerignore = async (service: string) => {
    const i = routes.findIndex((r) => r.service === service);
    const s = byName.get(service);
    if (i < 0 || !s) return;
    const text = await readDockerignore((routes[i] as ServiceRoute).contextDir).catch(() => '');
    routes[i] = serviceRoute(s, opts.root, text);
  };

  const onFsEvent = (kind: FileChangeKind, abs: string) => {
    if (closed) return;
    const now = Date.now();
    for (const rc of routeChange(routes, abs)) {
      // A new .dockerignore changes what counts from now on (directories the watcher
      // already pruned are picked up at the next start).
      if (rc.rel === '.dockerignore') void refreshDockerignore(rc.service);
      buffer.add(rc.service, { abs, rel: rc.rel, kind }, now);
    }
    schedule();
  };

  const roots = watchRoots(routes);
  const watcher: FSWatcher = watch(roots, {
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    ignored: (p: string, stats?: import('node:fs').Stats) =>
      watcherIgnores(routes, p, stats ? stats.isDirectory() : undefined),
  });
  watcher.on('add', (p) => onFsEvent('add', p));
  watcher.on('change', (p) => onFsEvent('change', p));
  watcher.on('unlink', (p) => onFsEvent('unlink', p));
  watcher.on('unlinkDir', (p) => onFsEvent('unlink', p));
  watcher.on('error', (err) => {
    sink({
      type: 'step',
      id: 'watch',
      phase: 'progress',
      detail: `file watcher error: ${(err as Error)?.message ?? String(err)}`,
    });
  });

  const t0 = performance.now();
  sink({ type: 'step', id: 'watch', phase: 'start', detail: `watching ${roots.length} path(s)` });
  // Errors during the scan (an unreadable directory) are reported above and do not stop it.
  await new Promise<void>((res) => watcher.once('ready', () => res()));
  sink({
    type: 'step',
    id: 'watch',
    phase: 'done',
    detail: `watching ${roots.length} path(s) for ${opts.services.length} service(s)`,
    ms: Math.round(performance.now() - t0),
  });

  return {
    roots,
    trigger(service, reason = 'rebuild requested') {
      const queue = queues.get(service);
      if (!queue) return Promise.reject(new Error(`no service "${service}" is watched`));
      if (closed) return Promise.reject(new Error('the reload loop has stopped'));
      const now = Date.now();
      const asked: ChangeSet = { service, files: [], firstAt: now, lastAt: now, requested: reason };
      const buffered = buffer.take(service);
      return new Promise<ReloadEvent>((resolve, reject) => {
        const ws = waiting.get(service) ?? [];
        ws.push({ resolve, reject });
        waiting.set(service, ws);
        queue.push(buffered ? mergeChangeSets(asked, buffered) : asked);
      });
    },
    async idle() {
      for (;;) {
        if (buffer.size > 0) {
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
        const busy = [...queues.values()].filter((q) => q.busy);
        if (busy.length === 0) return;
        await Promise.all(busy.map((q) => q.idle()));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
      // Their queued set was dropped with the queue's follow-up.
      for (const ws of waiting.values())
        for (const w of ws) w.reject(new Error('the reload loop stopped before the rebuild ran'));
      waiting.clear();
    },
  };
}

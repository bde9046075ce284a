/**
 * Synced files survive a new container. A sync (sync mode, build/sync.ts) changes the
 * running containers, not the image; a container that starts afterwards (a deleted or
 * evicted pod's replacement, a crash restart, `R`, a node restart) starts from the image,
 * i.e. from the code as of the last build. This keeper remembers, per service, the files
 * synced since that build (the ledger) and re-applies all of them to every such new
 * container as soon as it runs, before it reports the service current again.
 *
 * Why re-sync and not "rebuild in the background after each sync": a rebuild rolls out a
 * new pod after every save, which is the very restart sync mode exists to avoid (process
 * state, warm caches, a debugger session), costs a build per save, and still leaves old
 * code running whenever a pod is replaced before that rebuild lands. A re-sync costs one
 * exec (~0.5 s) and only when a container is actually new. If the re-sync fails (the new
 * container has no tar, say), the keeper falls back to a rebuild of the service, whose
 * image then contains the synced files.
 *
 * Contract:
 * - `recordSync` after each sync: the files join the ledger (the last change of a path
 *   wins; a deletion is remembered as one), and the containers that received them are
 *   current. `clear` when an image built from the current files was applied (reload.ts):
 *   nothing is pending any more.
 * - While a service's ledger is not empty, its pods are listed every POLL_MS (faster while
 *   a new pod is coming up). A target container that is not current is reported at once as
 *   a started step `resync:<service>` ("… runs the image's code, without N synced file(s)")
 *   — so nothing shows it as current — and, once running, gets the whole ledger
 *   (build/sync.ts syncToPods with the current local contents), then step done and a
 *   `reload` event `ok`. A failure is step `fail` + `reload` `failed`, then the rebuild.
 * - Polling, not a watch, on purpose: the timer is unref'd, so the keeper needs no
 *   lifecycle of its own (it stops with the process, the dashboard or the plain loop alike)
 *   and costs one small list per second per service only while synced files exist.
 */

import type { SyncFile } from '../build/sync.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { EventSink } from '../events.ts';
import type { PodJson } from '../kube/types.ts';

export const POLL_MS = 1000;
/** While a new container is expected (a pod starting, a container restarting). */
export const FAST_POLL_MS = 200;

/** The pods of one workload of the service, and its containers that run the service's image. */
export interface SyncWorkload {
  namespace: string;
  selector: string;
  containers: string[];
}

export interface StaleContainer {
  namespace: string;
  pod: string;
  container: string;
  /** Its container ID when running; undefined while it is still starting. */
  containerID?: string;
  /** One key per container incarnation (pod uid, name, restart count): reported once. */
  key: string;
}

/**
 * Pure: the target containers of `pods` that did not receive the ledger. Running ones
 * (containerID set) are to be re-synced now; starting ones are announced and re-synced on
 * a later poll. Pods being deleted are left out: their replacement is what matters.
 */
export function staleContainers(
  namespace: string,
  pods: readonly PodJson[],
  containers: readonly string[],
  current: ReadonlySet<string>,
): StaleContainer[] {
  const out: StaleContainer[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    for (const name of containers) {
      const s = p.status?.containerStatuses?.find((c) => c.name === name);
      const key = `${p.metadata.uid ?? p.metadata.name}/${name}/${s?.restartCount ?? 0}`;
      if (s?.state?.running && s.containerID) {
        if (current.has(s.containerID)) continue;
        out.push({ namespace, pod: p.metadata.name, container: name, containerID: s.containerID, key });
      } else {
        out.push({ namespace, pod: p.metadata.name, container: name, key });
      }
    }
  }
  return out;
}

/** What the keeper needs from the reload side (reload.ts provides it). */
export interface ResyncDeps {
  onEvent: EventSink;
  /** The workloads whose pods run the service's image (their containers by name). */
  workloads(service: ServiceConfig): Promise<SyncWorkload[]>;
  listPods(namespace: string, selector: string): Promise<PodJson[]>;
  /** Applies these files (a full ledger) to these containers; resolves with the sync time. */
  sync(service: ServiceConfig, files: SyncFile[], targets: StaleContainer[]): Promise<{ syncMs: number }>;
  /** The fallback: rebuild the service's image and roll it out. */
  rebuild(service: ServiceConfig): Promise<unknown>;
}

interface ServiceLedger {
  service: ServiceConfig;
  files: Map<string, SyncFile>;
  /** Container IDs that hold the whole ledger. */
  current: Set<string>;
  /** Incarnation keys reported as stale (step started): when, and the container's name. */
  announced: Map<string, { at: number; label: string }>;
  /** Containers whose re-sync failed (a rebuild was started): not retried until the next sync. */
  failed: Set<string>;
  timer?: NodeJS.Timeout;
  /** Serializes polls, records and clears of this service. */
  chain: Promise<void>;
}

export class ResyncKeeper {
  private readonly ledgers = new Map<string, ServiceLedger>();
  private readonly deps: ResyncDeps;
  constructor(deps: ResyncDeps) {
    this.deps = deps;
  }

  /** The files synced into the service since its image was built (for tests and status). */
  pending(service: string): SyncFile[] {
    return [...(this.ledgers.get(service)?.files.values() ?? [])];
  }

  /** After a sync: `files` join the ledger; `containerIDs` received them (and hold the ledger). */
  recordSync(service: ServiceConfig, files: readonly SyncFile[], containerIDs: readonly string[]): void {
    let l = this.ledgers.get(service.name);
    if (!l) {
      l = {
        service,
        files: new Map(),
        current: new Set(),
        announced: new Map(),
        failed: new Set(),
        chain: Promise.resolve(),
      };
      this.ledgers.set(service.name, l);
    }
    l.service = service;
    for (const f of files) l.files.set(f.dest, f);
    // Containers that missed this sync lack these files: only the ones that got it stay current.
    const got = new Set(containerIDs);
    for (const id of [...l.current]) if (!got.has(id)) l.current.delete(id);
    for (const id of containerIDs) l.current.add(id);
    l.failed.clear();
    this.schedule(l, 0);
  }

  /** An image built from the current files was applied: nothing synced is pending. */
  clear(service: string): void {
    const l = this.ledgers.get(service);
    if (!l) return;
    if (l.timer) clearTimeout(l.timer);
    this.ledgers.delete(service);
    // Reported containers now come from the new image: close their steps honestly.
    for (const a of l.announced.values()) {
      this.deps.onEvent({
        type: 'step',
        id: `resync:${service}`,
        phase: 'skip',
        detail: `${a.label}: the rebuilt image holds the synced files`,
        ms: Math.round(performance.now() - a.at),
      });
    }
  }

  private schedule(l: ServiceLedger, ms: number): void {
    if (l.timer) clearTimeout(l.timer);
    l.timer = setTimeout(() => {
      l.timer = undefined;
      l.chain = l.chain.then(() => this.poll(l)).catch(() => undefined);
    }, ms);
    l.timer.unref();
  }

  /** One poll: report new stale containers, re-apply the ledger to the running ones, then poll again while files are pending. */
  private async poll(l: ServiceLedger): Promise<void> {
    if (this.ledgers.get(l.service.name) !== l || l.files.size === 0) return;
    const name = l.service.name;
    let starting = false;
    try {
      const stale = await this.staleOf(l);
      this.closeAnnounced(l, name, stale);
      const n = l.files.size;
      this.announce(l, name, stale, n);
      const running = stale.filter((s) => s.containerID !== undefined);
      starting = stale.length > running.length;
      if (running.length > 0) await this.reapply(l, name, running, n);
    } catch (err) {
      // Listing failed (API server restarting): try again at the next poll.
      starting = true;
      void err;
    } finally {
      if (this.ledgers.get(name) === l && l.files.size > 0)
        this.schedule(l, starting ? FAST_POLL_MS : POLL_MS);
    }
  }

  /** The service's target containers that lack the ledger, less those whose re-sync failed. */
  private async staleOf(l: ServiceLedger): Promise<StaleContainer[]> {
    const stale: StaleContainer[] = [];
    for (const w of await this.deps.workloads(l.service)) {
      const pods = await this.deps.listPods(w.namespace, w.selector);
      stale.push(
        ...staleContainers(w.namespace, pods, w.containers, l.current).filter(
          (s) => !(s.containerID && l.failed.has(s.containerID)),
        ),
      );
    }
    return stale;
  }

  /** Closes (step skip) each reported container that is no longer stale. */
  private closeAnnounced(l: ServiceLedger, name: string, stale: readonly StaleContainer[]): void {
    // A reported container that is no longer stale (deleted before it ran, or synced): closed.
    const keys = new Set(stale.map((s) => s.key));
    for (const [key, a] of [...l.announced]) {
      if (keys.has(key)) continue;
      l.announced.delete(key);
      this.deps.onEvent({
        type: 'step',
        id: `resync:${name}`,
        phase: 'skip',
        detail: `${a.label}: no longer pending`,
        ms: Math.round(performance.now() - a.at),
      });
    }
  }

  /** Reports (step start) each stale container not reported yet, with the `n` files it lacks. */
  private announce(l: ServiceLedger, name: string, stale: readonly StaleContainer[], n: number): void {
    for (const s of stale) {
      if (l.announced.has(s.key)) continue;
      l.announced.set(s.key, { at: performance.now(), label: `${s.namespace}/${s.pod}/${s.container}` });
      this.deps.onEvent({
        type: 'step',
        id: `resync:${name}`,
        phase: 'start',
        detail:
          `${s.namespace}/${s.pod}/${s.container} is a new container: it runs the image's code, without the ` +
          `${n} file(s) synced since the image was built; re-applying them${s.containerID ? '' : ' once it runs'}`,
      });
    }
  }

  /** Syncs the whole ledger to the running stale containers (step done + reload ok), or on failure falls back to a rebuild. */
  private async reapply(l: ServiceLedger, name: string, running: StaleContainer[], n: number): Promise<void> {
    const sink = this.deps.onEvent;
    const t0 = Math.min(...running.map((s) => l.announced.get(s.key)?.at ?? performance.now()));
    try {
      const { syncMs } = await this.deps.sync(l.service, [...l.files.values()], running);
      for (const s of running) {
        l.current.add(s.containerID as string);
        l.announced.delete(s.key);
      }
      const ms = Math.round(performance.now() - t0);
      sink({
        type: 'step',
        id: `resync:${name}`,
        phase: 'done',
        detail: `${running.map((s) => s.pod).join(', ')}: ${n} synced file(s) re-applied`,
        ms,
      });
      sink({
        type: 'reload',
        service: name,
        result: 'ok',
        timings: { syncMs, totalMs: ms },
        time: Date.now(),
      });
    } catch (err) {
      await this.reapplyFailed(l, name, running, t0, err);
    }
  }

  /** A failed re-sync: its containers marked failed, step fail + reload failed, then the rebuild and its reload event. */
  private async reapplyFailed(
    l: ServiceLedger,
    name: string,
    running: StaleContainer[],
    t0: number,
    err: unknown,
  ): Promise<void> {
    const sink = this.deps.onEvent;
    const msg = (err as Error)?.message ?? String(err);
    for (const s of running) {
      l.announced.delete(s.key);
      l.failed.add(s.containerID as string);
    }
    sink({
      type: 'step',
      id: `resync:${name}`,
      phase: 'fail',
      ms: Math.round(performance.now() - t0),
      error: `re-applying the synced files to ${running.map((s) => s.pod).join(', ')} failed: ${msg}; rebuilding the image`,
      lines: [...((err as { details?: readonly string[] }).details ?? [])],
    });
    sink({
      type: 'reload',
      service: name,
      result: 'failed',
      timings: { totalMs: Math.round(performance.now() - t0) },
      error: `${running.map((s) => s.pod).join(', ')} runs the image's code without the synced files (${msg}); rebuilding`,
      time: Date.now(),
    });
    // The rebuild's image holds the files; reload.ts clears the ledger once it is applied.
    const t1 = performance.now();
    try {
      await this.deps.rebuild(l.service);
      sink({
        type: 'reload',
        service: name,
        result: 'ok',
        timings: { totalMs: Math.round(performance.now() - t1) },
        time: Date.now(),
      });
    } catch (e) {
      sink({
        type: 'reload',
        service: name,
        result: 'failed',
        timings: { totalMs: Math.round(performance.now() - t1) },
        error: (e as Error)?.message ?? String(e),
        time: Date.now(),
      });
    }
  }
}

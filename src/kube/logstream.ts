/**
 * Follows the logs of every container of a set of pods, as a pod watch reports them:
 * the dashboard's log pane and `devenv logs -f`.
 *
 * Contract:
 * - `update(pod, service)` is called with every pod ADD/UPDATE of a watch; `remove()` on
 *   DELETE; `stop()` ends everything. The follower decides per container what to stream:
 *     - a container instance that runs (or has run) and is not followed yet → one followed
 *       stream (client-node `Log`, follow=true, timestamps=true). The first instance seen
 *       gets the caller's history window (`tailLines` / `sinceSeconds`); a NEW instance
 *       after a restart is read from its start (capped at RESTART_TAIL lines);
 *     - a container waiting to restart (CrashLoopBackOff) whose last run was never read →
 *       that run's log once (previous=true), so a crash's last words still arrive even when
 *       the run was too short to be followed;
 *     - a stream that ends while the same instance still runs (API server or kubelet
 *       closed it, connection dropped) → reconnected with backoff, from the timestamp of
 *       the last line received (lines already delivered are skipped);
 *     - a pod that is deleted → its streams are aborted.
 * - Each line becomes one LogEvent {service, pod, container, line, time} for `onLog`, in
 *   the order the stream delivers it; `time` is the kubelet's timestamp of the line.
 * - Memory is bounded: lines are handed over as they are split, never queued; a partial
 *   line is cut at MAX_PARTIAL bytes; per container only a few instance ids are kept.
 * - Only src/kube talks to Kubernetes; this module's I/O is the Log API only.
 */
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { LogEvent } from '../events.ts';
import type { KubeClient } from './client.ts';
import type { ContainerStatusJson, PodJson } from './types.ts';

/** Longest line kept whole; longer ones are delivered in pieces of this size. */
export const MAX_PARTIAL = 64 * 1024;
/** History read for a container instance that started after following began. */
export const RESTART_TAIL = 1000;
/** History of a crashed run read with previous=true. */
const PREVIOUS_TAIL = 200;

export interface LogFollowerOptions {
  client: KubeClient;
  onLog(e: LogEvent): void;
  /** History of each container when first followed: the last N lines (default, or -1: all). */
  tailLines?: number;
  /** History of each container when first followed: lines newer than this (seconds). */
  sinceSeconds?: number;
  /** Reconnect backoff (default 500 ms doubling to 10 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A stream failed to open or broke (it is retried while the container runs). */
  onError?(where: string, err: unknown): void;
}

export interface LogFollower {
  /** A pod as a watch reports it (ADDED / MODIFIED), with the service it belongs to. */
  update(pod: PodJson, service: string): void;
  /** A pod was deleted: stop its streams. */
  remove(namespace: string, name: string): void;
  /** Stop every stream (idempotent). */
  stop(): void;
  /** Streams currently open (for tests and diagnostics). */
  readonly open: number;
  /** Streams reopened after they ended while their container still ran. */
  readonly reconnects: number;
}

interface Tail {
  ns: string;
  pod: string;
  container: string;
  service: string;
  /** containerID of the instance being (or last) followed. */
  instance?: string;
  /** The latest status says `instance` runs. */
  running: boolean;
  /** The open follow stream, if any. */
  stream?: Stream;
  /** Normalised timestamp of the last line delivered (where a resumed stream continues). */
  lastTs?: string;
  retries: number;
  timer?: NodeJS.Timeout;
  /** Instance ids already read (followed or read as previous); the last few only. */
  seen: string[];
  /** No instance was read yet: the next one gets the caller's history window. */
  first: boolean;
}

/** One log request. `cancel()` works before the request has opened, too. */
interface Stream {
  /** The tail's key ("ns/pod/container"). */
  key: string;
  cancelled: boolean;
  ctl?: AbortController;
}

function cancel(s: Stream | undefined): void {
  if (!s) return;
  s.cancelled = true;
  s.ctl?.abort();
}

export function createLogFollower(opts: LogFollowerOptions): LogFollower {
  return new Follower(opts);
}

type StreamMode = 'first' | 'restart' | 'resume' | 'previous';

class Follower implements LogFollower {
  readonly #opts: LogFollowerOptions;
  readonly #log: k8s.Log;
  readonly #tails = new Map<string, Tail>();
  readonly #initialMs: number;
  readonly #maxMs: number;
  /** Every request not ended yet, including streams of older instances still draining. */
  readonly #live = new Set<Stream>();
  #stopped = false;
  #open = 0;
  #reconnects = 0;

  constructor(opts: LogFollowerOptions) {
    this.#opts = opts;
    this.#log = new k8s.Log(opts.client.kubeConfig);
    this.#initialMs = opts.backoff?.initialMs ?? 500;
    this.#maxMs = opts.backoff?.maxMs ?? 10_000;
  }

  get open(): number {
    return this.#open;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  update(pod: PodJson, service: string): void {
    if (this.#stopped) return;
    for (const c of pod.status?.initContainerStatuses ?? []) this.#updateContainer(pod, service, c);
    for (const c of pod.status?.containerStatuses ?? []) this.#updateContainer(pod, service, c);
  }

  remove(namespace: string, name: string): void {
    const prefix = `${namespace}/${name}/`;
    for (const [k, t] of this.#tails) {
      if (!k.startsWith(prefix)) continue;
      this.#tails.delete(k);
      if (t.timer) clearTimeout(t.timer);
    }
    for (const s of this.#live) if (s.key.startsWith(prefix)) cancel(s);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#tails.values()) if (t.timer) clearTimeout(t.timer);
    this.#tails.clear();
    for (const s of this.#live) cancel(s);
  }

  /** One line of a timestamps=true log: "2026-11-23T14:09:33.123456789Z text". */
  #emitLine(t: Tail, s: Stream, raw: string, skipUpTo: string | undefined): void {
    const sp = raw.indexOf(' ');
    const ts = sp > 0 ? normTs(raw.slice(0, sp)) : undefined;
    let line = ts ? raw.slice(sp + 1) : raw;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (ts) {
      // A resumed stream starts at the whole second of the last line: skip what was delivered.
      if (skipUpTo !== undefined && ts <= skipUpTo) return;
      if (t.stream === s) {
        t.lastTs = ts;
        t.retries = 0; // the stream works: the next drop starts the backoff afresh
      }
    }
    this.#opts.onLog({
      type: 'log',
      service: t.service,
      pod: t.pod,
      container: t.container,
      line,
      time: ts ? Date.parse(`${ts.slice(0, 23)}Z`) : Date.now(),
    });
  }

  /** Opens one stream of the tail's current instance. */
  async #openStream(t: Tail, mode: StreamMode): Promise<void> {
    const key = tailKey(t.ns, t.pod, t.container);
    const request = streamOptions(this.#opts, t, mode);
    if (!request) return;
    const { options, skipUpTo } = request;
    const instance = t.instance;
    const s: Stream = { key, cancelled: false };
    this.#live.add(s);
    const follow = mode !== 'previous';
    if (follow) {
      t.stream = s;
      this.#open++;
    }
    const sink = lineWriter(
      (raw) => this.#emitLine(t, s, raw, skipUpTo),
      () => !this.#stopped && !s.cancelled,
    );
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      this.#live.delete(s);
      if (!follow) return;
      this.#open--;
      if (t.stream === s) t.stream = undefined;
      if (this.#stopped || s.cancelled || this.#tails.get(key) !== t) return;
      // The stream ended. If the same instance still runs, it was not the container that
      // ended it (API server or kubelet closed it, the connection dropped): reconnect.
      if (t.instance === instance && t.running) this.#scheduleResume(t);
    };
    // Log.log pipes the response into `sink`; pipe() does not forward the response's own
    // errors (an abort, a dropped connection), so listen to the source directly.
    sink.on('pipe', (src: NodeJS.ReadableStream) => {
      src.on('error', done);
      src.on('close', () => setImmediate(done));
    });
    sink.on('finish', done);
    sink.on('error', done);
    try {
      s.ctl = await this.#log.log(t.ns, t.pod, t.container, sink, options);
      if (s.cancelled || this.#stopped) s.ctl.abort();
    } catch (err) {
      if (!this.#stopped && !s.cancelled) this.#opts.onError?.(`${t.ns}/${t.pod}/${t.container}`, err);
      done();
    }
  }

  #scheduleResume(t: Tail): void {
    if (t.timer) return;
    const wait = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(t.retries, 10));
    t.retries++;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      if (this.#stopped || t.stream || !t.running) return;
      this.#reconnects++;
      void this.#openStream(t, t.lastTs ? 'resume' : t.first ? 'first' : 'restart');
    }, wait);
    t.timer.unref?.();
  }

  #updateContainer(pod: PodJson, service: string, c: ContainerStatusJson): void {
    const ns = pod.metadata.namespace ?? '';
    const key = tailKey(ns, pod.metadata.name, c.name);
    let t = this.#tails.get(key);
    if (!t) {
      t = {
        ns,
        pod: pod.metadata.name,
        container: c.name,
        service,
        running: false,
        retries: 0,
        seen: [],
        first: true,
      };
      this.#tails.set(key, t);
    }
    t.service = service;
    const running = c.state?.running ? c.containerID : undefined;
    const terminated = c.state?.terminated ? (c.state.terminated.containerID ?? c.containerID) : undefined;
    const current = running ?? terminated;
    if (current) {
      t.running = running !== undefined;
      if (current !== t.instance) this.#follow(t, current);
      else if (t.running && !t.stream && !t.timer) {
        // Still running but not streaming (an open that failed): try again.
        this.#scheduleResume(t);
      }
      return;
    }
    t.running = false;
    // Waiting (to restart): read the crashed run if it was never read.
    const last = c.lastState?.terminated?.containerID;
    if (last && !t.seen.includes(last)) {
      remember(t, last);
      void this.#openStream(t, 'previous');
      t.first = false;
    }
  }

  /**
   * A new instance (or the first one seen): follow it. The stream of an older instance
   * ends by itself when that container exits; it is not waited for.
   */
  #follow(t: Tail, instance: string): void {
    const mode = t.first ? 'first' : 'restart';
    t.first = false;
    t.instance = instance;
    t.lastTs = undefined;
    t.retries = 0;
    remember(t, instance);
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    t.stream = undefined;
    void this.#openStream(t, mode);
  }
}

function remember(t: Tail, id: string): void {
  if (t.seen.includes(id)) return;
  t.seen.push(id);
  if (t.seen.length > 4) t.seen.shift();
}

/**
 * The Log API options of one stream, and the timestamp up to which a resumed stream's lines
 * were already delivered; undefined when there is nothing to read (a previous run with a
 * history window of 0 lines).
 */
function streamOptions(
  opts: LogFollowerOptions,
  t: Tail,
  mode: StreamMode,
): { options: k8s.LogOptions; skipUpTo?: string } | undefined {
  const options: k8s.LogOptions = { follow: mode !== 'previous', timestamps: true };
  if (mode === 'previous') {
    options.previous = true;
    // The caller's history window applies to the first run read, within PREVIOUS_TAIL.
    if (t.first && opts.sinceSeconds) options.sinceSeconds = opts.sinceSeconds;
    const tail =
      t.first && opts.tailLines !== undefined && opts.tailLines >= 0 ? opts.tailLines : PREVIOUS_TAIL;
    if (tail === 0) return undefined;
    options.tailLines = Math.min(tail, PREVIOUS_TAIL);
  } else if (mode === 'first') {
    if (opts.sinceSeconds) options.sinceSeconds = opts.sinceSeconds;
    if (opts.tailLines === 0) options.sinceTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    else if (opts.tailLines !== undefined && opts.tailLines > 0) options.tailLines = opts.tailLines;
  } else if (mode === 'restart') {
    options.tailLines = RESTART_TAIL;
  } else if (t.lastTs) {
    options.sinceTime = `${t.lastTs.slice(0, 19)}Z`; // the API takes whole seconds
    return { options, skipUpTo: t.lastTs };
  }
  return { options };
}

/**
 * A Writable that hands each line over as soon as it is complete (never queued), a partial
 * line cut at MAX_PARTIAL; nothing is handed over once `active()` is false.
 */
function lineWriter(onLine: (line: string) => void, active: () => boolean): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!active()) return cb();
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) onLine(p);
      while (partial.length > MAX_PARTIAL) {
        onLine(partial.slice(0, MAX_PARTIAL));
        partial = partial.slice(MAX_PARTIAL);
      }
      cb();
    },
    final(cb) {
      if (partial && active()) onLine(partial);
      partial = '';
      cb();
    },
  });
}

/**
 * Reads one container's log once (no follow), line by line into `onLine`, without holding
 * it in memory: `devenv logs` without -f. `previous` reads the last crashed run. Rejects
 * when the API refuses (e.g. the container has not started).
 */
export async function readContainerLog(
  client: KubeClient,
  ref: { namespace: string; pod: string; container: string },
  opts: { previous?: boolean; sinceSeconds?: number; tailLines?: number },
  onLine: (line: string) => void,
): Promise<void> {
  const options: k8s.LogOptions = { follow: false };
  if (opts.previous) options.previous = true;
  if (opts.sinceSeconds) options.sinceSeconds = opts.sinceSeconds;
  if (opts.tailLines) options.tailLines = opts.tailLines;
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
        while (partial.length > MAX_PARTIAL) {
          onLine(partial.slice(0, MAX_PARTIAL));
          partial = partial.slice(MAX_PARTIAL);
        }
        cb();
      },
      final(cb) {
        if (partial) onLine(partial);
        partial = '';
        cb();
      },
    });
    sink.on('pipe', (src: NodeJS.ReadableStream) => src.on('error', reject));
    sink.on('finish', resolve);
    sink.on('error', reject);
    new k8s.Log(client.kubeConfig).log(ref.namespace, ref.pod, ref.container, sink, options).catch(reject);
  });
}

function tailKey(ns: string, pod: string, container: string): string {
  return `${ns}/${pod}/${container}`;
}

/**
 * An RFC 3339 timestamp normalised so that string order is time order: nanoseconds always
 * 9 digits ("…:33.1Z" → "…:33.100000000"). undefined when `s` is not such a timestamp.
 */
export function normTs(s: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return undefined;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}`;
}

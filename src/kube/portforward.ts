/**
 * Port-forwards that survive pod restarts, rollouts and reloads: a TCP listener on
 * 127.0.0.1 whose EVERY new connection picks a ready pod behind the Service at that
 * moment and is forwarded to that pod's target port through the API server's portforward
 * subresource (client-node's `PortForward`, websocket channel protocol v4).
 *
 * Contract:
 * - Which pod: the Service's EndpointSlices, endpoints that are ready and not terminating,
 *   taken in turn; the port number is the slice's (a named targetPort resolved by
 *   Kubernetes). A Service with no EndpointSlice at all (none written yet, or a cluster
 *   without the controller) falls back to its selector's pods with the Ready condition,
 *   not being deleted, the targetPort resolved from their container ports.
 * - No ready pod: the connection waits (polling) up to `waitReadyMs` for one, so a request
 *   made while the only pod is being replaced is answered by the new one; then it is closed.
 * - A connection stays on its pod. When the pod goes away the API server closes the
 *   stream and the local connection ends; the next connection goes to a ready pod. Nothing
 *   is restarted and no pod is remembered between connections, so none goes stale.
 * - Retried on another pod only when nothing reached the app: the stream could not be
 *   opened, or the kubelet reported an error (connection refused: a pod shutting down)
 *   before the pod sent a byte. The client's bytes are kept until then and sent again.
 * - The websocket protocol has no half-close: the listener is half-open, so a client's
 *   FIN does not cut the answer short; the connection ends when the pod's side does.
 *
 * src/kube/ is the only place that talks to Kubernetes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import { listEndpointSlices, listPods } from './reads.ts';
import type { ContainerJson, EndpointSliceJson, ObjectMeta, PodStatusJson } from './types.ts';

export interface ForwardTarget {
  namespace: string;
  /** The Service's name. */
  service: string;
  /** The Service port: its name ('' when unnamed, as in EndpointSlices) and targetPort. */
  port: { name: string; port: number; targetPort: number | string };
  /** The Service's selector (for the fallback without EndpointSlices). */
  selector?: Record<string, string>;
  /** Local port on `host`. */
  local: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ForwardStats {
  connections: number;
  active: number;
  failed: number;
  /** The pod the latest connection went to. */
  lastPod?: string;
}

export interface Forward {
  /** `127.0.0.1:8080`. */
  address: string;
  target: ForwardTarget;
  stats: ForwardStats;
  /** Stops listening and ends the open connections. */
  close(): Promise<void>;
}

export interface ForwardOptions {
  /** How long a new connection waits for a ready pod (default 30 s). */
  waitReadyMs?: number;
  /** Something the user should know (no ready pod, a failed connection); not per connection. */
  onNotice?(text: string, error: boolean): void;
}

/** An endpoint a connection can go to. */
export interface PodPort {
  pod: string;
  port: number;
}

/** The parts of a pod (types.ts PodJson) the selector fallback reads. */
type PodPorts = {
  metadata: Pick<ObjectMeta, 'name' | 'deletionTimestamp'>;
  spec?: { containers?: ReadonlyArray<Pick<ContainerJson, 'ports'>> };
  status?: Pick<PodStatusJson, 'conditions'>;
};

/**
 * The ready pods of a Service port from its EndpointSlices (pure): `undefined` when there
 * is no slice at all (the caller falls back to the selector), `[]` when none is ready.
 */
export function readyFromSlices(
  slices: readonly EndpointSliceJson[],
  portName: string,
): PodPort[] | undefined {
  if (slices.length === 0) return undefined;
  const out: PodPort[] = [];
  for (const s of slices) {
    const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === 'TCP');
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      // A nil `ready` is "unknown", which consumers are told to read as ready.
      if (e.conditions?.ready === false || e.conditions?.terminating === true) continue;
      if (e.targetRef?.kind !== 'Pod' || !e.targetRef.name) continue;
      out.push({ pod: e.targetRef.name, port: p.port });
    }
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod));
}

/** The ready pods of a selector, the targetPort resolved on each (pure). */
export function readyFromPods(pods: readonly PodPorts[], targetPort: number | string): PodPort[] {
  const out: PodPort[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (p.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') continue;
    let port: number | undefined;
    if (typeof targetPort === 'number') port = targetPort;
    else
      for (const c of p.spec?.containers ?? [])
        for (const cp of c.ports ?? []) if (cp.name === targetPort) port ??= cp.containerPort;
    if (port) out.push({ pod: p.metadata.name, port });
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod));
}

/** The ready pods behind a Service port right now. */
export async function readyPods(client: KubeClient, t: ForwardTarget): Promise<PodPort[]> {
  const slices = await listEndpointSlices(client, t.namespace, t.service);
  const fromSlices = readyFromSlices(slices, t.port.name);
  if (fromSlices !== undefined || !t.selector) return fromSlices ?? [];
  const labelSelector = Object.entries(t.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return readyFromPods(await listPods(client, t.namespace, labelSelector), t.port.targetPort);
}

/** The most a connection's first bytes are kept for a retry on another pod. */
const KEEP_MAX = 1 << 20;
const ATTEMPTS = 3;

/** Listens on host:local (EADDRINUSE rejects) and forwards each connection as described above. */
export async function openForward(
  client: KubeClient,
  target: ForwardTarget,
  opts: ForwardOptions = {},
): Promise<Forward> {
  const host = target.host ?? '127.0.0.1';
  const waitReadyMs = opts.waitReadyMs ?? 30_000;
  const stats: ForwardStats = { connections: 0, active: 0, failed: 0 };
  const sockets = new Set<Socket>();
  const what = `Service ${target.namespace}/${target.service} port ${target.port.name || target.port.port}`;
  let closed = false;
  const ctx: ForwardContext = {
    pf: new k8s.PortForward(client.kubeConfig),
    target,
    host,
    what,
    waitReadyMs,
    opts,
    stats,
    sockets,
    pick: readyPicker(client, target, host, what, waitReadyMs, opts, () => closed),
  };
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) =>
    forwardConnection(ctx, socket),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: target.local, host, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return {
    address: `${host}:${target.local}`,
    target,
    stats,
    async close() {
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What every connection of one forward shares. */
interface ForwardContext {
  pf: k8s.PortForward;
  target: ForwardTarget;
  host: string;
  /** "Service ns/name port p", for notices. */
  what: string;
  waitReadyMs: number;
  opts: ForwardOptions;
  stats: ForwardStats;
  sockets: Set<Socket>;
  /** A ready pod not in `exclude`, waiting for one up to waitReadyMs; undefined if none came. */
  pick(exclude: ReadonlySet<string>, socket: Socket): Promise<PodPort | undefined>;
}

/**
 * Picks ready pods in turn (round robin over those ready at that moment); while none is
 * ready, polls every 250 ms up to waitReadyMs, with one notice when that starts and one
 * when a pod is ready again.
 */
function readyPicker(
  client: KubeClient,
  target: ForwardTarget,
  host: string,
  what: string,
  waitReadyMs: number,
  opts: ForwardOptions,
  isClosed: () => boolean,
): ForwardContext['pick'] {
  let turn = 0;
  let waitingNoticed = false;
  return async (exclude, socket) => {
    const deadline = Date.now() + waitReadyMs;
    for (;;) {
      let ready: PodPort[] = [];
      try {
        ready = (await readyPods(client, target)).filter((p) => !exclude.has(p.pod));
      } catch (err) {
        opts.onNotice?.(`forward ${host}:${target.local}: ${(err as Error).message}`, true);
      }
      if (ready.length > 0) {
        if (waitingNoticed) {
          waitingNoticed = false;
          opts.onNotice?.(`forward ${host}:${target.local}: ${what} has a ready pod again`, false);
        }
        return ready[turn++ % ready.length];
      }
      if (!waitingNoticed) {
        waitingNoticed = true;
        opts.onNotice?.(
          `forward ${host}:${target.local}: no ready pod behind ${what}; connections wait up to ${Math.round(waitReadyMs / 1000)} s for one`,
          false,
        );
      }
      if (Date.now() > deadline || isClosed() || socket.destroyed) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
}

/** One accepted connection, across its attempts on pods. */
interface Connection {
  socket: Socket;
  /** The client's first bytes, kept (up to KEEP_MAX) until a pod answers, for a retry. */
  kept: Buffer[];
  keptBytes: number;
  /** A pod sent something back: no more retries. */
  answered: boolean;
  attempt: number;
  input?: PassThrough;
  ws?: { close(): void; on(ev: 'close', fn: () => void): void };
  /** Pods tried already. */
  tried: Set<string>;
}

function forwardConnection(ctx: ForwardContext, socket: Socket): void {
  ctx.stats.connections++;
  ctx.stats.active++;
  ctx.sockets.add(socket);
  socket.setNoDelay(true);
  const c: Connection = { socket, kept: [], keptBytes: 0, answered: false, attempt: 0, tried: new Set() };
  socket.on('data', (chunk: Buffer) => {
    if (!c.answered && c.keptBytes < KEEP_MAX) {
      c.kept.push(chunk);
      c.keptBytes += chunk.length;
    }
    c.input?.write(chunk);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    ctx.stats.active--;
    ctx.sockets.delete(socket);
    c.ws?.close();
  });
  void connectPod(ctx, c);
}

function failConnection(ctx: ForwardContext, c: Connection, why: string): void {
  ctx.stats.failed++;
  ctx.opts.onNotice?.(`forward ${ctx.host}:${ctx.target.local}: a connection failed: ${why}`, true);
  c.socket.destroy();
}

/**
 * One attempt: a ready pod not tried yet, a portforward stream to it fed with the kept
 * bytes, then the live ones. A stream that fails before the pod answered is tried on
 * another pod (ATTEMPTS in all) while the kept bytes are complete; otherwise it fails.
 */
async function connectPod(ctx: ForwardContext, c: Connection): Promise<void> {
  const { socket } = c;
  const mine = ++c.attempt;
  const pod = await ctx.pick(c.tried, socket);
  if (socket.destroyed) return;
  if (!pod)
    return failConnection(
      ctx,
      c,
      `no ready pod behind ${ctx.what} within ${Math.round(ctx.waitReadyMs / 1000)} s`,
    );
  c.tried.add(pod.pod);
  ctx.stats.lastPod = pod.pod;
  const retryOrFail = (why: string): void => {
    if (mine !== c.attempt || socket.destroyed) return;
    c.ws?.close();
    c.ws = undefined;
    if (!c.answered && c.keptBytes < KEEP_MAX && c.attempt < ATTEMPTS) void connectPod(ctx, c);
    else failConnection(ctx, c, why);
  };
  c.input = new PassThrough();
  for (const k of c.kept) c.input.write(k);
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (mine === c.attempt && chunk.length > 0) {
        c.answered = true;
        c.kept.length = 0;
        socket.write(chunk);
      }
      done();
    },
  });
  let errText = '';
  const errors = new Writable({
    write(chunk: Buffer, _enc, done) {
      errText += chunk.toString('utf8');
      // The kubelet writes one message per failure: nothing reached the app, or the pod
      // side broke; either way this stream is over.
      if (errText.trim()) retryOrFail(`pod ${pod.pod}: ${errText.trim()}`);
      done();
    },
  });
  try {
    const opened = await ctx.pf.portForward(
      ctx.target.namespace,
      pod.pod,
      [pod.port],
      output,
      errors,
      c.input,
    );
    c.ws = opened as unknown as Connection['ws'];
  } catch (err) {
    return retryOrFail(`pod ${pod.pod}: ${(err as Error)?.message || 'the portforward stream did not open'}`);
  }
  if (mine !== c.attempt || socket.destroyed) {
    c.ws?.close();
    return;
  }
  c.ws?.on('close', () => {
    // The pod's side ended (the app closed, or the pod went away): so does ours.
    if (mine === c.attempt && !socket.destroyed) socket.end();
  });
}

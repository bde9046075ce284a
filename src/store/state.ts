/**
 * The dashboard's state: everything the terminal dashboard (and `status`-like views) show.
 *
 * Contract:
 * - The state changes ONLY through `reduce(state, action)` (store/reducer.ts), driven by typed
 *   actions (store/actions.ts): progress events from the engine, pod/event/node actions from
 *   the kube layer's watches, and ui actions from the keyboard.
 * - Views (tui/view.ts) are pure functions of this state plus a clock and a size; they never
 *   call Kubernetes, Docker or the clock themselves.
 * - Times are epoch milliseconds supplied by the action (never read from the clock in the
 *   reducer), so replaying the same actions gives the same state.
 * - Nothing here ever holds a secret: events carry none, and the printers redact anyway.
 *
 * Collections that are upserted at watch rates (pods, events, steps) are Maps keyed by
 * identity so an update is O(1); views sort what they show.
 */
import { RingBuffer } from './ring.ts';

export type NodeRole = 'server' | 'agent';

export interface NodeInfo {
  name: string;
  role: NodeRole;
  ready: boolean;
}

export type Health = 'starting' | 'healthy' | 'unhealthy' | 'stopped' | 'unknown';

/** A service outside the cluster: the database, the object store. */
export interface DataService {
  name: string;
  health: Health;
  /** host:port as the developer would type it (never with credentials). */
  endpoint?: string;
}

export type CaStatus = 'unknown' | 'missing' | 'created' | 'trusted' | 'untrusted' | 'expiring';

export interface LastReload {
  result: 'ok' | 'failed' | 'unchanged';
  at: number;
  timings: { buildMs?: number; loadMs?: number; rolloutMs?: number; syncMs?: number; totalMs: number };
  error?: string;
}

/** One deployed service (a Deployment/StatefulSet the project builds), as summarised by kube. */
export interface ServiceState {
  name: string;
  namespace: string;
  /** Desired and ready replicas. */
  desired: number;
  ready: number;
  /** Workload-level status: "Running", "Progressing", "Degraded", "Pending", ... */
  status: string;
  restarts: number;
  /** Creation time of the workload, epoch ms (age is computed by the view from the clock). */
  createdAt?: number;
  nodes: string[];
  /** Image tag currently deployed (set by service summaries and by reloads that built one). */
  imageTag?: string;
  lastReload?: LastReload;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodInfo {
  name: string;
  namespace: string;
  /** The project service this pod belongs to (mapped from labels by the kube layer). */
  service: string;
  phase: PodPhase;
  /** Why it is not fine: "CrashLoopBackOff", "ImagePullBackOff", "OOMKilled", ... */
  reason?: string;
  ready: boolean;
  restarts: number;
  node?: string;
  startedAt?: number;
}

export interface KubeEvent {
  /** metadata.uid of the Event when known; otherwise the key is namespace/object/reason. */
  uid?: string;
  type: 'Warning' | 'Normal';
  reason: string;
  /** kind/name, e.g. "pod/api-7d9f-x1k2p". */
  object: string;
  namespace?: string;
  message: string;
  count: number;
  lastSeen: number;
}

export interface LogLine {
  seq: number;
  time: number;
  service: string;
  pod: string;
  container: string;
  line: string;
}

export interface StepState {
  id: string;
  phase: 'start' | 'progress' | 'done' | 'skip' | 'fail';
  /** What the step does (its start event's detail). */
  title?: string;
  /** The newest detail (a progress line, a skip's reason). */
  detail?: string;
  /** When the current attempt started (epoch ms), when the event carried a time. */
  startedAt?: number;
  /** The last few progress lines (BuildKit steps of a build, pulls, ...), oldest first. */
  recent?: string[];
  /** A build's current BuildKit step, e.g. "#7 [3/4] RUN pip install ..." (its newest `#N [i/n]` line). */
  stage?: string;
  ms?: number;
  error?: string;
  lines?: string[];
}

export type Focus = 'all' | 'service' | 'pod';

/**
 * Where `devenv up` is: 'idle' (the dashboard was opened over an environment that is up,
 * or by a test), 'starting' (up runs: the dashboard shows its steps as they happen),
 * 'ready' (up finished), 'failed' (up stopped with `error`; the dashboard stays open).
 */
export type UpPhase = 'idle' | 'starting' | 'ready' | 'failed';

export interface UpState {
  phase: UpPhase;
  /** Epoch ms of the phase's start (starting: when up began). */
  since?: number;
  /** The whole run's wall time once ready/failed. */
  ms?: number;
  error?: string;
  lines?: string[];
}

/** One place a service answers: an ingress/route URL, a port-forward, the TLS URL. */
export interface Endpoint {
  service: string;
  kind: 'ingress' | 'route' | 'tls' | 'forward';
  url: string;
  /** What it leads to, e.g. "svc/api:8080" (optional). */
  note?: string;
}

export interface UiState {
  /** Selected service name; null (or a name that left) means "the first service". */
  selected: string | null;
  /** Which logs the log pane shows: everything, the selected service, or one pod. */
  focus: Focus;
  /** The focused pod as "namespace/name" when focus is 'pod'. */
  focusPod: string | null;
  /** Paused: the log pane stops following and shows lines before `pausedSeq`. */
  paused: boolean;
  pausedSeq: number;
  /** Rows scrolled up from the bottom of the log pane (only while paused). */
  scroll: number;
  /** Case-insensitive substring filter on log lines ('' = none). */
  filter: string;
  /** True while the user types the filter after '/'. */
  filterEditing: boolean;
  showHelp: boolean;
  /** The describe overlay of the selected service. */
  describe: boolean;
  /** A transient message for the footer (e.g. "reload requested: api"). */
  notice?: { text: string; at: number; error?: boolean };
}

export interface State {
  project: string;
  cluster: { name: string; context: string; nodes: NodeInfo[] };
  dataServices: DataService[];
  ca: { status: CaStatus; detail?: string };
  services: Map<string, ServiceState>;
  /** Keyed "namespace/name". */
  pods: Map<string, PodInfo>;
  /** Keyed by uid or namespace/object/reason; bounded to `maxEvents` (oldest lastSeen evicted). */
  events: Map<string, KubeEvent>;
  maxEvents: number;
  logs: RingBuffer<LogLine>;
  /** In order of first appearance (Map iteration order). */
  steps: Map<string, StepState>;
  up: UpState;
  /** Where each service answers (engine/endpoints.ts), in display order. */
  endpoints: Endpoint[];
  ui: UiState;
}

/** Log lines kept in the window (the dashboard's scroll-back). */
export const DEFAULT_LOG_CAPACITY = 5000;
export const DEFAULT_MAX_EVENTS = 300;
/** Progress lines kept per step. */
export const STEP_RECENT = 4;
/** Longer log lines are cut when stored, so the window's memory stays bounded. */
export const MAX_LOG_LINE = 4096;

export function initialState(
  opts: { project?: string; logCapacity?: number; maxEvents?: number } = {},
): State {
  return {
    project: opts.project ?? '',
    cluster: { name: '', context: '', nodes: [] },
    dataServices: [],
    ca: { status: 'unknown' },
    services: new Map(),
    pods: new Map(),
    events: new Map(),
    maxEvents: opts.maxEvents ?? DEFAULT_MAX_EVENTS,
    logs: new RingBuffer<LogLine>(opts.logCapacity ?? DEFAULT_LOG_CAPACITY),
    steps: new Map(),
    up: { phase: 'idle' },
    endpoints: [],
    ui: {
      selected: null,
      focus: 'all',
      focusPod: null,
      paused: false,
      pausedSeq: 0,
      scroll: 0,
      filter: '',
      filterEditing: false,
      showHelp: false,
      describe: false,
    },
  };
}

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function eventKey(e: KubeEvent): string {
  return e.uid ?? `${e.namespace ?? ''}/${e.object}/${e.reason}`;
}

// ---- selectors shared by the reducer (ui navigation) and the views (what is drawn) ----

/** Services in display order: by name (stable whatever order the watches report them in). */
export function serviceList(state: Readonly<State>): ServiceState[] {
  return [...state.services.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.namespace, b.namespace));
}

/** The selected service: ui.selected if it still exists, else the first one, else undefined. */
export function selectedService(state: Readonly<State>): ServiceState | undefined {
  const sel = state.ui.selected === null ? undefined : state.services.get(state.ui.selected);
  return sel ?? serviceList(state)[0];
}

/** Pods of a service in display order (by name). */
export function podsOf(state: Readonly<State>, service: string): PodInfo[] {
  const out: PodInfo[] = [];
  for (const p of state.pods.values()) if (p.service === service) out.push(p);
  return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.namespace, b.namespace));
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

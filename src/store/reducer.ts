/**
 * The reducer: the one place where dashboard state changes.
 *
 * Contract: `reduce(state, action)` applies one action IN PLACE and never reads the clock,
 * the network or the environment, so a sequence of actions always yields the same state.
 * In-place (rather than copy-on-write) because log lines arrive at thousands per second:
 * each must cost O(1) (one ring-buffer slot), not a copy of the state. Views run in the same
 * thread between dispatches, so they always see a consistent state.
 */

import type { ProgressEvent } from '../events.ts';
import type {
  Action,
  CaAction,
  DataAction,
  EndpointsAction,
  EventAction,
  NodeAction,
  PodAction,
  ProjectAction,
  ServiceAction,
  UiAction,
  UpAction,
} from './actions.ts';
import {
  eventKey,
  MAX_LOG_LINE,
  type NodeInfo,
  podKey,
  podsOf,
  type ServiceState,
  STEP_RECENT,
  type State,
  type StepState,
  selectedService,
  serviceList,
} from './state.ts';

/** A BuildKit vertex of the Dockerfile: "#7 [3/4] RUN ..." (docker/buildkit-progress.ts). */
const BUILDKIT_STAGE = /^#\d+ \[[^\]]*\d+\/\d+\] /;

export function reduce(state: State, action: Action): void {
  if (isProgress(action)) reduceProgress(state, action);
  else if (isUi(action)) reduceUi(state, action);
  else if (isKubeFact(action)) reduceKubeFact(state, action);
  else reduceEngineFact(state, action);
}

type UiSelectionAction = Extract<
  UiAction,
  { type: 'ui/select' | 'ui/select-service' | 'ui/focus' | 'ui/focus-cycle' }
>;
type KubeFactAction = NodeAction | ServiceAction | PodAction | EventAction;
type EngineFactAction = ProjectAction | DataAction | CaAction | UpAction | EndpointsAction;

const PROGRESS: ReadonlySet<string> = new Set(['step', 'log', 'reload']);
const KUBE_FACT = /^(node|service|pod|event)\//;
const isProgress = (a: Action): a is ProgressEvent => PROGRESS.has(a.type);
const isUi = (a: Action): a is UiAction => a.type.startsWith('ui/');
const isKubeFact = (a: Action): a is KubeFactAction => KUBE_FACT.test(a.type);

/** A new action type must be handled (a compile error here otherwise). */
function exhaustive(action: never): void {
  void action;
}

/** Progress events from the engine, as they are. */
function reduceProgress(state: State, action: ProgressEvent): void {
  switch (action.type) {
    case 'step': {
      // 'start' begins a fresh attempt (a retried step forgets its previous error).
      const prev = action.phase === 'start' ? undefined : state.steps.get(action.id);
      const next: StepState = { ...prev, id: action.id, phase: action.phase };
      if (action.detail !== undefined) next.detail = action.detail;
      if (action.phase === 'start') {
        if (action.detail !== undefined) next.title = action.detail;
        if (action.time !== undefined) next.startedAt = action.time;
      } else if (next.startedAt === undefined && action.time !== undefined) next.startedAt = action.time;
      if (action.phase === 'progress' && action.detail !== undefined) {
        const recent = [...(prev?.recent ?? []), action.detail];
        next.recent = recent.length > STEP_RECENT ? recent.slice(-STEP_RECENT) : recent;
        if (BUILDKIT_STAGE.test(action.detail)) next.stage = action.detail;
      }
      if (action.ms !== undefined) next.ms = action.ms;
      if (action.error !== undefined) next.error = action.error;
      if (action.lines !== undefined && action.lines.length > 0) next.lines = [...action.lines];
      state.steps.set(action.id, next);
      return;
    }
    case 'log': {
      const line =
        action.line.length > MAX_LOG_LINE
          ? `${action.line.slice(0, MAX_LOG_LINE)}… (${action.line.length - MAX_LOG_LINE} more chars)`
          : action.line;
      state.logs.push({
        seq: state.logs.total,
        time: action.time,
        service: action.service,
        pod: action.pod,
        container: action.container,
        line,
      });
      return;
    }
    case 'reload': {
      const svc = ensureService(state, action.service);
      svc.lastReload = { result: action.result, at: action.time, timings: { ...action.timings } };
      if (action.error !== undefined) svc.lastReload.error = action.error;
      if (action.tag !== undefined) svc.imageTag = action.tag;
      return;
    }
    default:
      exhaustive(action);
  }
}

/** Facts from the engine. */
function reduceEngineFact(state: State, action: EngineFactAction): void {
  switch (action.type) {
    case 'project/set':
      state.project = action.project;
      if (action.cluster) {
        state.cluster.name = action.cluster.name;
        state.cluster.context = action.cluster.context;
      }
      return;
    case 'data/upsert': {
      const i = state.dataServices.findIndex((d) => d.name === action.service.name);
      if (i >= 0) state.dataServices[i] = { ...action.service };
      else state.dataServices.push({ ...action.service });
      return;
    }
    case 'ca/set':
      state.ca =
        action.detail === undefined
          ? { status: action.status }
          : { status: action.status, detail: action.detail };
      return;
    case 'up/phase': {
      const up: State['up'] = { phase: action.phase, since: action.at };
      if (action.ms !== undefined) up.ms = action.ms;
      if (action.error !== undefined) up.error = action.error;
      if (action.lines !== undefined && action.lines.length > 0) up.lines = [...action.lines];
      state.up = up;
      return;
    }
    case 'endpoints/set':
      state.endpoints = action.endpoints.map((e) => ({ ...e }));
      return;
    default:
      exhaustive(action);
  }
}

/** Facts from the kube watches (store/kube-feed.ts). */
function reduceKubeFact(state: State, action: KubeFactAction): void {
  switch (action.type) {
    case 'node/upsert': {
      const nodes = state.cluster.nodes.filter((n) => n.name !== action.node.name);
      nodes.push({ ...action.node });
      state.cluster.nodes = nodes.sort(nodeOrder);
      return;
    }
    case 'node/delete':
      state.cluster.nodes = state.cluster.nodes.filter((n) => n.name !== action.name);
      return;
    case 'service/upsert': {
      const svc = ensureService(state, action.service.name);
      for (const [k, v] of Object.entries(action.service)) {
        if (v !== undefined) (svc as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
      }
      return;
    }
    case 'service/delete':
      state.services.delete(action.name);
      return;
    case 'pod/upsert':
      state.pods.set(podKey(action.pod), { ...action.pod });
      return;
    case 'pod/delete': {
      const key = podKey(action);
      state.pods.delete(key);
      if (state.ui.focusPod === key) {
        // The focused pod went away (rollout): fall back to its service's logs.
        state.ui.focus = 'service';
        state.ui.focusPod = null;
      }
      return;
    }
    case 'event/upsert': {
      state.events.set(eventKey(action.event), { ...action.event });
      if (state.events.size > state.maxEvents) evictOldestEvent(state);
      return;
    }
    default:
      exhaustive(action);
  }
}

function reduceUi(state: State, action: UiAction): void {
  if (
    action.type === 'ui/select' ||
    action.type === 'ui/select-service' ||
    action.type === 'ui/focus' ||
    action.type === 'ui/focus-cycle'
  )
    reduceUiSelection(state, action);
  else reduceUiView(state, action);
}

/** Which service is selected and whose logs are shown. */
function reduceUiSelection(state: State, action: UiSelectionAction): void {
  switch (action.type) {
    case 'ui/select': {
      const list = serviceList(state);
      if (list.length === 0) return;
      const cur = selectedService(state);
      const i = cur ? list.findIndex((s) => s.name === cur.name) : -1;
      const n = list.length;
      const j = action.move === 'next' ? (i + 1) % n : (i - 1 + n) % n;
      selectName(state, list[j]!.name);
      return;
    }
    case 'ui/select-service':
      if (state.services.has(action.name)) selectName(state, action.name);
      return;
    case 'ui/focus': {
      const ui = state.ui;
      if (action.focus === 'pod') {
        const sel = selectedService(state);
        const first = sel ? podsOf(state, sel.name)[0] : undefined;
        const pod = action.pod ?? (first ? podKey(first) : undefined);
        if (pod && state.pods.has(pod)) {
          ui.focus = 'pod';
          ui.focusPod = pod;
        }
        return;
      }
      ui.focus = action.focus;
      ui.focusPod = null;
      return;
    }
    case 'ui/focus-cycle': {
      const ui = state.ui;
      const sel = selectedService(state);
      if (!sel) {
        ui.focus = 'all';
        ui.focusPod = null;
        return;
      }
      const pods = podsOf(state, sel.name).map(podKey);
      if (ui.focus === 'all') {
        ui.focus = 'service';
        ui.focusPod = null;
      } else {
        const at = ui.focus === 'pod' && ui.focusPod ? pods.indexOf(ui.focusPod) : -1;
        const next = pods[at + 1];
        if (next) {
          ui.focus = 'pod';
          ui.focusPod = next;
        } else {
          ui.focus = 'all';
          ui.focusPod = null;
        }
      }
      ui.scroll = 0;
      return;
    }
    default:
      exhaustive(action);
  }
}

/** Pause, scroll, filter, overlays, notices. */
function reduceUiView(state: State, action: Exclude<UiAction, UiSelectionAction>): void {
  switch (action.type) {
    case 'ui/pause':
      setPaused(state, action.paused ?? !state.ui.paused);
      return;
    case 'ui/scroll': {
      const scroll = Math.max(0, state.ui.scroll + Math.trunc(action.delta));
      if (scroll > 0 && !state.ui.paused) setPaused(state, true);
      state.ui.scroll = scroll;
      return;
    }
    case 'ui/filter':
      state.ui.filter = action.filter;
      state.ui.filterEditing = action.editing;
      state.ui.scroll = 0;
      return;
    case 'ui/help':
      state.ui.showHelp = action.show ?? !state.ui.showHelp;
      if (state.ui.showHelp) state.ui.describe = false;
      return;
    case 'ui/describe':
      state.ui.describe = action.show ?? !state.ui.describe;
      if (state.ui.describe) state.ui.showHelp = false;
      return;
    case 'ui/escape': {
      const ui = state.ui;
      if (ui.showHelp) ui.showHelp = false;
      else if (ui.describe) ui.describe = false;
      else if (ui.filterEditing || ui.filter !== '') {
        ui.filter = '';
        ui.filterEditing = false;
      } else if (ui.paused) setPaused(state, false);
      else {
        ui.focus = 'all';
        ui.focusPod = null;
      }
      return;
    }
    case 'ui/notice':
      state.ui.notice =
        action.error === undefined
          ? { text: action.text, at: action.at }
          : { text: action.text, at: action.at, error: action.error };
      return;
    default:
      exhaustive(action);
  }
}

function ensureService(state: State, name: string): ServiceState {
  let svc = state.services.get(name);
  if (!svc) {
    svc = { name, namespace: '', desired: 0, ready: 0, status: 'Unknown', restarts: 0, nodes: [] };
    state.services.set(name, svc);
  }
  return svc;
}

function selectName(state: State, name: string): void {
  const ui = state.ui;
  if (ui.selected !== name && ui.focus === 'pod') {
    // A focused pod belongs to the previous selection: follow the new service instead.
    ui.focus = 'service';
    ui.focusPod = null;
  }
  ui.selected = name;
}

function setPaused(state: State, paused: boolean): void {
  const ui = state.ui;
  if (paused && !ui.paused) ui.pausedSeq = state.logs.total;
  ui.paused = paused;
  if (!paused) ui.scroll = 0;
}

function evictOldestEvent(state: State): void {
  let oldestKey: string | undefined;
  let oldest = Number.POSITIVE_INFINITY;
  for (const [k, e] of state.events) {
    if (e.lastSeen < oldest) {
      oldest = e.lastSeen;
      oldestKey = k;
    }
  }
  if (oldestKey !== undefined) state.events.delete(oldestKey);
}

function nodeOrder(a: NodeInfo, b: NodeInfo): number {
  if (a.role !== b.role) return a.role === 'server' ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

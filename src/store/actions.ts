/**
 * The typed actions that change the dashboard state (see store/state.ts).
 *
 * Producers:
 * - the engine dispatches its progress events AS THEY ARE (StepEvent, LogEvent, ReloadEvent
 *   are actions: `store.sink` is an EventSink), plus project/cluster/data/CA facts;
 * - the kube watches' object events (kube/watch.ts, pods already mapped to their project
 *   services) become node, service, pod and event upserts/deletes in kube-feed.ts;
 * - the dashboard dispatches ui actions from the keyboard.
 * Actions carry their own times (epoch ms) so the reducer never reads the clock.
 */
import type { ProgressEvent } from '../events.ts';
import type {
  CaStatus,
  DataService,
  Endpoint,
  Focus,
  KubeEvent,
  NodeInfo,
  PodInfo,
  ServiceState,
  UpPhase,
} from './state.ts';

export type ProjectAction = {
  type: 'project/set';
  project: string;
  cluster?: { name: string; context: string };
};
export type NodeAction = { type: 'node/upsert'; node: NodeInfo } | { type: 'node/delete'; name: string };
export type DataAction = { type: 'data/upsert'; service: DataService };
export type CaAction = { type: 'ca/set'; status: CaStatus; detail?: string };
/**
 * A workload summary: `name` identifies the service; other fields present replace the stored
 * ones (a partial update), absent fields keep their value (defaults on first sight).
 */
export type ServiceAction =
  | { type: 'service/upsert'; service: Pick<ServiceState, 'name'> & Partial<ServiceState> }
  | { type: 'service/delete'; name: string };
export type PodAction =
  | { type: 'pod/upsert'; pod: PodInfo }
  | { type: 'pod/delete'; namespace: string; name: string };
export type EventAction = { type: 'event/upsert'; event: KubeEvent };
/** Where `up` is (starting → ready | failed); `at` is the phase's time, `ms` the run's. */
export type UpAction = {
  type: 'up/phase';
  phase: UpPhase;
  at: number;
  ms?: number;
  error?: string;
  lines?: string[];
};
/** Where each service answers (replaces the list). */
export type EndpointsAction = { type: 'endpoints/set'; endpoints: Endpoint[] };

export type UiAction =
  /** Move the selection in the services table (wraps around). */
  | { type: 'ui/select'; move: 'next' | 'prev' }
  /** Select a service by name. */
  | { type: 'ui/select-service'; name: string }
  /** Set the log focus; 'pod' takes the pod key ("namespace/name"), default the first pod of the selection. */
  | { type: 'ui/focus'; focus: Focus; pod?: string }
  /** Enter: all -> selected service -> each of its pods -> all. */
  | { type: 'ui/focus-cycle' }
  /** Toggle (or set) pause; pausing freezes the log pane at the current last line. */
  | { type: 'ui/pause'; paused?: boolean }
  /** Scroll the log pane by rows (positive = up, into history); pauses when scrolling up. */
  | { type: 'ui/scroll'; delta: number }
  /** Set the log filter; `editing` says whether the user is still typing it. */
  | { type: 'ui/filter'; filter: string; editing: boolean }
  | { type: 'ui/help'; show?: boolean }
  | { type: 'ui/describe'; show?: boolean }
  /** Escape: close the overlay, else stop editing the filter, else focus all logs. */
  | { type: 'ui/escape' }
  | { type: 'ui/notice'; text: string; at: number; error?: boolean };

export type Action =
  | ProgressEvent
  | ProjectAction
  | NodeAction
  | DataAction
  | CaAction
  | ServiceAction
  | PodAction
  | EventAction
  | UpAction
  | EndpointsAction
  | UiAction;

/** Action creators: plain constructors, for readability at call sites. */
export const act = {
  project: (project: string, cluster?: { name: string; context: string }): ProjectAction =>
    cluster ? { type: 'project/set', project, cluster } : { type: 'project/set', project },
  node: (node: NodeInfo): NodeAction => ({ type: 'node/upsert', node }),
  nodeDelete: (name: string): NodeAction => ({ type: 'node/delete', name }),
  data: (service: DataService): DataAction => ({ type: 'data/upsert', service }),
  ca: (status: CaStatus, detail?: string): CaAction =>
    detail === undefined ? { type: 'ca/set', status } : { type: 'ca/set', status, detail },
  service: (service: Pick<ServiceState, 'name'> & Partial<ServiceState>): ServiceAction => ({
    type: 'service/upsert',
    service,
  }),
  serviceDelete: (name: string): ServiceAction => ({ type: 'service/delete', name }),
  pod: (pod: PodInfo): PodAction => ({ type: 'pod/upsert', pod }),
  podDelete: (namespace: string, name: string): PodAction => ({ type: 'pod/delete', namespace, name }),
  event: (event: KubeEvent): EventAction => ({ type: 'event/upsert', event }),
  up: (
    phase: UpPhase,
    at: number,
    more: { ms?: number; error?: string; lines?: string[] } = {},
  ): UpAction => ({
    type: 'up/phase',
    phase,
    at,
    ...more,
  }),
  endpoints: (endpoints: Endpoint[]): EndpointsAction => ({ type: 'endpoints/set', endpoints }),
} as const;

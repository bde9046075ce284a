/**
 * The store: holds the dashboard state, applies actions through the reducer, and tells
 * subscribers that something changed.
 *
 * Contract: `dispatch` is synchronous and O(1) for log lines; subscribers are called after
 * each action and must stay cheap (the dashboard only schedules a throttled redraw).
 * `sink` is an EventSink, so the engine reports straight into the store:
 *   runUp({ sink: store.sink })  // StepEvent | LogEvent | ReloadEvent, dispatched as they are
 */
import type { EventSink } from '../events.ts';
import type { Action } from './actions.ts';
import { reduce } from './reducer.ts';
import { initialState, type State } from './state.ts';

export type Listener = (action: Action) => void;

export interface Store {
  /** The live state. Read it; never mutate it (dispatch an action instead). */
  getState(): State;
  dispatch(action: Action): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void;
  /** The engine's EventSink: dispatches each progress event as an action. */
  readonly sink: EventSink;
}

export function createStore(
  opts: { project?: string; logCapacity?: number; maxEvents?: number; state?: State } = {},
): Store {
  const state = opts.state ?? initialState(opts);
  const listeners = new Set<Listener>();
  const dispatch = (action: Action): void => {
    reduce(state, action);
    for (const l of listeners) l(action);
  };
  return {
    getState: () => state,
    dispatch,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    sink: dispatch,
  };
}

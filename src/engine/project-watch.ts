/**
 * The project's live view in a store: the kube watches (kube/watch.ts, typed object
 * events, logs) fed into the store's actions (store/kube-feed.ts). Used by the dashboard
 * session and `devenv logs -f` (whose `dispatch` drops everything: it only follows logs).
 *
 * Here, above both, because the adapter knows nothing of the store and the store never
 * talks to the cluster.
 */
import { type ProjectWatch, type WatchProjectOptions, watchProject as watchObjects } from '../kube/watch.ts';
import type { Action } from '../store/actions.ts';
import { kubeFeed } from '../store/kube-feed.ts';

export type { ProjectWatch };

export interface ProjectWatchOptions extends Omit<WatchProjectOptions, 'onObject'> {
  /** Where the actions go: `store.dispatch`. */
  dispatch(action: Action): void;
}

export function watchProject(opts: ProjectWatchOptions): ProjectWatch {
  const { dispatch, ...rest } = opts;
  return watchObjects({ ...rest, onObject: kubeFeed(dispatch) });
}

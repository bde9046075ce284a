/**
 * The dashboard's side of the kube watches: each typed object event of kube/watch.ts
 * (kube/types.ts WatchEvent) as store actions. The adapter knows nothing of the store;
 * this is the one place that maps what it reports to what the dashboard shows.
 *
 * Contract of `kubeFeed(dispatch)`:
 * - Pod ADDED / MODIFIED → act.pod (podinfo.ts podToInfo, under the service the event
 *   names); DELETED → act.podDelete.
 * - Services → one act.service summary per service (podinfo.ts serviceSummary), dispatched
 *   only when it changed; a service no longer among the groups → act.serviceDelete.
 *   Configured services without workloads come as empty groups: "Not deployed".
 * - Node ADDED / MODIFIED → act.node (podinfo.ts nodeToInfo); DELETED → act.nodeDelete.
 * - Event ADDED / MODIFIED → act.event (podinfo.ts eventToKubeEvent; `now()` stands in for
 *   an event without any time); an Event deleted (expired) stays in the store until evicted.
 * Types only from kube/: the store never talks to the cluster.
 */
import type { WatchEvent } from '../kube/types.ts';
import { type Action, act } from './actions.ts';
import { eventToKubeEvent, nodeToInfo, podToInfo, serviceSummary } from './podinfo.ts';

export function kubeFeed(
  dispatch: (action: Action) => void,
  now: () => number = Date.now,
): (e: WatchEvent) => void {
  /** The summary last dispatched per service, as JSON: an unchanged one is not sent again. */
  const summaries = new Map<string, string>();
  const services = (groups: Extract<WatchEvent, { kind: 'Services' }>['workloads']) => {
    for (const [name, workloads] of groups) {
      const summary = serviceSummary(name, workloads);
      const text = JSON.stringify(summary);
      if (summaries.get(name) === text) continue;
      summaries.set(name, text);
      dispatch(act.service(summary));
    }
    for (const name of [...summaries.keys()]) {
      if (groups.has(name)) continue;
      summaries.delete(name);
      dispatch(act.serviceDelete(name));
    }
  };
  return (e) => {
    switch (e.kind) {
      case 'Pod':
        if (e.type === 'DELETED')
          dispatch(act.podDelete(e.object.metadata.namespace ?? '', e.object.metadata.name));
        else dispatch(act.pod(podToInfo(e.object, e.service)));
        return;
      case 'Services':
        services(e.workloads);
        return;
      case 'Node':
        if (e.type === 'DELETED') dispatch(act.nodeDelete(e.object.metadata.name));
        else dispatch(act.node(nodeToInfo(e.object)));
        return;
      case 'Event': {
        if (e.type === 'DELETED') return;
        const ev = eventToKubeEvent(e.object, now());
        if (ev) dispatch(act.event(ev));
        return;
      }
    }
  };
}

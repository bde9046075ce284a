import { describe, expect, it, vi } from 'vitest';
import { act } from '../../src/store/actions.ts';
import { MAX_LOG_LINE, podKey, selectedService } from '../../src/store/state.ts';
import { createStore } from '../../src/store/store.ts';

const log = (service: string, pod: string, line: string, time = 0) =>
  ({ type: 'log', service, pod, container: service, line, time }) as const;

function withServices(...names: string[]) {
  const store = createStore({ project: 'p' });
  for (const name of names) store.dispatch(act.service({ name, namespace: 'ns' }));
  return store;
}

describe('progress events', () => {
  it('tracks steps: start, progress keeps detail, done records ms; a new start forgets old errors', () => {
    const store = createStore();
    store.sink({ type: 'step', id: 'build:api', phase: 'start', detail: 'building api' });
    store.sink({ type: 'step', id: 'build:api', phase: 'progress' });
    expect(store.getState().steps.get('build:api')).toEqual({
      id: 'build:api',
      phase: 'progress',
      title: 'building api',
      detail: 'building api',
    });
    store.sink({ type: 'step', id: 'build:api', phase: 'fail', ms: 900, error: 'exit 1', lines: ['line'] });
    expect(store.getState().steps.get('build:api')).toMatchObject({
      phase: 'fail',
      ms: 900,
      error: 'exit 1',
      lines: ['line'],
    });
    store.sink({ type: 'step', id: 'build:api', phase: 'start', detail: 'again' });
    expect(store.getState().steps.get('build:api')).toEqual({
      id: 'build:api',
      phase: 'start',
      title: 'again',
      detail: 'again',
    });
    store.sink({ type: 'step', id: 'cluster', phase: 'start' });
    expect([...store.getState().steps.keys()]).toEqual(['build:api', 'cluster']);
  });

  it('keeps the start time and the last few progress lines of a step (BuildKit steps)', () => {
    const store = createStore();
    store.sink({ type: 'step', id: 'build:api', phase: 'start', detail: 'build api', time: 1000 });
    for (let i = 1; i <= 6; i++)
      store.sink({ type: 'step', id: 'build:api', phase: 'progress', detail: `#${i} step`, time: 1000 + i });
    const st = store.getState().steps.get('build:api')!;
    expect(st).toMatchObject({ title: 'build api', detail: '#6 step', startedAt: 1000 });
    expect(st.recent).toEqual(['#3 step', '#4 step', '#5 step', '#6 step']);
    store.sink({ type: 'step', id: 'build:api', phase: 'done', ms: 5 });
    expect(store.getState().steps.get('build:api')).toMatchObject({
      phase: 'done',
      title: 'build api',
      ms: 5,
    });
  });

  it('records where up is and where services answer', () => {
    const store = createStore();
    expect(store.getState().up).toEqual({ phase: 'idle' });
    store.dispatch(act.up('starting', 10));
    store.dispatch(act.up('failed', 50, { ms: 40, error: 'boom', lines: ['why'] }));
    expect(store.getState().up).toEqual({
      phase: 'failed',
      since: 50,
      ms: 40,
      error: 'boom',
      lines: ['why'],
    });
    store.dispatch(act.endpoints([{ service: 'api', kind: 'ingress', url: 'http://api.localhost' }]));
    expect(store.getState().endpoints).toEqual([
      { service: 'api', kind: 'ingress', url: 'http://api.localhost' },
    ]);
  });

  it('appends log lines with sequence numbers and cuts huge lines', () => {
    const store = createStore({ logCapacity: 3 });
    for (let i = 0; i < 5; i++) store.sink(log('api', 'api-1', `l${i}`, i));
    const logs = store.getState().logs;
    expect(logs.toArray().map((l) => [l.seq, l.line])).toEqual([
      [2, 'l2'],
      [3, 'l3'],
      [4, 'l4'],
    ]);
    store.sink(log('api', 'api-1', 'x'.repeat(MAX_LOG_LINE + 10)));
    const last = logs.at(logs.total - 1)!;
    expect(last.line.length).toBeLessThan(MAX_LOG_LINE + 40);
    expect(last.line).toMatch(/… \(10 more chars\)$/);
  });

  it('records reloads on the service (creating it if the kube layer has not yet) and its new tag', () => {
    const store = createStore();
    store.sink({
      type: 'reload',
      service: 'api',
      result: 'ok',
      timings: { buildMs: 5, totalMs: 9 },
      tag: 'p/api:dev-2',
      time: 42,
    });
    const api = store.getState().services.get('api')!;
    expect(api.lastReload).toEqual({ result: 'ok', at: 42, timings: { buildMs: 5, totalMs: 9 } });
    expect(api.imageTag).toBe('p/api:dev-2');
    store.sink({
      type: 'reload',
      service: 'api',
      result: 'failed',
      timings: { totalMs: 3 },
      error: 'boom',
      time: 50,
    });
    expect(api.lastReload).toMatchObject({ result: 'failed', error: 'boom' });
    expect(api.imageTag).toBe('p/api:dev-2');
  });
});

describe('kube and engine facts', () => {
  it('merges partial service summaries', () => {
    const store = createStore();
    store.dispatch(
      act.service({ name: 'api', namespace: 'back', desired: 2, ready: 1, status: 'Progressing' }),
    );
    store.dispatch(act.service({ name: 'api', ready: 2, status: 'Running', nodes: ['agent-0'] }));
    expect(store.getState().services.get('api')).toMatchObject({
      namespace: 'back',
      desired: 2,
      ready: 2,
      status: 'Running',
      nodes: ['agent-0'],
    });
    store.dispatch(act.serviceDelete('api'));
    expect(store.getState().services.size).toBe(0);
  });

  it('upserts and deletes pods; a deleted focused pod falls back to its service', () => {
    const store = withServices('api');
    const pod = {
      name: 'api-1',
      namespace: 'ns',
      service: 'api',
      phase: 'Running',
      ready: true,
      restarts: 0,
    } as const;
    store.dispatch(act.pod(pod));
    store.dispatch(act.pod({ ...pod, restarts: 2, ready: false, reason: 'CrashLoopBackOff' }));
    expect(store.getState().pods.get('ns/api-1')).toMatchObject({ restarts: 2, reason: 'CrashLoopBackOff' });
    store.dispatch({ type: 'ui/focus', focus: 'pod' });
    expect(store.getState().ui).toMatchObject({ focus: 'pod', focusPod: 'ns/api-1' });
    store.dispatch(act.podDelete('ns', 'api-1'));
    expect(store.getState().pods.size).toBe(0);
    expect(store.getState().ui).toMatchObject({ focus: 'service', focusPod: null });
  });

  it('keeps nodes sorted servers first; replaces by name', () => {
    const store = createStore();
    store.dispatch(act.node({ name: 'agent-1', role: 'agent', ready: true }));
    store.dispatch(act.node({ name: 'server-0', role: 'server', ready: false }));
    store.dispatch(act.node({ name: 'agent-0', role: 'agent', ready: true }));
    store.dispatch(act.node({ name: 'server-0', role: 'server', ready: true }));
    expect(store.getState().cluster.nodes).toEqual([
      { name: 'server-0', role: 'server', ready: true },
      { name: 'agent-0', role: 'agent', ready: true },
      { name: 'agent-1', role: 'agent', ready: true },
    ]);
    store.dispatch(act.nodeDelete('agent-1'));
    expect(store.getState().cluster.nodes.map((n) => n.name)).toEqual(['server-0', 'agent-0']);
  });

  it('bounds events, evicting the oldest; same uid updates in place', () => {
    const store = createStore({ maxEvents: 3 });
    for (let i = 0; i < 5; i++) {
      store.dispatch(
        act.event({
          uid: `u${i}`,
          type: 'Normal',
          reason: 'R',
          object: `pod/p${i}`,
          message: 'm',
          count: 1,
          lastSeen: i,
        }),
      );
    }
    expect([...store.getState().events.keys()].sort()).toEqual(['u2', 'u3', 'u4']);
    store.dispatch(
      act.event({
        uid: 'u2',
        type: 'Warning',
        reason: 'R',
        object: 'pod/p2',
        message: 'm',
        count: 4,
        lastSeen: 10,
      }),
    );
    expect(store.getState().events.get('u2')).toMatchObject({ type: 'Warning', count: 4 });
    // Without a uid the key is namespace/object/reason.
    const e = {
      type: 'Warning',
      reason: 'BackOff',
      object: 'pod/x',
      namespace: 'n',
      message: 'a',
      count: 1,
      lastSeen: 20,
    } as const;
    store.dispatch(act.event(e));
    store.dispatch(act.event({ ...e, count: 2, lastSeen: 21 }));
    expect(store.getState().events.get('n/pod/x/BackOff')).toMatchObject({ count: 2 });
  });

  it('sets project, cluster, data services and CA', () => {
    const store = createStore();
    store.dispatch(act.project('shop', { name: 'k3d-shop', context: 'k3d-shop' }));
    store.dispatch(act.data({ name: 'postgres', health: 'starting' }));
    store.dispatch(act.data({ name: 'postgres', health: 'healthy', endpoint: '127.0.0.1:5432' }));
    store.dispatch(act.ca('trusted'));
    const s = store.getState();
    expect(s.project).toBe('shop');
    expect(s.cluster).toMatchObject({ name: 'k3d-shop', context: 'k3d-shop' });
    expect(s.dataServices).toEqual([{ name: 'postgres', health: 'healthy', endpoint: '127.0.0.1:5432' }]);
    expect(s.ca).toEqual({ status: 'trusted' });
  });
});

describe('ui actions', () => {
  it('selects next/prev in name order, wrapping around; unknown names are ignored', () => {
    const store = withServices('front', 'api', 'chat');
    expect(selectedService(store.getState())?.name).toBe('api');
    store.dispatch({ type: 'ui/select', move: 'next' });
    expect(store.getState().ui.selected).toBe('chat');
    store.dispatch({ type: 'ui/select', move: 'next' });
    store.dispatch({ type: 'ui/select', move: 'next' });
    expect(store.getState().ui.selected).toBe('api');
    store.dispatch({ type: 'ui/select', move: 'prev' });
    expect(store.getState().ui.selected).toBe('front');
    store.dispatch({ type: 'ui/select-service', name: 'nope' });
    expect(store.getState().ui.selected).toBe('front');
    store.dispatch(act.serviceDelete('front'));
    expect(selectedService(store.getState())?.name).toBe('api');
  });

  it('Enter cycles the log focus: all -> service -> each pod -> all', () => {
    const store = withServices('api');
    for (const name of ['api-b', 'api-a']) {
      store.dispatch(
        act.pod({ name, namespace: 'ns', service: 'api', phase: 'Running', ready: true, restarts: 0 }),
      );
    }
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      store.dispatch({ type: 'ui/focus-cycle' });
      const ui = store.getState().ui;
      seen.push(ui.focus === 'pod' ? ui.focusPod! : ui.focus);
    }
    expect(seen).toEqual(['service', 'ns/api-a', 'ns/api-b', 'all']);
  });

  it('changing the selection while a pod is focused follows the new service', () => {
    const store = withServices('api', 'chat');
    store.dispatch(
      act.pod({ name: 'api-a', namespace: 'ns', service: 'api', phase: 'Running', ready: true, restarts: 0 }),
    );
    store.dispatch({ type: 'ui/focus', focus: 'pod', pod: podKey({ namespace: 'ns', name: 'api-a' }) });
    store.dispatch({ type: 'ui/select', move: 'next' });
    expect(store.getState().ui).toMatchObject({ selected: 'chat', focus: 'service', focusPod: null });
  });

  it('pause freezes at the current last line; scrolling up pauses; resuming resets the scroll', () => {
    const store = createStore();
    for (let i = 0; i < 4; i++) store.sink(log('a', 'a-1', `${i}`));
    store.dispatch({ type: 'ui/pause' });
    expect(store.getState().ui).toMatchObject({ paused: true, pausedSeq: 4 });
    store.sink(log('a', 'a-1', 'later'));
    expect(store.getState().ui.pausedSeq).toBe(4);
    store.dispatch({ type: 'ui/pause' });
    expect(store.getState().ui.paused).toBe(false);
    store.dispatch({ type: 'ui/scroll', delta: 3 });
    expect(store.getState().ui).toMatchObject({ paused: true, pausedSeq: 5, scroll: 3 });
    store.dispatch({ type: 'ui/scroll', delta: -10 });
    expect(store.getState().ui.scroll).toBe(0);
    store.dispatch({ type: 'ui/pause', paused: false });
    expect(store.getState().ui).toMatchObject({ paused: false, scroll: 0 });
  });

  it('help and describe are exclusive; Escape unwinds overlay, filter, pause, focus in that order', () => {
    const store = withServices('api');
    store.dispatch({ type: 'ui/focus', focus: 'service' });
    store.dispatch({ type: 'ui/pause' });
    store.dispatch({ type: 'ui/filter', filter: 'err', editing: false });
    store.dispatch({ type: 'ui/describe' });
    store.dispatch({ type: 'ui/help' });
    expect(store.getState().ui).toMatchObject({ showHelp: true, describe: false });
    const steps: string[] = [];
    for (let i = 0; i < 4; i++) {
      store.dispatch({ type: 'ui/escape' });
      const ui = store.getState().ui;
      steps.push(`${ui.showHelp}/${ui.filter}/${ui.paused}/${ui.focus}`);
    }
    expect(steps).toEqual([
      'false/err/true/service',
      'false//true/service',
      'false//false/service',
      'false//false/all',
    ]);
  });

  it('notices carry their own time', () => {
    const store = createStore();
    store.dispatch({ type: 'ui/notice', text: 'hi', at: 5, error: true });
    expect(store.getState().ui.notice).toEqual({ text: 'hi', at: 5, error: true });
  });
});

describe('store', () => {
  it('notifies subscribers after each action until they unsubscribe', () => {
    const store = createStore();
    const fn = vi.fn();
    const off = store.subscribe(fn);
    store.sink(log('a', 'a-1', 'x'));
    store.dispatch({ type: 'ui/help' });
    expect(fn).toHaveBeenCalledTimes(2);
    expect(fn.mock.calls[1]![0]).toEqual({ type: 'ui/help' });
    off();
    store.dispatch({ type: 'ui/help' });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('is deterministic: the same actions give the same state', () => {
    const run = () => {
      const s = withServices('b', 'a');
      s.sink(log('a', 'a-1', 'x', 1));
      s.dispatch({ type: 'ui/select', move: 'next' });
      s.dispatch({ type: 'ui/pause' });
      const st = s.getState();
      return JSON.stringify({
        ...st,
        logs: st.logs.toArray(),
        services: [...st.services],
        steps: [...st.steps],
      });
    };
    expect(run()).toBe(run());
  });
});

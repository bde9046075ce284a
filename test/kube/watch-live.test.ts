// The dashboard's live data on the REAL test cluster (API server + kubelet): watchProject
// fills a store from watches of pods, workloads, events and nodes, and follows container
// logs. Measured here:
//   - a crash-looping container shows CrashLoopBackOff and its restart count in the store
//     within 2 s of an independent watch (a raw HTTP watch through src/kube/client.ts, not
//     client-node) seeing the same status;
//   - logs of a running pod arrive as LogEvents (service, pod, container, line, time);
//   - watches and log streams that lose their connection (every TCP connection through a
//     local proxy is cut, and new ones refused for a while) reconnect: later changes still
//     arrive, and the log resumes with no line lost or repeated;
//   - a rollout restart (src/kube/restart.ts) replaces the pods, seen through the watch.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type ProjectWatch, watchProject } from '../../src/engine/project-watch.ts';
import { reconcile } from '../../src/kube/apply.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { deleteNamespace } from '../../src/kube/namespaces.ts';
import { restartWorkloads } from '../../src/kube/restart.ts';
import type { PodJson } from '../../src/kube/types.ts';
import { ownerLabels, ownerSelector, type RenderedObject } from '../../src/manifests/types.ts';
import type { LogLine } from '../../src/store/state.ts';
import { createStore, type Store } from '../../src/store/store.ts';
import {
  newRunId,
  pushBaseImageAs,
  renderText,
  WATCH_IMAGE,
  WATCH_IMAGES,
  watchDeployment,
} from '../support/kube.ts';
import { until } from '../support/poll.ts';

const kubeconfig = inject('kubeconfig');
const image = WATCH_IMAGE;

const runId = newRunId();
const project = `watch-${runId}`;
const ns = `devenv-watch-${runId}`;
const services = [
  { name: 'api', manifests: ['k8s/api'] },
  { name: 'web', manifests: ['k8s/web'] },
];

const render = (file: string, text: string): RenderedObject[] =>
  renderText(text, file, { project, namespace: ns, images: WATCH_IMAGES });

const apiObjects = () => render('k8s/api/deploy.yaml', watchDeployment('crasher', 'echo boom; exit 1'));
const webObjects = () =>
  render(
    'k8s/web/deploy.yaml',
    watchDeployment('talker', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'),
  );

const waitFor = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> =>
  until(what, fn, { timeoutMs, intervalMs: 50, accept: (v) => Boolean(v) }) as Promise<T>;

/** Tick numbers of the talker's log lines in the store, in arrival order. */
function ticks(lines: readonly LogLine[], pod?: string): number[] {
  return lines
    .filter((l) => l.service === 'web' && (!pod || l.pod === pod))
    .map((l) => /^tick (\d+)$/.exec(l.line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

/** A TCP proxy in front of the API server whose connections the test can cut. */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let refuseUntil = 0;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size / 2;
    },
    /** Cuts every connection and refuses new ones for `ms`. */
    cut(ms: number) {
      refuseUntil = Date.now() + ms;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe.skipIf(!kubeconfig)('live dashboard data from watches on the real test cluster', () => {
  let client: KubeClient;
  let store: Store;
  let watch: ProjectWatch;
  let tmp: string;

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string });
    pushBaseImageAs(image);
    tmp = await mkdtemp(join(tmpdir(), 'devenv-watch-test-'));
    await reconcile({
      client,
      objects: [...apiObjects(), ...webObjects()],
      project,
      env: 'dev',
      prune: false,
    });
    store = createStore({ project });
    watch = watchProject({
      client,
      project,
      env: 'dev',
      services,
      dispatch: store.dispatch,
      onLog: store.sink,
      logs: { tailLines: -1 },
    });
    await watch.synced;
  }, 300_000);

  afterAll(async () => {
    await watch?.stop();
    if (client) await deleteNamespace(client, ns, { project, env: 'dev' }).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('shows CrashLoopBackOff and the restart count within 2 s of the API reporting it', async () => {
    // The independent observer: a raw watch=true stream, parsed here.
    const seenByApi = new Map<number, number>(); // restarts -> first time seen in CrashLoopBackOff
    const seenByStore = new Map<number, number>();
    const unsubscribe = store.subscribe(() => {
      for (const p of store.getState().pods.values()) {
        if (p.service === 'api' && p.reason === 'CrashLoopBackOff' && !seenByStore.has(p.restarts))
          seenByStore.set(p.restarts, performance.now());
      }
    });
    let partial = '';
    const raw = await client.stream(
      `/api/v1/namespaces/${ns}/pods`,
      { query: { watch: true, labelSelector: `${ownerSelector(project, 'dev')},app=crasher` } },
      (chunk) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          if (!l.trim()) continue;
          const pod = (JSON.parse(l) as { object: PodJson }).object;
          const c = pod.status?.containerStatuses?.[0];
          if (c?.state?.waiting?.reason === 'CrashLoopBackOff' && !seenByApi.has(c.restartCount ?? 0))
            seenByApi.set(c.restartCount ?? 0, performance.now());
        }
      },
    );
    try {
      // Two crash-loop states (restarts 1 and 2: kubelet back-off 10 s then 20 s).
      await waitFor(
        'two CrashLoopBackOff restarts seen by both',
        () => {
          const both = [...seenByApi.keys()].filter((n) => seenByStore.has(n));
          return both.length >= 2 && both;
        },
        120_000,
      );
    } finally {
      raw.stop();
      unsubscribe();
    }
    const lags = [...seenByApi]
      .filter(([n]) => seenByStore.has(n))
      .map(([n, t]) => ({ restarts: n, lagMs: Math.round(seenByStore.get(n)! - t) }));
    process.stdout.write(
      `[watch-live] CrashLoopBackOff store lag behind an independent watch: ${lags.map((l) => `restarts=${l.restarts}: ${l.lagMs} ms`).join(', ')}\n`,
    );
    for (const l of lags) expect(l.lagMs).toBeLessThan(2000);
    // The rest of the picture: service mapping, the service row, nodes, events.
    const state = store.getState();
    const crasher = [...state.pods.values()].find((p) => p.service === 'api')!;
    expect(crasher).toMatchObject({ namespace: ns, phase: 'Running', ready: false });
    expect(crasher.name).toMatch(/^crasher-/);
    expect(state.services.get('api')).toMatchObject({
      namespace: ns,
      desired: 1,
      ready: 0,
      imageTag: 'bookworm',
    });
    expect(state.services.get('web')).toMatchObject({ namespace: ns, desired: 1 });
    expect(state.cluster.nodes.length).toBeGreaterThan(0);
    await waitFor('a BackOff warning of the crashing pod', () =>
      [...store.getState().events.values()].find(
        (e) => e.type === 'Warning' && e.reason === 'BackOff' && e.object === `pod/${crasher.name}`,
      ),
    );
  });

  it('delivers the logs of running pods as LogEvents, and the crashed runs too', async () => {
    const lines = await waitFor('10 tick lines of the talker', () => {
      const l = store.getState().logs.toArray();
      return ticks(l).length >= 10 && l;
    });
    const tick = lines.find((l) => l.line === 'tick 3')!;
    expect(tick).toMatchObject({ service: 'web', container: 'app' });
    expect(tick.pod).toMatch(/^talker-/);
    expect(Math.abs(Date.now() - tick.time)).toBeLessThan(120_000);
    // In order, none lost or repeated.
    const t = ticks(lines, tick.pod);
    expect(t).toEqual(t.map((_, i) => t[0]! + i));
    // Each crashed run of the crasher said "boom" before dying.
    expect(lines.filter((l) => l.service === 'api' && l.line === 'boom').length).toBeGreaterThanOrEqual(2);
  });

  it('reconnects dropped watches and log streams; later changes still arrive', async () => {
    const server = new URL(client.server());
    const proxy = await startProxy(server);
    const cfg = parse(readFileSync(kubeconfig as string, 'utf8')) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    for (const c of cfg.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
    const proxied = join(tmp, 'kubeconfig');
    writeFileSync(proxied, stringify(cfg), { mode: 0o600 });
    const viaProxy = connect({ kubeconfig: proxied });
    const store2 = createStore({ project });
    const errors: string[] = [];
    const w2 = watchProject({
      client: viaProxy,
      project,
      env: 'dev',
      services,
      dispatch: store2.dispatch,
      onLog: store2.sink,
      logs: { tailLines: 5 },
      backoff: { initialMs: 200, maxMs: 2000 },
      onError: (what) => errors.push(what),
    });
    try {
      await w2.synced;
      const talker = await waitFor('talker ticks through the proxy', () => {
        const l = store2.getState().logs.toArray();
        return ticks(l).length >= 5 && l.find((x) => x.service === 'web')!.pod;
      });
      const before = proxy.accepted;
      const connectsBefore = w2.stats().pods!.connects;

      proxy.cut(1500);
      const cutAt = Date.now();
      // A change made while the watches are down, and one after they are back.
      const late = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'late', labels: { ...ownerLabels(project, 'dev'), app: 'late' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'app', image, command: ['sh', '-c', 'echo late pod; sleep 3600'] }],
        },
      };
      await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: late });
      await waitFor(
        'the pod created during the outage',
        () => store2.getState().pods.get(`${ns}/late`),
        30_000,
      );
      const reconnectMs = Date.now() - cutAt;
      await waitFor('the late pod running, through the reconnected watch', () =>
        store2.getState().pods.get(`${ns}/late`)?.phase === 'Running' ? true : undefined,
      );
      await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/late`, {
        query: { gracePeriodSeconds: 0 },
      });
      await waitFor('the late pod deleted', () => !store2.getState().pods.has(`${ns}/late`), 30_000);

      const stats = w2.stats();
      expect(proxy.accepted).toBeGreaterThan(before);
      expect(stats.pods!.connects).toBeGreaterThan(connectsBefore);

      // The talker's log resumed after the cut, continuing where it stopped.
      const cutTick = Math.max(...ticks(store2.getState().logs.toArray(), talker));
      await waitFor('ticks after the cut', () => {
        const t = ticks(store2.getState().logs.toArray(), talker);
        return t.length > 0 && Math.max(...t) > cutTick + 10;
      });
      const t = ticks(store2.getState().logs.toArray(), talker);
      expect(t).toEqual(t.map((_, i) => t[0]! + i)); // nothing lost, nothing repeated
      expect(w2.logs!.reconnects).toBeGreaterThan(0);
      process.stdout.write(
        `[watch-live] after cutting every connection (refused for 1.5 s): change seen ${reconnectMs} ms after the cut; ` +
          `pods watch errors=${stats.pods!.errors} connects=${stats.pods!.connects}; errors reported: ${errors.length}; log reconnects=${w2.logs!.reconnects}, ticks ${t[0]}..${t[t.length - 1]} contiguous\n`,
      );
    } finally {
      await w2.stop();
      await proxy.close();
    }
    expect(w2.logs!.open).toBe(0);
  });

  it('a rollout restart replaces the pods; the watch and the log follower move to the new pod', async () => {
    const old = [...store.getState().pods.values()].find((p) => p.service === 'web')!;
    const r = await restartWorkloads(client, webObjects());
    expect(r).toEqual({ restarted: [`Deployment ${ns}/talker`], missing: [] });
    const fresh = await waitFor(
      'a new talker pod, ready, and the old one gone',
      () => {
        const pods = [...store.getState().pods.values()].filter((p) => p.service === 'web');
        return pods.length === 1 && pods[0]!.name !== old.name && pods[0]!.ready && pods[0];
      },
      90_000,
    );
    await waitFor(
      'ticks of the new pod',
      () => ticks(store.getState().logs.toArray(), fresh.name).length >= 3,
    );

    // Safety: an object without devenv's labels is never restarted.
    const foreign = render('k8s/web/foreign.yaml', watchDeployment('foreign', 'sleep 3600'))[0]!.object;
    const unlabelled = structuredClone(foreign);
    unlabelled.metadata.labels = {};
    (unlabelled as unknown as { spec: { replicas: number } }).spec.replicas = 0;
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: unlabelled });
    await expect(restartWorkloads(client, [foreign])).rejects.toThrow(/not deployed by devenv/);
    const none = render('k8s/web/none.yaml', watchDeployment('absent', 'sleep 1'));
    expect(await restartWorkloads(client, none)).toEqual({
      restarted: [],
      missing: [`Deployment ${ns}/absent`],
    });
  });
});

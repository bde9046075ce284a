/**
 * A sample dashboard state, and a demo entry point that opens the REAL blessed dashboard
 * over it (used by the tmux test, and handy by hand):
 *
 *   node test/support/dashboard-demo.ts [--rate 20] [--no-color]
 *
 * The state is built ONLY through store actions (as the engine and the kube layer would),
 * so the golden files exercise the reducer as well as the view. `sampleStore(now)` is
 * deterministic for a given `now`. The demo feeds log lines (round-robin over the services)
 * until the user quits with q / Ctrl-C; it then exits 0 with the terminal restored.
 */
import { fileURLToPath } from 'node:url';
import type { ProgressEvent } from '../../src/events.ts';
import { act } from '../../src/store/actions.ts';
import { createStore, type Store } from '../../src/store/store.ts';

/** The fixed clock of the golden files: 2026-11-23T13:44:11Z. */
export const SAMPLE_NOW = Date.UTC(2026, 10, 23, 13, 44, 11);

const SERVICES = [
  { name: 'api', ns: 'back', pods: ['api-7d9f8c-x1k2p', 'api-7d9f8c-q8w4z'], node: ['agent-0', 'agent-1'] },
  { name: 'chat', ns: 'front-web', pods: ['chat-5c6b7d-m3n4b'], node: ['agent-1'] },
  { name: 'front', ns: 'front-web', pods: ['front-6f7a8b-k9j8h'], node: ['agent-0'] },
  { name: 'admin', ns: 'back', pods: ['admin-84c2d1-z7y6x'], node: ['server-0'] },
  { name: 'worker', ns: 'b2b', pods: ['worker-9a8b7c-p0o9i'], node: ['agent-0'] },
] as const;

export function sampleStore(now = SAMPLE_NOW, opts: { logCapacity?: number } = {}): Store {
  const store = createStore({ logCapacity: opts.logCapacity ?? 5000 });
  const d = store.dispatch;
  const min = 60_000;
  d(act.project('social', { name: 'k3d-social', context: 'k3d-social' }));
  d(act.node({ name: 'agent-1', role: 'agent', ready: true }));
  d(act.node({ name: 'server-0', role: 'server', ready: true }));
  d(act.node({ name: 'agent-0', role: 'agent', ready: true }));
  d(act.data({ name: 'mysql', health: 'healthy', endpoint: '127.0.0.1:3306' }));
  d(act.data({ name: 'minio', health: 'healthy', endpoint: '127.0.0.1:9000' }));
  d(act.ca('trusted'));
  const steps: ProgressEvent[] = [];
  for (const id of [
    'cluster',
    'database',
    'objectStore',
    'tls',
    'build:api',
    'build:chat',
    'apply',
    'rollout:api',
  ]) {
    steps.push({ type: 'step', id, phase: 'start', detail: id });
    steps.push({ type: 'step', id, phase: id === 'cluster' ? 'skip' : 'done', ms: 1200 });
  }
  for (const s of steps) store.sink(s);

  for (const s of SERVICES) {
    const crashing = s.name === 'worker';
    d(
      act.service({
        name: s.name,
        namespace: s.ns,
        desired: s.pods.length,
        ready: crashing ? 0 : s.pods.length,
        status: crashing ? 'Progressing' : 'Running',
        restarts: 0,
        createdAt: now - 2 * 3600_000,
        imageTag: `social/${s.name}:dev-3f2a1c9`,
      }),
    );
    s.pods.forEach((pod, i) => {
      d(
        act.pod({
          name: pod,
          namespace: s.ns,
          service: s.name,
          phase: 'Running',
          ready: !crashing,
          restarts: crashing ? 7 : 0,
          node: s.node[i] ?? 'agent-0',
          startedAt: now - 90 * min,
          ...(crashing ? { reason: 'CrashLoopBackOff' } : {}),
        }),
      );
    });
  }
  d(
    act.endpoints([
      { service: 'api', kind: 'ingress', url: 'http://social.localhost/api' },
      { service: 'api', kind: 'forward', url: '127.0.0.1:9229', note: 'Service back/api port debug (9229)' },
      {
        service: 'chat',
        kind: 'tls',
        url: 'wss://chat.social.localhost/',
        note: 'TLS passed through by SNI',
      },
      { service: 'chat', kind: 'tls', url: 'wss://chat.social.localhost:8443/', note: 'passthrough port' },
      { service: 'front', kind: 'ingress', url: 'http://social.localhost/' },
      { service: 'admin', kind: 'ingress', url: 'http://admin.social.localhost/' },
    ]),
  );
  store.sink({
    type: 'reload',
    service: 'api',
    result: 'ok',
    timings: { buildMs: 1200, loadMs: 400, rolloutMs: 1800, totalMs: 3400 },
    tag: 'social/api:dev-8b1e0f2',
    time: now - 2 * min,
  });
  store.sink({
    type: 'reload',
    service: 'chat',
    result: 'failed',
    timings: { buildMs: 2100, totalMs: 2100 },
    error: 'build failed: src/server.py:12: SyntaxError: invalid syntax',
    time: now - 30_000,
  });
  d(
    act.event({
      type: 'Warning',
      reason: 'BackOff',
      object: 'pod/worker-9a8b7c-p0o9i',
      namespace: 'b2b',
      message: 'Back-off restarting failed container worker in pod worker-9a8b7c-p0o9i',
      count: 7,
      lastSeen: now - 20_000,
    }),
  );
  d(
    act.event({
      type: 'Normal',
      reason: 'Pulled',
      object: 'pod/api-7d9f8c-x1k2p',
      namespace: 'back',
      message: 'Container image "social/api:dev-8b1e0f2" already present on machine',
      count: 1,
      lastSeen: now - 2 * min,
    }),
  );
  d(
    act.event({
      type: 'Warning',
      reason: 'Unhealthy',
      object: 'pod/chat-5c6b7d-m3n4b',
      namespace: 'front-web',
      message: 'Readiness probe failed: Get "https://10.42.1.7:8443/healthz": connection refused',
      count: 2,
      lastSeen: now - 5 * min,
    }),
  );
  d(
    act.event({
      type: 'Normal',
      reason: 'Scheduled',
      object: 'pod/front-6f7a8b-k9j8h',
      namespace: 'front-web',
      message: 'Successfully assigned front-web/front-6f7a8b-k9j8h to agent-0',
      count: 1,
      lastSeen: now - 90 * min,
    }),
  );

  const lines: Array<[string, number, string]> = [
    ['api', 0, 'GET /healthz 200 0.4ms'],
    ['front', 0, 'compiled client bundle in 812 ms'],
    ['api', 1, '{"level":"info","msg":"connected to mysql","host":"host.k3d.internal:3306"}'],
    ['chat', 0, '\u001b[32mINFO\u001b[0m wss listening on :8443 (tls)'],
    [
      'worker',
      0,
      'Traceback (most recent call last): File "/app/worker.py", line 3, in <module> import missing_module',
    ],
    ['worker', 0, "ModuleNotFoundError: No module named 'missing_module'"],
    ['admin', 0, 'db url mysql://admin:hunter2@host.k3d.internal:3306/social password=hunter2'],
    [
      'api',
      0,
      'POST /v1/uploads 201 23ms bucket=uploads key=2026/11/23/avatar-0001.png size=48213 content-type=image/png user=42 trace=7f3a9c1e2b4d',
    ],
    ['front', 0, 'GET / 200 3ms'],
    ['api', 1, 'GET /v1/posts?page=2 200 11ms'],
    ['chat', 0, 'client connected from 10.42.0.1 (2 online)'],
    ['api', 0, 'GET /healthz 200 0.3ms'],
  ];
  lines.forEach(([svc, podIndex, line], i) => {
    const s = SERVICES.find((x) => x.name === svc)!;
    store.sink({
      type: 'log',
      service: svc,
      pod: s.pods[podIndex] ?? s.pods[0],
      container: svc,
      line,
      time: now - (lines.length - i) * 1000,
    });
  });
  return store;
}

/** Demo traffic: one line per tick, round-robin over services and pods. */
export function demoLine(n: number, now: number): ProgressEvent {
  const s = SERVICES[n % SERVICES.length]!;
  const pod = s.pods[Math.floor(n / SERVICES.length) % s.pods.length]!;
  return {
    type: 'log',
    service: s.name,
    pod,
    container: s.name,
    line: `demo ${s.name} line ${n}`,
    time: now,
  };
}

async function main(argv: string[]): Promise<number> {
  const rateArg = argv.indexOf('--rate');
  const rate = rateArg >= 0 ? Number(argv[rateArg + 1]) : 20;
  const { startDashboard } = await import('../../src/tui/dashboard.ts');
  const store = sampleStore(Date.now());
  let n = 0;
  const feeder = setInterval(() => store.sink(demoLine(n++, Date.now())), 1000 / Math.max(1, rate));
  return new Promise<number>((resolve) => {
    void startDashboard(store, {
      ...(argv.includes('--no-color') ? { color: false } : {}),
      onReload: (svc) =>
        store.dispatch({ type: 'ui/notice', text: `demo: reload requested for ${svc}`, at: Date.now() }),
      onRestart: (svc) => Promise.reject(new Error(`demo cannot restart ${svc}`)),
      onQuit: () => {
        clearInterval(feeder);
        process.stdout.write('devenv demo: dashboard closed, environment left running\n');
        resolve(0);
      },
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

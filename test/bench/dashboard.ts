/**
 * Dashboard benchmark: 300 pods and 2,000 log lines/s for 10 s through the REAL store and
 * the REAL `stateToView` renderer, redrawn through the same throttle as the dashboard (at
 * most 10 fps, 160x48, colour tags on), headless: frames are built but written nowhere.
 *
 *   node test/bench/dashboard.ts [--seconds 10] [--rate 2000] [--pods 300] [--fps 10]
 *                                [--services N] [--namespaces N] [--filter TEXT] [--focus SERVICE]
 *
 * Pods are dealt round-robin to the services (default: six pods a service), the services
 * to the namespaces (back, b2b, front-web, ops, …).
 *
 * Reports CPU % of one core (process.cpuUsage over the measured window), peak RSS
 * (process.memoryUsage), render times, and lines dropped from the log window: every line
 * pushed within the window's capacity must still be retrievable (must be 0). Exits 1 when a
 * goal is missed: CPU < 15 % of one core, RSS < 150 MB, 0 dropped.
 */
import { parseArgs } from 'node:util';
import { act } from '../../src/store/actions.ts';
import { DEFAULT_LOG_CAPACITY } from '../../src/store/state.ts';
import { createStore } from '../../src/store/store.ts';
import { throttle } from '../../src/tui/throttle.ts';
import { stateToView } from '../../src/tui/view.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    pods: { type: 'string', default: '300' },
    services: { type: 'string' },
    namespaces: { type: 'string', default: '3' },
    fps: { type: 'string', default: '10' },
    width: { type: 'string', default: '160' },
    height: { type: 'string', default: '48' },
    filter: { type: 'string' },
    focus: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const PODS = Number(values.pods);
const FPS = Number(values.fps);
const WIDTH = Number(values.width);
const HEIGHT = Number(values.height);
const GOAL_CPU = 15;
const GOAL_RSS_MB = 150;
const PODS_PER_SERVICE = 6;
const SERVICES = Math.max(1, values.services ? Number(values.services) : Math.ceil(PODS / PODS_PER_SERVICE));
const AREAS = ['back', 'b2b', 'front-web', 'ops', 'data', 'edge'];
const NAMESPACES = AREAS.slice(0, Math.max(1, Math.min(AREAS.length, Number(values.namespaces))));
const nsOf = (s: number) => NAMESPACES[s % NAMESPACES.length]!;
/** Pods of service s: pods are dealt round-robin. */
const podsOf = (s: number) => (s < PODS ? Math.floor((PODS - 1 - s) / SERVICES) + 1 : 0);

const store = createStore({ project: 'bench' });
const d = store.dispatch;
const t0 = Date.now();
d(act.project('bench', { name: 'k3d-bench', context: 'k3d-bench' }));
for (const [name, role] of [
  ['server-0', 'server'],
  ['agent-0', 'agent'],
  ['agent-1', 'agent'],
] as const) {
  d(act.node({ name, role, ready: true }));
}
d(act.data({ name: 'postgres', health: 'healthy', endpoint: '127.0.0.1:5432' }));
d(act.data({ name: 'minio', health: 'healthy', endpoint: '127.0.0.1:9000' }));
d(act.ca('trusted'));
const svcName = (i: number) => `svc-${String(i).padStart(2, '0')}`;
const pods: Array<{ name: string; service: string; ns: string }> = [];
for (let s = 0; s < SERVICES; s++) {
  d(
    act.service({
      name: svcName(s),
      namespace: nsOf(s),
      desired: podsOf(s),
      ready: podsOf(s),
      status: 'Running',
      createdAt: t0 - 3600_000,
      imageTag: `bench/${svcName(s)}:dev-0`,
    }),
  );
}
for (let p = 0; p < PODS; p++) {
  const s = p % SERVICES;
  const pod = {
    name: `${svcName(s)}-7d9f8c-${String(p).padStart(5, '0')}`,
    service: svcName(s),
    ns: nsOf(s),
  };
  pods.push(pod);
  d(
    act.pod({
      name: pod.name,
      namespace: pod.ns,
      service: pod.service,
      phase: 'Running',
      ready: true,
      restarts: 0,
      node: `agent-${p % 2}`,
      startedAt: t0 - 600_000,
    }),
  );
}
if (values.focus) {
  d({ type: 'ui/select-service', name: values.focus });
  d({ type: 'ui/focus', focus: 'service' });
}
if (values.filter) d({ type: 'ui/filter', filter: values.filter, editing: false });

// Log lines: realistic lengths, some coloured, some long enough to wrap. Each carries its
// sequence number ("#123") so the window check can prove nothing in it was lost.
let pushed = 0;
const pushLine = () => {
  const seq = pushed++;
  const pod = pods[seq % pods.length]!;
  let line: string;
  switch (seq % 10) {
    case 0:
      line = `\u001b[32mINFO\u001b[0m #${seq} request handled method=GET path=/v1/items/${seq % 977} status=200 duration_ms=${seq % 50}`;
      break;
    case 1:
      line = `{"level":"info","seq":"#${seq}","msg":"upload stored","bucket":"uploads","key":"2026/11/23/${seq}.png","size":${seq * 7}}`;
      break;
    case 2:
      line = `#${seq} ${'long payload '.repeat(25)}`;
      break;
    default:
      line = `#${seq} GET /healthz 200 0.${seq % 10}ms`;
  }
  store.sink({
    type: 'log',
    service: pod.service,
    pod: pod.name,
    container: pod.service,
    line,
    time: Date.now(),
  });
};

// Headless dashboard: the real view at the real cadence; frames are built, not written.
let frames = 0;
let chars = 0;
const renderMs: number[] = [];
const draw = () => {
  const r0 = performance.now();
  const view = stateToView(store.getState(), { width: WIDTH, height: HEIGHT, now: Date.now(), color: true });
  for (const pane of view.panes) chars += pane.lines.join('\n').length;
  renderMs.push(performance.now() - r0);
  frames++;
};
const redraws = throttle(draw, 1000 / FPS);
store.subscribe(() => redraws.schedule());
const ticker = setInterval(() => redraws.schedule(), 1000);

// Pre-fill the window so the measured run scans a full buffer from its first frame.
for (let i = 0; i < DEFAULT_LOG_CAPACITY; i++) pushLine();
const prefilled = pushed;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await sleep(200);
frames = 0;
renderMs.length = 0;

let rssMax = process.memoryUsage().rss;
let heapMax = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  rssMax = Math.max(rssMax, m.rss);
  heapMax = Math.max(heapMax, m.heapUsed);
}, 250);

const cpu0 = process.cpuUsage();
const w0 = performance.now();
const target = RATE * SECONDS;
let churn = 0;
await new Promise<void>((resolve) => {
  const feeder = setInterval(() => {
    const elapsed = performance.now() - w0;
    // Keep the exact average rate whatever the timer jitter.
    const due = Math.min(target, Math.floor((elapsed / 1000) * RATE));
    while (pushed - prefilled < due) pushLine();
    // Pod churn: a pod restarts now and then; events arrive.
    if (elapsed / 100 > churn) {
      churn++;
      const pod = pods[churn % pods.length]!;
      d(
        act.pod({
          name: pod.name,
          namespace: pod.ns,
          service: pod.service,
          phase: 'Running',
          ready: churn % 7 !== 0,
          restarts: churn,
          node: 'agent-0',
          ...(churn % 7 === 0 ? { reason: 'CrashLoopBackOff' } : {}),
        }),
      );
      d(
        act.event({
          type: churn % 3 === 0 ? 'Warning' : 'Normal',
          reason: 'BackOff',
          object: `pod/${pod.name}`,
          namespace: pod.ns,
          message: 'Back-off restarting failed container',
          count: churn,
          lastSeen: Date.now(),
        }),
      );
    }
    if (pushed - prefilled >= target) {
      clearInterval(feeder);
      resolve();
    }
  }, 10);
});
const wallMs = performance.now() - w0;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
clearInterval(ticker);
redraws.cancel();

// Window check: every line within the window's capacity is retrievable, in order.
const logs = store.getState().logs;
const window = Math.min(pushed, logs.capacity);
let dropped = 0;
for (let seq = pushed - window; seq < pushed; seq++) {
  const l = logs.at(seq);
  if (!l || l.seq !== seq || (!l.line.includes(`#${seq} `) && !l.line.includes(`"#${seq}"`))) dropped++;
}

const cpuMs = (cpu.user + cpu.system) / 1000;
const cpuPct = (cpuMs / wallMs) * 100;
const sorted = [...renderMs].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const avg = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
const measured = pushed - prefilled;
const ok = cpuPct < GOAL_CPU && rssMax / 1024 / 1024 < GOAL_RSS_MB && dropped === 0;

const out = [
  `dashboard bench: ${PODS} pods in ${SERVICES} services, ${RATE} log lines/s for ${SECONDS} s, redraw <= ${FPS} fps at ${WIDTH}x${HEIGHT}` +
    `${values.focus ? `, focus ${values.focus}` : ''}${values.filter ? `, filter "${values.filter}"` : ''}`,
  `node ${process.version}, ${process.platform}/${process.arch}`,
  `lines: ${measured} in ${(wallMs / 1000).toFixed(2)} s (${Math.round(measured / (wallMs / 1000))}/s), window ${logs.capacity}, dropped from window ${dropped}`,
  `frames: ${frames} (${(frames / (wallMs / 1000)).toFixed(1)} fps), render avg ${avg.toFixed(2)} ms, p50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(2)} ms`,
  `cpu: ${cpuPct.toFixed(1)} % of one core (user ${Math.round(cpu.user / 1000)} ms, system ${Math.round(cpu.system / 1000)} ms) [goal < ${GOAL_CPU} %]`,
  `memory: rss max ${mb(rssMax)} MB, heap max ${mb(heapMax)} MB [goal rss < ${GOAL_RSS_MB} MB]`,
  `result: ${ok ? 'PASS' : 'FAIL'}`,
];
process.stdout.write(`${out.join('\n')}\n`);
void chars;
process.exitCode = ok ? 0 : 1;

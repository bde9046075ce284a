/**
 * `devenv up`'s dashboard session (src/tui/session.ts, the code `up`
 * runs) driven by the scripted event stream of a cold up of the social fixture
 * (test/support/up-script.ts) through the REAL blessed screen: the tmux test's stand-in for
 * a cold up where the unit tier has no Docker engine or cluster.
 *
 *   node test/support/up-demo.ts [--fail] [--speed 1]
 *
 * Without --fail the script ends as the watches would report it (pods Running, log lines)
 * and up's endpoints, then `ready`; with --fail chat's build fails and the session shows
 * it until q. After q the terminal is restored and the time from the process start to the
 * first frame is printed; exit 0 (ready), 1 (failed) or 130 (quit while starting).
 */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { DevenvError } from '../../src/errors.ts';
import { act } from '../../src/store/actions.ts';
import { openDashboardSession } from '../../src/tui/session.ts';
import { SOCIAL_SERVICES, upScript } from './up-script.ts';

const argv = process.argv.slice(2);
const fail = argv.includes('--fail');
const speedArg = argv.indexOf('--speed');
const speed = speedArg >= 0 ? Number(argv[speedArg + 1]) : 1;

const loaded = loadConfig(join(import.meta.dirname, '..', '..', 'fixtures', 'social', 'devenv.yaml'));
const session = await openDashboardSession({ loaded });
const t0 = performance.now();
let settled = false;
const report = () =>
  process.stdout.write(`up-demo: first frame ${session.firstFrameMs} ms after the process started\n`);
void session.closed.then(() => {
  if (settled) return;
  report();
  process.stdout.write('up-demo: quit while starting\n');
  process.exit(130);
});

const script = upScript({ fail });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
for (const { at, action } of script) {
  const wait = at / speed - (performance.now() - t0);
  if (wait > 0) await sleep(wait);
  if (action.type === 'step') session.sink(action);
  else session.store.dispatch(action);
}

const d = session.store.dispatch;
if (fail) {
  const last = script.at(-1)!.action as { error?: string; lines?: string[] };
  settled = true;
  session.failed(
    new DevenvError(last.error ?? 'failed', { details: last.lines ?? [] }),
    Math.round(performance.now() - t0),
  );
  await session.closed;
  report();
  process.stdout.write(`devenv: ${last.error}\n`);
  process.exit(1);
}

// What the watches report once the rollouts ran, and what up knows at its end.
await sleep(300 / speed);
for (const [i, name] of SOCIAL_SERVICES.entries()) {
  const pod = `${name}-5d8f7c-${'abcde'[i]}x${i}z9`;
  d(
    act.service({
      name,
      namespace: 'social',
      desired: 1,
      ready: 1,
      status: 'Running',
      restarts: 0,
      createdAt: Date.now(),
    }),
  );
  d(
    act.pod({
      name: pod,
      namespace: 'social',
      service: name,
      phase: 'Running',
      ready: true,
      restarts: 0,
      node: 'k3d-social-agent-0',
      startedAt: Date.now(),
    }),
  );
  session.sink({
    type: 'log',
    service: name,
    pod,
    container: name,
    line: `${name} listening`,
    time: Date.now(),
  });
}
for (const id of ['rollout:social/web', 'rollout:social/api'])
  session.sink({ type: 'step', id, phase: 'done', ms: 900 });
d(
  act.endpoints([
    { service: 'web', kind: 'ingress', url: 'http://social.localhost/' },
    { service: 'api', kind: 'ingress', url: 'http://social.localhost/api' },
    { service: 'chat', kind: 'tls', url: 'wss://chat.social.localhost/', note: 'TLS passed through by SNI' },
  ]),
);
settled = true;
d(act.up('ready', Date.now(), { ms: Math.round(performance.now() - t0) }));
d({ type: 'ui/notice', text: 'devenv is up (scripted)', at: Date.now() });
await session.closed;
report();
process.stdout.write('up-demo: dashboard closed, environment left running\n');
process.exit(0);

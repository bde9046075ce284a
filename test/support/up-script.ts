/**
 * A scripted cold `devenv up` of the social fixture, as the engine reports it: the same
 * step ids, details and BuildKit progress lines (`#N [i/n] ...`, docker/buildkit-progress.ts)
 * that up.ts, data/, build/builder.ts, deploy.ts and kube/rollout.ts emit, at the times a
 * cold run takes them (scaled down). Used by the "starting" goldens (tui-view.test.ts, at a
 * fixed clock) and by test/support/up-demo.ts (the real blessed dashboard, in tmux).
 */
import type { ProgressEvent } from '../../src/events.ts';
import { type Action, act } from '../../src/store/actions.ts';
import { createStore, type Store } from '../../src/store/store.ts';

export interface Scripted {
  /** ms after up started. */
  at: number;
  action: Action;
}

const step = (
  at: number,
  id: string,
  phase: 'start' | 'progress' | 'done' | 'skip' | 'fail',
  more: Partial<Extract<ProgressEvent, { type: 'step' }>> = {},
): Scripted => ({ at, action: { type: 'step', id, phase, ...more } });

const build = (at: number, service: string, took: number, lines: string[]): Scripted[] => [
  step(at, `build:${service}`, 'start', { detail: `build ${service}` }),
  ...lines.map((l, i) =>
    step(at + Math.round(((i + 1) * took) / (lines.length + 1)), `build:${service}`, 'progress', {
      detail: l,
    }),
  ),
];

/** The services of the social fixture, in devenv.yaml order. */
export const SOCIAL_SERVICES = ['web', 'api', 'chat', 'admin', 'dbpanel'] as const;

/** Up to the end of the builds; `fail` ends with chat's build failing, else the deploy follows. */
export function upScript(opts: { fail?: boolean } = {}): Scripted[] {
  const s: Scripted[] = [
    step(0, 'preflight', 'start', { detail: 'images and tools' }),
    step(350, 'preflight', 'done', { ms: 350 }),
    step(400, 'network', 'start', { detail: 'docker network k3d-social' }),
    step(450, 'network', 'done', { ms: 50 }),
    step(460, 'cluster', 'start', { detail: 'k3d cluster social' }),
    step(470, 'database', 'start', { detail: 'mysql 8.4: checking' }),
    step(480, 'objectStore', 'start', { detail: 'minio: checking' }),
    step(900, 'database', 'progress', { detail: 'creating container devenv-social-mysql' }),
    step(1000, 'objectStore', 'progress', { detail: 'creating container devenv-social-minio' }),
    ...build(500, 'web', 2400, [
      '#1 [internal] load build definition from Dockerfile',
      '#5 [1/3] FROM docker.io/library/python:3.12-slim',
      '#5 CACHED',
      '#6 [2/3] COPY . /app',
      '#6 DONE 0.1s',
      '#7 [3/3] RUN python -m compileall -q /app',
      '#7 DONE 0.6s',
    ]),
    step(2500, 'objectStore', 'done', { ms: 2020 }),
    step(2900, 'build:web', 'done', { ms: 2400 }),
    step(2910, 'load:web', 'start', { detail: 'push k3d-social-registry:5111/social/web:dev-41c9e2a' }),
    ...build(2920, 'api', 3000, [
      '#1 [internal] load build definition from Dockerfile',
      '#6 [2/4] COPY requirements.txt /app/',
      '#7 [3/4] RUN pip install --no-index -r /app/requirements.txt',
      '#7 0.912 Processing ./wheels/flask-3.0.3-py3-none-any.whl',
      '#7 1.204 Installing collected packages: flask, pymysql, boto3',
    ]),
    step(3300, 'database', 'progress', { detail: 'waiting until mysql answers' }),
    step(4800, 'database', 'done', { ms: 4330 }),
  ];
  if (opts.fail) {
    s.push(
      step(5920, 'build:api', 'done', { ms: 3000 }),
      ...build(5930, 'chat', 800, ['#6 [2/3] COPY . /app', '#7 [3/3] RUN python -m compileall -q /app']),
      step(6800, 'build:chat', 'fail', {
        ms: 870,
        error: 'build chat: the command "/bin/sh -c python -m compileall -q /app" returned exit code 1',
        lines: [
          "#7 0.41 *** Error compiling '/app/server.py'...",
          '#7 0.41 SyntaxError: invalid syntax (server.py, line 12)',
        ],
      }),
    );
    return s;
  }
  s.push(
    step(5920, 'build:api', 'done', { ms: 3000 }),
    step(6500, 'cluster', 'done', { ms: 6040 }),
    step(6510, 'registry', 'start', { detail: 'registry k3d-social-registry:5111' }),
    step(6700, 'registry', 'done', { ms: 190 }),
    step(7100, 'load:web', 'done', { ms: 4190 }),
    step(7110, 'load:api', 'start', { detail: 'push k3d-social-registry:5111/social/api:dev-8b1e0f2' }),
    step(7600, 'load:api', 'done', { ms: 490 }),
    step(7610, 'apply', 'start', { detail: 'apply to k3d-social' }),
    step(8400, 'apply', 'done', { ms: 790 }),
    step(8410, 'rollout:social/web', 'start', { detail: 'waiting for deployment social/web' }),
    step(8410, 'rollout:social/api', 'start', { detail: 'waiting for deployment social/api' }),
  );
  return s;
}

/** The store of a `devenv up` at `offset` ms into the script, as the dashboard session builds it. */
export function startingStore(now: number, offset: number, opts: { fail?: boolean } = {}): Store {
  const store = createStore({ project: 'social' });
  const start = now - offset;
  store.dispatch(act.up('starting', start));
  store.dispatch(act.project('social', { name: 'k3d-social', context: '' }));
  for (const name of SOCIAL_SERVICES) store.dispatch(act.service({ name }));
  for (const { at, action } of upScript(opts)) {
    if (at > offset) break;
    store.dispatch(action.type === 'step' ? { ...action, time: start + at } : action);
  }
  return store;
}

// The dashboard session of `devenv up` (src/tui/session.ts) in a real
// terminal (tmux) over the REAL test cluster: the services table, pod states and logs come
// from the watches; R restarts the selected service's Deployment through the API; r calls
// the reload callback; q leaves with the environment running.
//
// The session is started by a small script written to a temp dir: it loads the project's
// devenv.yaml and manifests as `up` does and hands runDashboardSession the result of a
// real reconcile (up() itself would need k3d and image builds, which other tiers cover).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { deleteNamespace } from '../../src/kube/namespaces.ts';
import { RESTARTED_AT } from '../../src/kube/restart.ts';
import {
  applyManifestDirs,
  newRunId,
  pushBaseImageAs,
  WATCH_IMAGE,
  WATCH_IMAGES,
  watchDeployment,
  writeManifestProject,
} from '../support/kube.ts';
import { until } from '../support/poll.ts';
import { sq, tmuxSession } from '../support/tmux.ts';

const kubeconfig = inject('kubeconfig');
const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
const root = join(import.meta.dirname, '..', '..');
const image = WATCH_IMAGE;

const runId = newRunId();
// `up` deploys into a namespace named after the project (its default namespace).
const project = `dash-${runId}`;
const socket = `devenv-dash-test-${process.pid}`;
const session = 'dash';

const { tmux, screen, keys } = tmuxSession(socket, session);

const waitFor = (what: string, ok: (s: string) => boolean, timeoutMs = 60_000): Promise<string> =>
  until(what, screen, { timeoutMs, intervalMs: 200, accept: ok });

describe.skipIf(!kubeconfig || !hasTmux)(
  'the dashboard session over live watches (tmux, real cluster)',
  () => {
    let client: KubeClient;
    let dir: string;
    let exitFile: string;
    let reloads: string;

    beforeAll(async () => {
      client = connect({ kubeconfig: kubeconfig as string });
      pushBaseImageAs(image);
      dir = await mkdtemp(join(tmpdir(), 'devenv-dash-test-'));
      exitFile = join(dir, 'exit');
      reloads = join(dir, 'reloads');
      await writeManifestProject(dir, project, client.contextName(), ['api', 'web']);
      await writeFile(
        join(dir, 'k8s', 'api', 'deploy.yaml'),
        watchDeployment('crasher', 'echo boom; exit 1'),
      );
      await writeFile(
        join(dir, 'k8s', 'web', 'deploy.yaml'),
        watchDeployment('talker', 'i=0; while true; do echo talker tick $i; i=$((i+1)); sleep 1; done'),
      );
      const { reconciled } = await applyManifestDirs(client, dir, ['k8s/api', 'k8s/web'], {
        project,
        namespace: project,
        images: WATCH_IMAGES,
      });

      const script = join(dir, 'session.ts');
      const src = (p: string) => JSON.stringify(join(root, 'src', p));
      await writeFile(
        script,
        `import { appendFileSync } from 'node:fs';
import { runDashboardSession } from ${src('tui/session.ts')};
import { loadConfig } from ${src('config/load.ts')};
import { resolveTarget } from ${src('engine/target.ts')};
import { connect } from ${src('kube/client.ts')};
import { loadManifests } from ${src('manifests/load.ts')};
const kubeconfig = ${JSON.stringify(kubeconfig)};
const loaded = loadConfig(${JSON.stringify(join(dir, 'devenv.yaml'))});
const target = resolveTarget(loaded.config, ${JSON.stringify(client.contextName())}, kubeconfig);
const client = connect({ kubeconfig, context: target.context });
const docs = new Map();
for (const s of loaded.config.services) docs.set(s.name, await loadManifests(s.manifests, { root: loaded.root }));
const result = { target, images: { 'devenv-watch-test/base': ${JSON.stringify(image)} }, reconcile: ${JSON.stringify(reconciled)}, client, docs, ms: 0 };
let sink;
await runDashboardSession({
  loaded,
  result,
  onEvent: (s) => { sink = s; },
  reload: async (service) => {
    appendFileSync(${JSON.stringify(reloads)}, 'reload ' + service + '\\n');
    sink?.({ type: 'reload', service, result: 'unchanged', timings: { totalMs: 5 }, time: Date.now() });
  },
});
process.stdout.write('dashboard closed\\n');
`,
      );
      const cmd = [
        `cd ${sq(root)}`,
        `LANG=C.UTF-8 ${sq(process.execPath)} ${sq(script)}`,
        `echo "exit=$?" > ${sq(exitFile)}`,
        'sleep 300',
      ].join('; ');
      tmux('-f', '/dev/null', '-u', 'new-session', '-d', '-s', session, '-x', '130', '-y', '40', cmd);
    }, 300_000);

    afterAll(async () => {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      if (client) await deleteNamespace(client, project, { project, env: 'dev' }).catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('shows the services, a crash loop, the node and the logs, all from the watches', async () => {
      // The crasher's "boom" is part of the wait, not a later check: the talker's lines
      // scroll it out of the pane between restarts (a CI run caught the screen in such a
      // gap); each restart of the crash loop prints it again.
      const s = await waitFor(
        'both services, the crash loop, its log and the talker logs',
        (x) =>
          /^> api\s+\S+\s+0\/1\s+CrashLoopBackOff/m.test(x) &&
          /^ {2}web\s+\S+\s+1\/1\s+Running/m.test(x) &&
          /talker tick \d+/.test(x) &&
          /^api\s+│ boom/m.test(x),
        120_000,
      );
      if (process.env.DEVENV_TEST_SHOW_SCREEN) process.stdout.write(`[watch-dashboard] the screen:\n${s}\n`);
      expect(s).toContain(`devenv · ${project}`);
      expect(s).toContain('devenv-node');
      await waitFor(
        'the BackOff warning in the events pane',
        (x) => /BackOff/.test(x) && /pod\/crasher-/.test(x),
      );
    }, 180_000);

    it('R restarts the selected service through the API; r calls the reload callback', async () => {
      keys('j');
      await waitFor('web selected', (x) => /^> web /m.test(x));
      keys('R');
      await waitFor('the restart notice', (x) => x.includes(`restarted Deployment ${project}/talker`));
      const live = await client.request<{
        spec: { template: { metadata: { annotations?: Record<string, string> } } };
      }>('GET', `/apis/apps/v1/namespaces/${project}/deployments/talker`);
      expect(live.spec.template.metadata.annotations?.[RESTARTED_AT]).toMatch(/^\d{4}-\d\d-\d\dT/);
      keys('r');
      await waitFor('the reload result', (x) => x.includes('reload requested: web') || /unchanged/.test(x));
      expect(readFileSync(reloads, 'utf8')).toBe('reload web\n');
      // The restarted pod comes up: the row is Running 1/1 again.
      await waitFor('web running again', (x) => /^> web\s+\S+\s+1\/1\s+Running/m.test(x), 90_000);
    }, 180_000);

    it('q restores the terminal and returns; the environment keeps running', async () => {
      keys('q');
      const s = await waitFor('exit', (x) => x.includes('dashboard closed') && existsSync(exitFile));
      expect(readFileSync(exitFile, 'utf8').trim()).toBe('exit=0');
      expect(s).not.toContain('─ LOGS');
      const deploy = await client.request<{ status: { readyReplicas?: number } }>(
        'GET',
        `/apis/apps/v1/namespaces/${project}/deployments/talker`,
      );
      expect(deploy.status.readyReplicas).toBe(1);
    }, 60_000);
  },
);

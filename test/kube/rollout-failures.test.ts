// Rollout waits and their diagnoses on the REAL test cluster: a crashing container (with
// its last log lines, read through the API), an image that cannot be pulled, a failing
// readiness probe, an unschedulable pod, a failed Job; plus log reading and following.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { reconcile } from '../../src/kube/apply.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { followLogs, readLogs } from '../../src/kube/logs.ts';
import { deleteNamespace } from '../../src/kube/namespaces.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import { ownerSelector, type RenderedObject } from '../../src/manifests/types.ts';
import {
  deploymentYaml,
  newRunId,
  type PushedImage,
  pushTestImage,
  PYTHON_IMAGE as pythonImage,
  TEST_REGISTRY as registry,
  renderText,
} from '../support/kube.ts';

const kubeconfig = inject('kubeconfig');

const runId = newRunId();
const project = `rollout-${runId}`;
const ns = `devenv-rollout-${runId}`;
const image = `${registry}/devenv-rollout-test/app:${runId}`;
const missingImage = `${registry}/devenv-rollout-test/does-not-exist:${runId}`;

// Crashes on purpose when CRASH is set, after saying why. (On stdout: the test cluster's
// containerd loses stderr lines now and then, even seconds before the process exits.)
const APP = `import http.server, os, sys, time
if os.environ.get("CRASH"):
    for i in range(30):
        print("boot step %d" % i, flush=True)
    print("FATAL: settings.DATABASE_URL is not set", flush=True)
    sys.exit(3)
print("app listening on 8080", flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/"
        self.send_response(200 if ok else 503)
        self.end_headers()
        self.wfile.write(b"ok\\n" if ok else b"not ready\\n")
        print("GET %s" % self.path, flush=True)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
`;

function deployment(
  name: string,
  opts: { image?: string; env?: string; probe?: string; nodeSelector?: boolean },
) {
  return deploymentYaml(name, {
    image: opts.image ?? 'devenv-rollout-test/app',
    podLines: opts.nodeSelector ? '      nodeSelector: {devenv.test/no-such-node: "true"}\n' : '',
    containerLines:
      (opts.env ? `        env: [{name: CRASH, value: "${opts.env}"}]\n` : '') +
      (opts.probe
        ? `        readinessProbe:\n          httpGet: {path: ${opts.probe}, port: 8080}\n          periodSeconds: 1\n`
        : ''),
  });
}

const render = (text: string): RenderedObject[] =>
  renderText(text, 'k8s/app.yaml', { project, namespace: ns, images: { 'devenv-rollout-test/app': image } });

async function rolloutError(
  client: KubeClient,
  objects: RenderedObject[],
  opts: { timeoutMs?: number; stuckMs?: number; onEvent?: (e: ProgressEvent) => void } = {},
) {
  await reconcile({ client, objects, project, env: 'dev', prune: false });
  const t0 = Date.now();
  try {
    await waitForRollouts({ client, objects, timeoutMs: opts.timeoutMs ?? 120_000, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(DevenvError);
    return { err: e as DevenvError, ms: Date.now() - t0 };
  }
  throw new Error('expected the rollout to fail');
}

describe.skipIf(!kubeconfig)('rollout wait and diagnosis on the real test cluster', () => {
  let client: KubeClient;
  let built: PushedImage | undefined;

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string });
    built = await pushTestImage(
      image,
      {
        'app.py': APP,
        Dockerfile: `FROM ${pythonImage}\nCOPY app.py /app.py\nUSER 65534\nCMD ["python3", "/app.py"]\n`,
      },
      'devenv-rollout-test-',
    );
  }, 300_000);

  afterAll(async () => {
    if (client) await deleteNamespace(client, ns, { project, env: 'dev' }).catch(() => undefined);
    await built?.remove();
  }, 60_000);

  it('waits for a healthy Deployment with progress events, and reads and follows its log', async () => {
    const events: ProgressEvent[] = [];
    const objects = render(deployment('healthy', { probe: '/' }));
    await reconcile({ client, objects, project, env: 'dev' });
    const r = await waitForRollouts({ client, objects, timeoutMs: 120_000, onEvent: (e) => events.push(e) });
    expect(r.ready).toEqual([`Deployment ${ns}/healthy`]);
    const mine = events.filter((e) => e.type === 'step' && e.id === `rollout:${ns}/healthy`);
    expect(mine[0]).toMatchObject({ phase: 'start' });
    expect(mine.at(-1)).toMatchObject({ phase: 'done', detail: `Deployment ${ns}/healthy ready` });

    const pods = await client.request<{ items: Array<{ metadata: { name: string } }> }>(
      'GET',
      `/api/v1/namespaces/${ns}/pods`,
      {
        query: { labelSelector: `${ownerSelector(project, 'dev')},app=healthy` },
      },
    );
    const pod = pods.items[0]!.metadata.name;
    expect(await readLogs(client, ns, pod, 'app', { tailLines: 50 })).toContain('app listening on 8080');

    const lines: string[] = [];
    const handle = await followLogs(client, ns, pod, 'app', (l) => lines.push(l), { tailLines: 0 });
    // The readiness probe hits GET / every second: new lines arrive while following.
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l === 'GET /') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    handle.stop();
    await handle.done;
    expect(lines).toContain('GET /');
  }, 180_000);

  it('reports CrashLoopBackOff with the exit code and the last log lines, well before the timeout', async () => {
    const { err, ms } = await rolloutError(client, render(deployment('crasher', { env: '1' })), {
      timeoutMs: 170_000,
    });
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(
      new RegExp(
        `^Deployment ${ns}/crasher: container "app" keeps crashing \\(CrashLoopBackOff, exit code 3, \\d+ restarts?\\)$`,
      ),
    );
    const details = err.details.join('\n');
    expect(details).toMatch(/last 20 log lines of crasher-[a-z0-9-]+\/app \(previous run\):/);
    expect(details).toContain('| FATAL: settings.DATABASE_URL is not set');
    expect(details).toContain('| boot step 29');
    expect(details).not.toContain('| boot step 10\n');
    expect(err.details.filter((l) => l.startsWith('  | '))).toHaveLength(20);
    expect(ms).toBeLessThan(150_000);
  }, 200_000);

  it('reports ImagePullBackOff with the image name', async () => {
    const { err } = await rolloutError(client, render(deployment('nopull', { image: missingImage })));
    expect(err.message).toBe(
      `Deployment ${ns}/nopull: container "app" cannot pull image "${missingImage}" (ImagePullBackOff)`,
    );
    expect(err.details.join('\n')).toMatch(/Back-off pulling image|not found|failed to pull/i);
  }, 150_000);

  it('reports a failing readiness probe at the timeout, from the pod events', async () => {
    const { err, ms } = await rolloutError(client, render(deployment('unready', { probe: '/ready' })), {
      timeoutMs: 20_000,
    });
    // The last status line depends on where the controller is at the deadline; the reason
    // (the failing probe) must be in the details either way.
    expect(err.message).toMatch(new RegExp(`^Deployment ${ns}/unready not ready after 20 s: `));
    expect(err.details.join('\n')).toMatch(
      /Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503/,
    );
    expect(ms).toBeGreaterThanOrEqual(19_000);
  }, 120_000);

  it('reports an unschedulable pod with the scheduler’s message', async () => {
    const { err } = await rolloutError(client, render(deployment('nowhere', { nodeSelector: true })), {
      timeoutMs: 60_000,
      stuckMs: 5_000,
    });
    expect(err.message).toMatch(
      new RegExp(`^Deployment ${ns}/nowhere: pod cannot be scheduled \\(Unschedulable\\) for \\d+ s$`),
    );
    expect(err.details.join('\n')).toMatch(
      /0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/,
    );
  }, 120_000);

  it('reports a failed Job with its log', async () => {
    const job = `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: devenv-rollout-test/app
        env: [{name: CRASH, value: "1"}]
`;
    const { err } = await rolloutError(client, render(job));
    expect(err.message).toMatch(new RegExp(`^Job ${ns}/migrate: Job failed: BackoffLimitExceeded`));
    const details = err.details.join('\n');
    expect(details).toMatch(/container "migrate" failed \(exit code 3\)/);
    expect(details).toContain('| FATAL: settings.DATABASE_URL is not set');
  }, 150_000);

  it('waits for every workload and reports each failure', async () => {
    const objects = [
      ...render(deployment('healthy', { probe: '/' })),
      ...render(deployment('nopull', { image: missingImage })),
    ];
    const { err } = await rolloutError(client, objects);
    expect(err.message).toMatch(/^Deployment .*\/nopull: container "app" cannot pull image/);
  }, 150_000);
});

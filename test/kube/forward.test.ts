// Port-forwards (src/kube/portforward.ts, planned by src/engine/forwards.ts) on the REAL
// test cluster: a request loop against one forward keeps being answered through a pod
// deletion and a rollout of a one-replica Deployment, with no restart of the forward.
//   - The Service's port is named and its targetPort is a named container port: the
//     forward reaches the pod through what the Service's EndpointSlices resolve.
//   - Each request is a new connection and is retried until answered: the test asserts
//     that every request was answered, that after the deletion the answers come from
//     another pod, and that after the rollout they come only from the new revision's pods.
//   - The longest gap between two answers is measured and printed (never asserted: it
//     depends on the machine).
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { planForwards } from '../../src/engine/forwards.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { serverSideApply } from '../../src/kube/objects.ts';
import { type Forward, openForward, readyPods } from '../../src/kube/portforward.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import type { KubeObject } from '../../src/manifests/types.ts';
import { newRunId, PYTHON_IMAGE as pythonImage, TEST_REGISTRY as registry } from '../support/kube.ts';
import { until } from '../support/poll.ts';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');

const runId = newRunId();
const ns = `devenv-forward-${runId}`;
const image = `${registry}/devenv-forward-test/python:${runId}`;
const MANAGER = 'devenv-test';

// Answers "<pod> <version>"; a new connection per request (Connection: close).
const SERVER = `
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("%s %s\\n" % (os.environ["HOSTNAME"], os.environ["VERSION"])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
`;

function deployment(version: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'web',
              image,
              command: ['python3', '-u', '-c', SERVER],
              env: [{ name: 'VERSION', value: version }],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: ns },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Answer {
  at: number;
  pod: string;
  version: string;
}

/**
 * Requests in a loop until stopped; each request is retried until answered (within 60 s,
 * else it is recorded as unanswered). Gaps: the time between two consecutive answers.
 */
function requestLoop(port: number) {
  const answers: Answer[] = [];
  const unanswered: string[] = [];
  let failedAttempts = 0;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const t0 = Date.now();
      let last = '';
      for (;;) {
        try {
          const [pod = '', version = ''] = (await get(port)).split(' ');
          answers.push({ at: Date.now(), pod, version });
          break;
        } catch (err) {
          failedAttempts++;
          last = (err as Error).message;
          if (Date.now() - t0 > 60_000) {
            unanswered.push(last);
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    answers,
    unanswered,
    failed: () => failedAttempts,
    /** Longest time between two answers from index `from` on. */
    longestGap(from = 0): number {
      let gap = 0;
      for (let i = Math.max(1, from); i < answers.length; i++)
        gap = Math.max(gap, answers[i]!.at - answers[i - 1]!.at);
      return gap;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

const untilAnswer = <T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> =>
  until(what, probe, { timeoutMs, intervalMs: 100 }) as Promise<T>;

async function livePods(client: KubeClient): Promise<string[]> {
  const list = await client.request<{
    items: Array<{ metadata: { name: string; deletionTimestamp?: string } }>;
  }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app=web' } });
  return list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
}

describe.skipIf(!kubeconfig)('port-forward on the real test cluster', () => {
  let admin: KubeClient;
  let forward: Forward | undefined;

  beforeAll(async () => {
    admin = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
    await run('docker', ['tag', pythonImage, image]);
    await run('docker', ['push', image]);
    await admin.request('POST', '/api/v1/namespaces', {
      body: { metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'devenv-test' } } },
    });
  }, 300_000);

  afterAll(async () => {
    await forward?.close();
    if (admin) await admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await run('docker', ['rmi', image]).catch(() => undefined);
  }, 60_000);

  it('keeps answering through a pod deletion and a rollout, from a ready pod each time', async () => {
    await serverSideApply(admin, service, MANAGER);
    await serverSideApply(admin, deployment('1'), MANAGER);
    await waitForRollouts({ client: admin, objects: [deployment('1')], timeoutMs: 120_000 });

    // The forward as `up` plans it: "<port>:http" against the manifests.
    const local = await freePort();
    const config = configSchema.parse({
      apiVersion: 'devenv.dev/v1alpha1',
      project: 'fwd',
      services: [{ name: 'web', manifests: ['k8s'], forwards: [`${local}:http`] }],
    }) as Config;
    const { plans, problems } = planForwards(
      config,
      new Map([['web', [service, deployment('1')]]]),
      (i, j) => `services[${i}].forwards[${j}]`,
    );
    expect(problems).toEqual([]);
    const plan = plans[0]!;
    expect(plan).toMatchObject({ namespace: ns, serviceName: 'web', port: { name: 'http', port: 80 } });
    const notices: string[] = [];
    forward = await openForward(
      admin,
      {
        namespace: plan.namespace,
        service: plan.serviceName,
        port: plan.port,
        ...(plan.selector ? { selector: plan.selector } : {}),
        local: plan.local,
      },
      { onNotice: (t) => notices.push(t), waitReadyMs: 60_000 },
    );

    const loop = requestLoop(local);
    try {
      const [first] = await livePods(admin);
      await untilAnswer('answers from the first pod', 30_000, () =>
        loop.answers.filter((a) => a.pod === first).length >= 5 ? true : undefined,
      );
      expect(loop.answers.every((a) => a.pod === first && a.version === '1')).toBe(true);

      // 1. The only pod is deleted: the ReplicaSet makes another; answers move to it.
      const beforeDelete = loop.answers.length;
      await admin.request('DELETE', `/api/v1/namespaces/${ns}/pods/${first}`);
      const second = await untilAnswer('answers from a new pod after the deletion', 120_000, () => {
        const a = loop.answers.slice(beforeDelete).find((x) => x.pod !== first);
        return a?.pod;
      });
      await untilAnswer('10 answers from the new pod', 60_000, () =>
        loop.answers.filter((a) => a.pod === second).length >= 10 ? true : undefined,
      );
      const deletionGap = loop.longestGap(beforeDelete);

      // 2. A rollout (a new revision: VERSION 2): answers come from its pods only, once done.
      const beforeRollout = loop.answers.length;
      await serverSideApply(admin, deployment('2'), MANAGER);
      await waitForRollouts({ client: admin, objects: [deployment('2')], timeoutMs: 120_000 });
      const deadline = Date.now() + 60_000;
      let newPods = await livePods(admin);
      while (newPods.includes(second) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        newPods = await livePods(admin);
      }
      // The forward's contract is the Service's EndpointSlices (ready, not terminating), which
      // follow the pod's deletion by up to a second or so: from then on, only new pods answer.
      const target = {
        namespace: ns,
        service: 'web',
        port: { name: 'http', port: 80, targetPort: 'http' },
        local: 0,
      };
      await until(
        'the old pod out of the EndpointSlices',
        async () => ((await readyPods(admin, target)).some((p) => p.pod === second) ? undefined : true),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const afterRollout = loop.answers.length;
      await untilAnswer('10 answers after the rollout', 60_000, () =>
        loop.answers.length >= afterRollout + 10 ? true : undefined,
      );
      const rolloutGap = loop.longestGap(beforeRollout);
      await loop.stop();

      const late = loop.answers.slice(afterRollout);
      console.log(
        `forward: ${loop.answers.length} answers, ${loop.failed()} failed attempts (retried), longest gap: pod deletion ${deletionGap} ms, rollout ${rolloutGap} ms; notices: ${JSON.stringify(notices)}`,
      );
      expect(loop.unanswered).toEqual([]);
      expect(late.every((a) => a.version === '2' && newPods.includes(a.pod))).toBe(true);
      expect(loop.answers.slice(beforeRollout).some((a) => a.version === '2')).toBe(true);
      expect(forward.stats.connections).toBeGreaterThanOrEqual(loop.answers.length);
    } finally {
      await loop.stop();
    }
  }, 400_000);

  it('a taken local port is refused (EADDRINUSE) before any pod is asked', async () => {
    const holder = createServer();
    const local = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      await expect(
        openForward(admin, {
          namespace: ns,
          service: 'web',
          port: { name: 'http', port: 80, targetPort: 'http' },
          local,
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });
});

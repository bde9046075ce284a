// The rollout wait's loop (src/kube/rollout.ts) on the REAL test cluster: it watches the
// workload and its pods and judges what it reads afresh.
//   - A container WITH a readiness probe is up as soon as the kubelet reports it ready (no
//     settle time): the wait ends with the pod really Ready, woken by its watches.
//   - Where the identity may get/list but not watch (a ServiceAccount token kubeconfig), the
//     watches are refused and the wait polls: a healthy rollout still finishes, a crashing
//     one is still diagnosed (exit code and log lines, read with those rights only).
//   - A container WITHOUT a probe that exits a second after starting is never "up" (it has
//     to run `settleMs`, 2 s, unrestarted): the wait fails with the crash diagnosis.
//   - The fix of a crashing revision, applied and waited for at once, is judged on its own
//     pods, not on the crashing ones of the revision the controller has not replaced yet.
// The diagnoses of other failures are test/kube/rollout-failures.test.ts's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { connect, KubeApiError, type KubeClient } from '../../src/kube/client.ts';
import { serverSideApply } from '../../src/kube/objects.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import type { PodJson as LivePod } from '../../src/kube/types.ts';
import type { KubeObject } from '../../src/manifests/types.ts';
import {
  BASE_IMAGE as baseImage,
  newRunId,
  type PushedImage,
  pushTestImage,
  TEST_REGISTRY as registry,
} from '../support/kube.ts';
import { until } from '../support/poll.ts';
import { writeTokenKubeconfig } from '../support/token-kubeconfig.ts';

const kubeconfig = inject('kubeconfig');

const runId = newRunId();
const ns = `devenv-rollout-wait-${runId}`;
const image = `${registry}/devenv-rollout-wait-test/base:${runId}`;
const MANAGER = 'devenv-test';

/** A one-container Deployment running `script` under sh (restartPolicy Always, as any Deployment). */
function deployment(
  name: string,
  script: string,
  opts: { probe?: boolean; version?: string } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image,
              command: ['sh', '-c', script],
              ...(opts.version ? { env: [{ name: 'VERSION', value: opts.version }] } : {}),
              ...(opts.probe
                ? { readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 } }
                : {}),
            },
          ],
        },
      },
    },
  };
}

// Ready (for the probe) only a few seconds after starting: the wait must not end before.
// Output on stdout: the test cluster's containerd loses stderr lines now and then.
const SLOW_START = 'echo starting; sleep 3; touch /tmp/ready; echo ready; exec sleep 100000';
const boot = (n: number) => Array.from({ length: n }, (_, i) => `echo "boot step ${i}"`).join('; ');

/** Pods of a Deployment that are not being deleted. */
async function livePods(client: KubeClient, app: string): Promise<LivePod[]> {
  const list = await client.request<{ items: LivePod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
    query: { labelSelector: `app=${app}` },
  });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const podReady = (p: LivePod) =>
  p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' &&
  (p.status.containerStatuses ?? []).every((c) => c.ready && c.state?.running !== undefined);

/** A client over `base` that records the watch streams the wait opens (paths, queries, refusals, stops). */
function observed(base: KubeClient) {
  const watches: Array<{
    path: string;
    query: unknown;
    refused?: unknown;
    events: number;
    stopped: boolean;
  }> = [];
  const client: KubeClient = {
    ...base,
    async stream(path, ro, onData) {
      const w = { path, query: ro.query, events: 0, stopped: false } as (typeof watches)[number];
      watches.push(w);
      try {
        const h = await base.stream(path, ro, (chunk) => {
          w.events++;
          onData(chunk);
        });
        return {
          stop() {
            w.stopped = true;
            h.stop();
          },
          done: h.done,
        };
      } catch (err) {
        w.refused = err;
        throw err;
      }
    },
  };
  return { client, watches };
}

const untilAnswer = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  until(what, probe, { timeoutMs, intervalMs: 300, retryOnError: true }) as Promise<T>;

async function rolloutError(p: Promise<unknown>): Promise<DevenvError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DevenvError);
    return err as DevenvError;
  }
  throw new Error('expected the rollout to fail, but it was reported ready');
}

describe.skipIf(!kubeconfig)('rollout wait on the real test cluster', () => {
  let admin: KubeClient;
  let built: PushedImage | undefined;

  beforeAll(async () => {
    admin = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
    built = await pushTestImage(
      image,
      { Dockerfile: `FROM ${baseImage}\nLABEL dev.devenv/test=rollout-wait\nUSER 65534\n` },
      'devenv-rollout-wait-test-',
    );
    await admin.request('POST', '/api/v1/namespaces', {
      body: { metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'devenv-test' } } },
    });
  }, 300_000);

  afterAll(async () => {
    if (admin) await admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await built?.remove();
  }, 60_000);

  it('a container with a readiness probe is up once the kubelet reports it ready; the pod is Ready then', async () => {
    const o = deployment('probed', SLOW_START, { probe: true });
    await serverSideApply(admin, o, MANAGER);
    const { client, watches } = observed(admin);
    const events: ProgressEvent[] = [];
    // settleMs 10 min: only "a probed container needs no settle time" lets this end within the
    // timeout; pollMs 10 min: only the watches can wake the wait in time once it is watching.
    const r = await waitForRollouts({
      client,
      objects: [o],
      timeoutMs: 120_000,
      settleMs: 600_000,
      pollMs: 600_000,
      onEvent: (e) => events.push(e),
    });
    const pods = await livePods(admin, 'probed');
    expect(r.ready).toEqual([`Deployment ${ns}/probed`]);
    expect(pods).toHaveLength(1);
    expect(podReady(pods[0]!)).toBe(true);
    expect(pods[0]!.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(events.filter((e) => e.type === 'step').at(-1)).toMatchObject({
      phase: 'done',
      detail: `Deployment ${ns}/probed ready`,
    });
    // The workload (by name) and its pods (by the selector) were watched, events arrived,
    // and both streams were closed when the wait returned.
    expect(watches.map((w) => [w.path, w.query])).toEqual([
      [
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        { fieldSelector: 'metadata.name=probed', watch: 'true' },
      ],
      [`/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app=probed', watch: 'true' }],
    ]);
    expect(watches.every((w) => w.refused === undefined && w.events > 0 && w.stopped)).toBe(true);
  }, 180_000);

  it('newPodsReady: a new revision is up once its pod is Ready, while the old one may still terminate', async () => {
    // A version of its own per attempt: a retry rolls out a new revision too.
    const version = `2-${Date.now()}`;
    const o = deployment('probed', SLOW_START, { probe: true, version });
    await serverSideApply(admin, o, MANAGER);
    const events: ProgressEvent[] = [];
    await waitForRollouts({
      client: admin,
      objects: [o],
      timeoutMs: 120_000,
      settleMs: 600_000,
      newPodsReady: true,
      onEvent: (e) => events.push(e),
    });
    // The new pod starts, then runs unready for 3 s: the progress says so, and never
    // "restarting" (its container never restarted; that message used to show on every rollout).
    const progress = events.flatMap((e) => (e.type === 'step' && e.phase === 'progress' ? [e.detail] : []));
    expect(progress.join('\n')).toMatch(/new pods (starting|running, not ready yet)/);
    expect(progress.join('\n')).not.toMatch(/restarting/);
    const pods = await livePods(admin, 'probed');
    const fresh = pods.filter((p) =>
      (p.spec?.containers?.[0] as { env?: Array<{ value: string }> } | undefined)?.env?.some(
        (e) => e.value === version,
      ),
    );
    expect(fresh).toHaveLength(1);
    expect(podReady(fresh[0]!)).toBe(true);
    expect(fresh[0]!.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  }, 180_000);

  describe('with an identity that may get and list but not watch', () => {
    let restricted: KubeClient;

    beforeAll(async () => {
      const sa = 'rollout-reader';
      const objects: KubeObject[] = [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: sa, namespace: ns },
          rules: [
            { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
            { apiGroups: [''], resources: ['pods', 'pods/log', 'events'], verbs: ['get', 'list'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: sa, namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
          subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
        },
      ];
      for (const o of objects) await serverSideApply(admin, o, MANAGER);
      const file = join(built!.dir, 'kubeconfig');
      await writeTokenKubeconfig({
        admin,
        kubeconfig: kubeconfig as string,
        namespace: ns,
        serviceAccount: sa,
        file,
      });
      restricted = connect({ kubeconfig: file, context: 'devenv-test' });
      // The Role is in force once the authorizer has seen it; then listing works and watching does not.
      await untilAnswer('the Role to take effect', 30_000, () =>
        restricted.request('GET', `/api/v1/namespaces/${ns}/pods`).then(() => true),
      );
      const refused = await restricted
        .stream(`/api/v1/namespaces/${ns}/pods`, { query: { watch: 'true' } }, () => undefined)
        .then((h) => {
          h.stop();
          return undefined;
        })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).status).toBe(403);
    }, 60_000);

    it('a healthy rollout still finishes, by polling', async () => {
      const o = deployment('polled', SLOW_START, { probe: true });
      await serverSideApply(admin, o, MANAGER);
      const { client, watches } = observed(restricted);
      const r = await waitForRollouts({ client, objects: [o], timeoutMs: 120_000 });
      expect(r.ready).toEqual([`Deployment ${ns}/polled`]);
      const pods = await livePods(admin, 'polled');
      expect(pods).toHaveLength(1);
      expect(podReady(pods[0]!)).toBe(true);
      // It did try to watch, and was refused.
      expect(watches.length).toBeGreaterThan(0);
      expect(watches.every((w) => (w.refused as KubeApiError | undefined)?.status === 403)).toBe(true);
    }, 180_000);

    it('a rollout that cannot succeed is still diagnosed: exit code and last log lines', async () => {
      const o = deployment('doomed', `${boot(25)}; echo "FATAL: settings.DATABASE_URL is not set"; exit 3`);
      await serverSideApply(admin, o, MANAGER);
      const { client, watches } = observed(restricted);
      const err = await rolloutError(waitForRollouts({ client, objects: [o], timeoutMs: 170_000 }));
      expect(err.message).toMatch(
        new RegExp(
          `^Deployment ${ns}/doomed: container "app" keeps crashing \\(CrashLoopBackOff, exit code 3, \\d+ restarts?\\)$`,
        ),
      );
      const details = err.details.join('\n');
      expect(details).toMatch(/last 20 log lines of doomed-[a-z0-9-]+\/app \(previous run\):/);
      expect(details).toContain('| FATAL: settings.DATABASE_URL is not set');
      expect(details).toContain('| boot step 24');
      expect(details).not.toContain('log unavailable');
      expect(watches.length).toBeGreaterThan(0);
      expect(watches.every((w) => (w.refused as KubeApiError | undefined)?.status === 403)).toBe(true);
    }, 200_000);
  });

  it('a container without a probe that exits 1 s after starting is not up: crash diagnosis', async () => {
    const o = deployment(
      'brief',
      'echo starting; sleep 1; echo "FATAL: settings.DATABASE_URL is not set"; exit 3',
    );
    await serverSideApply(admin, o, MANAGER);
    const events: ProgressEvent[] = [];
    // settleMs 2 s, the default, said explicitly: the contract under test.
    const err = await rolloutError(
      waitForRollouts({
        client: admin,
        objects: [o],
        timeoutMs: 170_000,
        settleMs: 2000,
        onEvent: (e) => events.push(e),
      }),
    );
    expect(err.message).toMatch(
      new RegExp(
        `^Deployment ${ns}/brief: container "app" keeps crashing \\(CrashLoopBackOff, exit code 3, \\d+ restarts?\\)$`,
      ),
    );
    const details = err.details.join('\n');
    expect(details).toMatch(/last 2 log lines of brief-[a-z0-9-]+\/app \(previous run\):/);
    expect(details).toContain('  | starting\n  | FATAL: settings.DATABASE_URL is not set');
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.some((e) => e.phase === 'done')).toBe(false);
    expect(steps.at(-1)).toMatchObject({ phase: 'fail', detail: `Deployment ${ns}/brief` });
  }, 200_000);

  // No retry: the race this guards against is lost only now and then, and a retry (from a
  // pod that no longer crashes) would hide it.
  it('the fix applied while the previous revision crashes is judged on its own pods', {
    timeout: 180_000,
    retry: 0,
  }, async () => {
    // Follows the crash test: `brief` is crash-looping. The wait's first read comes right
    // after the apply, usually before the controller has seen the new spec, when the
    // Deployment's revision still names the crashing ReplicaSet: judging that one's pods
    // reported the fix as "keeps crashing" (what a reload printed after fixing a syntax error).
    const before = await livePods(admin, 'brief');
    expect(before.some((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0)).toBe(true);
    const o = deployment('brief', SLOW_START, { probe: true, version: `fix-${Date.now()}` });
    await serverSideApply(admin, o, MANAGER);
    const events: ProgressEvent[] = [];
    const r = await waitForRollouts({
      client: admin,
      objects: [o],
      timeoutMs: 120_000,
      newPodsReady: true,
      onEvent: (e) => events.push(e),
    });
    expect(r.ready).toEqual([`Deployment ${ns}/brief`]);
    expect(events.some((e) => e.type === 'step' && e.phase === 'fail')).toBe(false);
  });
});

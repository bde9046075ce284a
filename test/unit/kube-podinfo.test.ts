// The pure mappers from live Kubernetes JSON to the dashboard's vocabulary, on fixtures
// captured from the real test cluster (`kubectl get -o json`, managedFields removed):
// a crash-looping pod, an OOM-killed one, image pull failures, a completed and a failed
// pod, an init container still running, an unschedulable pod, a terminating one, a
// Deployment's pod and the Deployment, events and a node. node-server.json is the agent
// fixture with k3s's control-plane label added.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectorMatches, serviceOfPod, serviceOfSource, workloadRefs } from '../../src/kube/attribution.ts';
import type { EventJson, NodeJson, PodJson, WorkloadJson } from '../../src/kube/types.ts';
import {
  eventToKubeEvent,
  imageTag,
  nodeToInfo,
  podReason,
  podToInfo,
  serviceSummary,
} from '../../src/store/podinfo.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'kube');
function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as T;
}
const pod = (name: string) => fixture<PodJson>(`pod-${name}`);

describe('podToInfo', () => {
  it('maps a crash-looping pod: CrashLoopBackOff, its restarts, not ready, node and start time', () => {
    expect(podToInfo(pod('crash'), 'api')).toEqual({
      name: 'crash',
      namespace: 'devenv-fixtures-gen',
      service: 'api',
      phase: 'Running',
      reason: 'CrashLoopBackOff',
      ready: false,
      restarts: 3,
      node: 'devenv-node',
      startedAt: Date.parse('2026-11-23T14:09:17Z'),
    });
  });

  it('reports OOMKilled over CrashLoopBackOff when the last run ran out of memory', () => {
    const p = pod('oom');
    expect(p.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(podToInfo(p, 'x')).toMatchObject({ reason: 'OOMKilled', restarts: 3, ready: false });
    // While terminated (between two runs), the terminated reason itself.
    const between = structuredClone(p);
    between.status!.containerStatuses![0]!.state = {
      terminated: { reason: 'OOMKilled', exitCode: 137 },
    };
    expect(podReason(between)).toBe('OOMKilled');
  });

  it('maps image pull failures', () => {
    expect(podToInfo(pod('nopull'), 'web')).toMatchObject({
      phase: 'Pending',
      reason: 'ImagePullBackOff',
      ready: false,
      restarts: 0,
    });
    expect(podReason(pod('errimagepull'))).toBe('ErrImagePull');
  });

  it('maps completed and failed pods', () => {
    expect(podToInfo(pod('done'), 'job')).toMatchObject({ phase: 'Succeeded', reason: 'Completed' });
    expect(podToInfo(pod('failed'), 'job')).toMatchObject({ phase: 'Failed', reason: 'Error' });
  });

  it('a running, ready pod has no reason', () => {
    const info = podToInfo(pod('running'), 'web');
    expect(info).toMatchObject({ phase: 'Running', ready: true, restarts: 0 });
    expect(info.reason).toBeUndefined();
  });

  it('init containers, unschedulable and terminating pods read like kubectl get pods', () => {
    expect(podReason(pod('init-wait'))).toBe('Init:0/1');
    expect(podToInfo(pod('unsched'), 'x')).toEqual({
      name: 'unsched',
      namespace: 'devenv-fixtures-gen',
      service: 'x',
      phase: 'Pending',
      reason: 'Unschedulable',
      ready: false,
      restarts: 0,
    });
    expect(podReason(pod('terminating'))).toBe('Terminating');
  });

  it('names a failing init container and a signal without a reason', () => {
    const p = structuredClone(pod('init-wait'));
    p.status!.initContainerStatuses![0]!.state = { terminated: { exitCode: 2 } };
    expect(podReason(p)).toBe('Init:ExitCode:2');
    p.status!.initContainerStatuses![0]!.state = { waiting: { reason: 'CrashLoopBackOff' } };
    expect(podReason(p)).toBe('Init:CrashLoopBackOff');
    const q = structuredClone(pod('running'));
    q.status!.containerStatuses![0]!.state = { terminated: { exitCode: 143, signal: 15 } };
    expect(podReason(q)).toBe('Signal:15');
  });

  it('an unknown phase is Unknown', () => {
    const p = structuredClone(pod('running'));
    p.status!.phase = 'Weird';
    expect(podToInfo(p, 's').phase).toBe('Unknown');
  });
});

describe('eventToKubeEvent', () => {
  it('maps a Warning with its count and last time', () => {
    expect(eventToKubeEvent(fixture<EventJson>('event-backoff'))).toEqual({
      uid: fixture<EventJson>('event-backoff').metadata.uid,
      type: 'Warning',
      reason: 'BackOff',
      object: 'pod/crash',
      namespace: 'devenv-fixtures-gen',
      message: expect.stringMatching(/^Back-off restarting failed container app in pod crash/),
      count: 4,
      lastSeen: Date.parse('2026-11-23T14:10:04Z'),
    });
  });

  it('scheduler events carry only eventTime (microseconds) and no count', () => {
    const e = eventToKubeEvent(fixture<EventJson>('event-failedscheduling'))!;
    expect(e).toMatchObject({ type: 'Warning', reason: 'FailedScheduling', object: 'pod/unsched', count: 1 });
    expect(e.lastSeen).toBe(Date.parse('2026-11-23T14:08:17.666Z'));
    const s = eventToKubeEvent(fixture<EventJson>('event-scheduled'))!;
    expect(s).toMatchObject({ type: 'Normal', reason: 'Scheduled', object: 'pod/crash', count: 1 });
  });

  it('reads events.k8s.io/v1 spellings; an event naming no object is dropped; `now` stands in for no time', () => {
    expect(
      eventToKubeEvent(
        {
          metadata: { name: 'e', namespace: 'b2b' },
          type: 'Normal',
          reason: 'Pulled',
          regarding: { kind: 'Pod', name: 'api-1' },
          note: ' pulled ',
          series: { count: 3, lastObservedTime: '2026-01-01T00:00:01.5Z' },
        },
        7,
      ),
    ).toEqual({
      type: 'Normal',
      reason: 'Pulled',
      object: 'pod/api-1',
      namespace: 'b2b',
      message: 'pulled',
      count: 3,
      lastSeen: Date.parse('2026-01-01T00:00:01.500Z'),
    });
    expect(eventToKubeEvent({ metadata: { name: 'e' }, reason: 'X' })).toBeUndefined();
    expect(
      eventToKubeEvent({ metadata: { name: 'e' }, involvedObject: { name: 'n', kind: 'Node' } }, 42),
    ).toMatchObject({ object: 'node/n', lastSeen: 42, type: 'Normal' });
  });
});

describe('nodeToInfo', () => {
  it('an unlabelled node is an agent; control-plane or master is a server; Ready from conditions', () => {
    expect(nodeToInfo(fixture<NodeJson>('node-agent'))).toEqual({
      name: 'devenv-node',
      role: 'agent',
      ready: true,
    });
    expect(nodeToInfo(fixture<NodeJson>('node-server'))).toEqual({
      name: 'server-0',
      role: 'server',
      ready: true,
    });
    const master = structuredClone(fixture<NodeJson>('node-agent'));
    master.metadata.labels = { 'node-role.kubernetes.io/master': 'true' };
    master.status!.conditions = master.status!.conditions!.map((c) =>
      c.type === 'Ready' ? { ...c, status: 'Unknown' } : c,
    );
    expect(nodeToInfo(master)).toMatchObject({ role: 'server', ready: false });
  });
});

describe('services', () => {
  const services = [
    { name: 'api', manifests: ['k8s/api'] },
    { name: 'worker', manifests: ['./k8s/api-worker.yaml'] },
    { name: 'web', manifests: ['k8s/web/'] },
    { name: 'chat', manifests: ['k8s/chat'] },
  ];

  it('maps dev.devenv/source to the service whose manifests hold the file', () => {
    expect(serviceOfSource(services, 'k8s/api/deployment.yaml#0')).toBe('api');
    expect(serviceOfSource(services, 'k8s/api-worker.yaml#1')).toBe('worker');
    expect(serviceOfSource(services, 'k8s/web/ (kustomize)#3')).toBe('web');
    expect(serviceOfSource(services, 'k8s/chat#0')).toBe('chat');
    expect(serviceOfSource(services, 'other/x.yaml#0')).toBeUndefined();
    expect(serviceOfSource(services, undefined)).toBeUndefined();
  });

  it('matches label selectors, expressions included; an empty selector matches nothing', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'api' } }, labels)).toBe(false);
    expect(
      selectorMatches(
        {
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['front', 'back'] },
            { key: 'canary', operator: 'DoesNotExist' },
            { key: 'app', operator: 'Exists' },
            { key: 'tier', operator: 'NotIn', values: ['db'] },
          ],
        },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels),
    ).toBe(false);
    expect(selectorMatches({}, labels)).toBe(false);
    expect(selectorMatches(undefined, labels)).toBe(false);
  });

  it('a pod belongs to the service of the workload whose selector matches it', () => {
    const deploy = structuredClone(fixture<WorkloadJson>('deployment-web'));
    deploy.kind = 'Deployment';
    deploy.metadata.annotations = {
      ...deploy.metadata.annotations,
      'dev.devenv/source': 'k8s/web/deploy.yaml#0',
    };
    deploy.metadata.namespace = 'devenv-fixtures-gen2';
    const refs = workloadRefs([deploy], services);
    expect(refs).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        name: 'web',
        service: 'web',
        selector: { matchLabels: { app: 'web' } },
      }),
    ]);
    expect(serviceOfPod(pod('web'), refs)).toBe('web');
    // Other namespace: no match; labels decide.
    expect(serviceOfPod(pod('crash'), refs)).toBe('api'); // app.kubernetes.io/name
    expect(serviceOfPod(pod('nopull'), refs)).toBe('web'); // app
    expect(serviceOfPod(pod('running'), refs)).toBeUndefined();
  });

  it('a Job created by a CronJob takes the CronJob service', () => {
    const cron: WorkloadJson = {
      kind: 'CronJob',
      metadata: {
        name: 'tasks',
        namespace: 'social',
        annotations: { 'dev.devenv/source': 'k8s/api/cron.yaml#0' },
      },
    };
    const job: WorkloadJson = {
      kind: 'Job',
      metadata: {
        name: 'tasks-2900',
        namespace: 'social',
        ownerReferences: [{ kind: 'CronJob', name: 'tasks' }],
      },
      spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } } },
    };
    const refs = workloadRefs([job, cron], services);
    const p: PodJson = {
      metadata: {
        name: 'tasks-2900-x',
        namespace: 'social',
        labels: { 'batch.kubernetes.io/controller-uid': 'u1' },
      },
    };
    expect(serviceOfPod(p, refs)).toBe('api');
  });

  it('with fallback, unclaimed workloads are named by their owner, their label or themselves', () => {
    const cron: WorkloadJson = { kind: 'CronJob', metadata: { name: 'nightly', namespace: 'n' } };
    const job: WorkloadJson = {
      kind: 'Job',
      metadata: {
        name: 'nightly-1',
        namespace: 'n',
        ownerReferences: [{ kind: 'CronJob', name: 'nightly' }],
      },
    };
    const labelled: WorkloadJson = {
      kind: 'Deployment',
      metadata: { name: 'shop-v2', namespace: 'n', labels: { 'app.kubernetes.io/name': 'shop' } },
    };
    const claimed: WorkloadJson = {
      kind: 'Deployment',
      metadata: { name: 'x', namespace: 'n', annotations: { 'dev.devenv/source': 'k8s/api/x.yaml#0' } },
    };
    expect(
      workloadRefs([job, cron, labelled, claimed], services, { fallback: true }).map((r) => r.service),
    ).toEqual(['nightly', 'nightly', 'shop', 'api']);
    expect(workloadRefs([labelled], services).map((r) => r.service)).toEqual([undefined]);
  });

  it('summarises a service from its workloads', () => {
    const deploy = structuredClone(fixture<WorkloadJson>('deployment-web'));
    deploy.kind = 'Deployment';
    expect(serviceSummary('web', [deploy])).toEqual({
      name: 'web',
      namespace: 'devenv-fixtures-gen',
      desired: 2,
      ready: 2,
      status: 'Running',
      createdAt: Date.parse(deploy.metadata.creationTimestamp!),
      imageTag: 'bookworm',
    });
    const rolling = structuredClone(deploy);
    rolling.metadata.generation = 2;
    expect(serviceSummary('web', [rolling]).status).toBe('Progressing');
    const stuck = structuredClone(deploy);
    stuck.status!.readyReplicas = 0;
    stuck.status!.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }];
    expect(serviceSummary('web', [stuck])).toMatchObject({ status: 'Degraded', ready: 0 });
    expect(serviceSummary('api', [])).toEqual({
      name: 'api',
      namespace: '',
      desired: 0,
      ready: 0,
      status: 'Not deployed',
    });
    expect(
      serviceSummary('cron', [{ kind: 'CronJob', metadata: { name: 'c', namespace: 'n' } }]).status,
    ).toBe('Scheduled');
  });

  it('takes the tag of an image reference', () => {
    expect(imageTag('127.0.0.1:5001/social/api:dev-3f2a')).toBe('dev-3f2a');
    expect(imageTag('127.0.0.1:5001/social/api')).toBeUndefined();
    expect(imageTag('api:1@sha256:abc')).toBe('1');
  });
});

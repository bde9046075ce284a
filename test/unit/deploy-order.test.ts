import { describe, expect, it } from 'vitest';
import { findCycle } from '../../src/config/dependencies.ts';
import { validateConfigText } from '../../src/config/validate.ts';
import {
  dependencyWaves,
  hookWeight,
  isPreDeployJob,
  planDeploy,
  serviceUnits,
} from '../../src/engine/order.ts';
import {
  type KubeObject,
  objectKey,
  type RenderedObject,
  splitApiVersion,
} from '../../src/manifests/types.ts';

function obj(
  file: string,
  index: number,
  kind: string,
  name: string,
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): RenderedObject {
  const apiVersion =
    kind === 'Job' || kind === 'CronJob'
      ? 'batch/v1'
      : ['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind)
        ? 'apps/v1'
        : 'v1';
  const object: KubeObject = { apiVersion, kind, metadata: { name, namespace: 'shop', ...meta } };
  const id = { ...splitApiVersion(apiVersion), kind, namespace: 'shop', name };
  return { key: objectKey(id), id, object, hash: 'h', yaml: '', source: { file, index } };
}

const names = (list: readonly RenderedObject[]) => list.map((o) => `${o.id.kind}/${o.id.name}`);

describe('must-complete Jobs', () => {
  it('are Jobs marked dev.devenv/phase: pre-deploy (label or annotation) or a Helm pre-install/pre-upgrade hook', () => {
    const job = (meta: { labels?: Record<string, string>; annotations?: Record<string, string> }) =>
      obj('f', 0, 'Job', 'j', meta).object;
    expect(isPreDeployJob(job({ labels: { 'dev.devenv/phase': 'pre-deploy' } }))).toBe(true);
    expect(isPreDeployJob(job({ annotations: { 'dev.devenv/phase': 'pre-deploy' } }))).toBe(true);
    expect(isPreDeployJob(job({ annotations: { 'helm.sh/hook': 'pre-install,pre-upgrade' } }))).toBe(true);
    expect(isPreDeployJob(job({ annotations: { 'helm.sh/hook': 'pre-upgrade' } }))).toBe(true);
    expect(isPreDeployJob(job({ annotations: { 'helm.sh/hook': 'post-install' } }))).toBe(false);
    expect(isPreDeployJob(job({}))).toBe(false);
    // Only Jobs: a labelled Deployment or a Pod is an ordinary workload.
    expect(
      isPreDeployJob(obj('f', 0, 'Deployment', 'd', { labels: { 'dev.devenv/phase': 'pre-deploy' } }).object),
    ).toBe(false);
  });
  it('run in steps of ascending helm.sh/hook-weight (default 0)', () => {
    expect(hookWeight(obj('f', 0, 'Job', 'j', { annotations: { 'helm.sh/hook-weight': '-5' } }).object)).toBe(
      -5,
    );
    expect(hookWeight(obj('f', 0, 'Job', 'j').object)).toBe(0);
  });
});

describe('dependency graph', () => {
  it('finds a cycle, with the first name repeated at its end', () => {
    expect(
      findCycle([
        { name: 'api', dependsOn: ['web'] },
        { name: 'web', dependsOn: ['front'] },
        { name: 'front', dependsOn: ['api'] },
      ]),
    ).toEqual(['api', 'web', 'front', 'api']);
    expect(findCycle([{ name: 'a', dependsOn: ['a'] }])).toEqual(['a', 'a']);
    expect(
      findCycle([
        { name: 'a', dependsOn: ['b', 'c'] },
        { name: 'b', dependsOn: ['c'] },
        { name: 'c', dependsOn: ['unknown'] },
      ]),
    ).toBeUndefined();
  });
  it('puts services in waves: each after everything it depends on', () => {
    expect(
      dependencyWaves([
        { name: 'front', dependsOn: ['api'] },
        { name: 'api', dependsOn: ['db', 'cache'] },
        { name: 'db', dependsOn: [] },
        { name: 'cache', dependsOn: [] },
        { name: 'admin', dependsOn: ['db'] },
      ]),
    ).toEqual([['db', 'cache'], ['api', 'admin'], ['front']]);
    expect(() => dependencyWaves([{ name: 'a', dependsOn: ['a'] }])).toThrow(/cycle/);
  });
});

describe('planDeploy', () => {
  const migrate = obj('api.yaml', 0, 'Job', 'migrate', { labels: { 'dev.devenv/phase': 'pre-deploy' } });
  const api = obj('api.yaml', 1, 'Deployment', 'api');
  const apiSvc = obj('api.yaml', 2, 'Service', 'api');
  const apiCm = obj('api.yaml', 3, 'ConfigMap', 'api-config');
  const front = obj('front.yaml', 0, 'Deployment', 'front');
  const worker = obj('worker.yaml', 0, 'Deployment', 'worker');
  const dataSecret = obj('<devenv:data-secret>', 0, 'Secret', 'devenv-data');
  const objects = [migrate, api, apiSvc, apiCm, front, worker, dataSecret];
  const docs = new Map([
    [
      'api',
      [
        { file: 'api.yaml', index: 0 },
        { file: 'api.yaml', index: 1 },
        { file: 'api.yaml', index: 2 },
        { file: 'api.yaml', index: 3 },
      ],
    ],
    ['front', [{ file: 'front.yaml', index: 0 }]],
    ['worker', [{ file: 'worker.yaml', index: 0 }]],
  ]);

  it('without any order: everything in one apply, nothing held back', () => {
    const plain = [api, apiSvc, front, worker, dataSecret];
    const units = serviceUnits([{ name: 'api', dependsOn: [] }, { name: 'front' }, { name: 'worker' }], docs);
    const plan = planDeploy(plain, units);
    expect(plan.ordered).toEqual([]);
    expect(plan.first).toEqual(plain);
    expect(planDeploy(plain, []).first).toEqual(plain);
  });

  it('holds back the migration and the workloads of ordered services; the rest goes first', () => {
    const units = serviceUnits(
      [{ name: 'api' }, { name: 'front', dependsOn: ['api'] }, { name: 'worker' }],
      docs,
    );
    const plan = planDeploy(objects, units);
    // Config, Services, devenv's own objects and the unordered worker: at once.
    expect(names(plan.first)).toEqual([
      'Service/api',
      'ConfigMap/api-config',
      'Deployment/worker',
      'Secret/devenv-data',
    ]);
    expect(plan.waves).toEqual([['api'], ['front']]);
    expect(plan.ordered.map((s) => s.name)).toEqual(['api', 'front']);
    const [apiPlan, frontPlan] = plan.ordered;
    expect(apiPlan!.jobs.map(names)).toEqual([['Job/migrate']]);
    expect(names(apiPlan!.workloads)).toEqual(['Deployment/api']);
    expect(apiPlan!.dependsOn).toEqual([]);
    expect(frontPlan!.jobs).toEqual([]);
    expect(names(frontPlan!.workloads)).toEqual(['Deployment/front']);
    expect(frontPlan!.dependsOn).toEqual(['api']);
  });

  it('orders a service with a migration even when nothing depends on it; Helm hooks by weight', () => {
    const schema = obj('api.yaml', 4, 'Job', 'schema', {
      annotations: { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-1' },
    });
    const seed = obj('api.yaml', 5, 'Job', 'seed', {
      annotations: { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '5' },
    });
    const cron = obj('api.yaml', 6, 'CronJob', 'cleanup');
    const d = new Map(docs);
    d.set(
      'api',
      [0, 1, 2, 3, 4, 5, 6].map((index) => ({ file: 'api.yaml', index })),
    );
    const plan = planDeploy(
      [...objects, schema, seed, cron],
      serviceUnits([{ name: 'api' }, { name: 'front' }], d),
    );
    expect(plan.ordered.map((s) => s.name)).toEqual(['api']);
    expect(plan.ordered[0]!.jobs.map(names)).toEqual([['Job/schema'], ['Job/migrate'], ['Job/seed']]);
    // Every workload of the service waits, CronJobs included (they may run the new code).
    expect(names(plan.ordered[0]!.workloads)).toEqual(['Deployment/api', 'CronJob/cleanup']);
    expect(names(plan.first)).toContain('Deployment/front');
  });

  it('a dependsOn chain runs in order; dependencies outside this deploy (a reload) are ignored', () => {
    const db = obj('db.yaml', 0, 'StatefulSet', 'db');
    const d = new Map(docs);
    d.set('db', [{ file: 'db.yaml', index: 0 }]);
    const units = serviceUnits(
      [{ name: 'front', dependsOn: ['api'] }, { name: 'api', dependsOn: ['db'] }, { name: 'db' }],
      d,
    );
    const plan = planDeploy([front, api, db], units);
    expect(plan.waves).toEqual([['db'], ['api'], ['front']]);
    expect(plan.ordered.map((s) => s.name)).toEqual(['db', 'api', 'front']);

    // Reload of front alone: api is not part of it, so front is not ordered at all.
    const reload = planDeploy([front], serviceUnits([{ name: 'front', dependsOn: ['api'] }], d));
    expect(reload.ordered).toEqual([]);
    expect(names(reload.first)).toEqual(['Deployment/front']);
    // Reload of api: its migration still completes first.
    const apiReload = planDeploy([migrate, api], serviceUnits([{ name: 'api', dependsOn: ['db'] }], d));
    expect(apiReload.ordered.map((s) => [s.name, s.dependsOn])).toEqual([['api', []]]);
    expect(apiReload.first).toEqual([]);
  });
});

describe('dependsOn in devenv.yaml', () => {
  const probe = { kind: (p: string) => (p === 'svc' ? ('dir' as const) : ('file' as const)) };
  const config = (services: string) =>
    `apiVersion: devenv.dev/v1alpha1\nproject: shop\nservices:\n${services}`;
  it('reports a cycle at the entry that closes it (file:line:col)', () => {
    const r = validateConfigText(
      config(
        '  - name: api\n    context: svc\n    manifests: [k8s]\n    dependsOn: [front]\n' +
          '  - name: front\n    context: svc\n    manifests: [k8s]\n    dependsOn: [api]\n',
      ),
      'devenv.yaml',
      probe,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)).toEqual([
      expect.stringMatching(
        /^devenv\.yaml:11:17: services\[1\]\.dependsOn: dependency cycle api → front → api/,
      ),
    ]);
  });
  it('reports a service depending on itself, and an unknown name with a suggestion', () => {
    const r = validateConfigText(
      config(
        '  - name: api\n    context: svc\n    manifests: [k8s]\n    dependsOn: [api, fornt]\n' +
          '  - name: front\n    context: svc\n    manifests: [k8s]\n',
      ),
      'devenv.yaml',
      probe,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      expect.stringMatching(/^7:17 services\[0\]\.dependsOn: dependency cycle api → api/),
      '7:22 services[0].dependsOn: "fornt" is not a service of this project (did you mean "front"?)',
    ]);
  });
  it('accepts an acyclic chain', () => {
    const r = validateConfigText(
      config(
        '  - name: api\n    context: svc\n    manifests: [k8s]\n' +
          '  - name: front\n    context: svc\n    manifests: [k8s]\n    dependsOn: [api]\n',
      ),
      'devenv.yaml',
      probe,
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.services[1]!.dependsOn).toEqual(['api']);
  });
});

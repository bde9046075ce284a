// engine/deploy.ts running an order (order.ts), with the Kubernetes half replaced by a
// recorder: what is applied when, what is waited for, what a failure stops. The real
// cluster behaviour is in test/kube/ordering.test.ts.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import {
  type KubeObject,
  objectKey,
  type RenderedObject,
  splitApiVersion,
} from '../../src/manifests/types.ts';

const log: string[] = [];
/** Rollout waits that fail: name → message. */
const failing = new Map<string, string>();
/** Rollout waits that take a while: name → ms. */
const slow = new Map<string, number>();

vi.mock('../../src/kube/apply.ts', () => ({
  reconcile: async (o: {
    objects: RenderedObject[];
    defer?: (x: RenderedObject) => boolean;
    replace?: (x: RenderedObject) => boolean;
  }) => {
    const written = o.objects.filter((x) => !o.defer?.(x));
    const deferred = o.objects.filter((x) => o.defer?.(x));
    log.push(
      `apply ${written.map((x) => x.id.name).join(',')}${deferred.length ? ` (checked: ${deferred.map((x) => x.id.name).join(',')})` : ''}${o.replace ? ' [replace changed Jobs]' : ''}`,
    );
    return {
      created: written.length,
      updated: 0,
      unchanged: 0,
      pruned: 0,
      conflicts: [],
      writes: written.length,
      changed: [],
      prunedObjects: [],
    };
  },
}));
vi.mock('../../src/kube/rollout.ts', () => ({
  waitForRollouts: async (o: { objects: KubeObject[] }) => {
    const names = o.objects
      .filter((x) => ['Deployment', 'Job', 'StatefulSet'].includes(x.kind))
      .map((x) => x.metadata.name);
    log.push(`wait ${names.join(',')}`);
    for (const n of names) if (slow.has(n)) await new Promise((r) => setTimeout(r, slow.get(n)));
    for (const n of names)
      if (failing.has(n)) throw new DevenvError(failing.get(n)!, { details: [`  | log of ${n}`] });
    log.push(`ready ${names.join(',')}`);
    return { ready: names, ms: 0 };
  },
}));

const { deploy } = await import('../../src/engine/deploy.ts');

function obj(file: string, kind: string, name: string, labels: Record<string, string> = {}): RenderedObject {
  const apiVersion = kind === 'Job' ? 'batch/v1' : kind === 'Deployment' ? 'apps/v1' : 'v1';
  const object: KubeObject = { apiVersion, kind, metadata: { name, namespace: 'shop', labels } };
  const id = { ...splitApiVersion(apiVersion), kind, namespace: 'shop', name };
  return { key: objectKey(id), id, object, hash: 'h', yaml: '', source: { file, index: 0 } };
}

const migrate = obj('migrate.yaml', 'Job', 'migrate', { 'dev.devenv/phase': 'pre-deploy' });
const api = obj('api.yaml', 'Deployment', 'api');
const apiSvc = obj('api-svc.yaml', 'Service', 'api-svc');
const web = obj('web.yaml', 'Deployment', 'web');
const worker = obj('worker.yaml', 'Deployment', 'worker');
const services = [
  {
    name: 'api',
    dependsOn: [],
    docs: ['migrate.yaml', 'api.yaml', 'api-svc.yaml'].map((file) => ({ file, index: 0 })),
  },
  { name: 'web', dependsOn: ['api'], docs: [{ file: 'web.yaml', index: 0 }] },
  { name: 'worker', dependsOn: [], docs: [{ file: 'worker.yaml', index: 0 }] },
];

async function run(): Promise<{ events: ProgressEvent[]; error?: DevenvError }> {
  const events: ProgressEvent[] = [];
  try {
    await deploy({
      client: {} as never,
      objects: [migrate, api, apiSvc, web, worker],
      project: 'shop',
      env: 'dev',
      services,
      target: 'test',
      onEvent: (e) => events.push(e),
    });
    return { events };
  } catch (error) {
    return { events, error: error as DevenvError };
  }
}

beforeEach(() => {
  log.length = 0;
  failing.clear();
  slow.clear();
});

describe('deploy with an order', () => {
  it('applies the rest first (checking the held-back objects), then the migration, then api, then web; worker meanwhile', async () => {
    slow.set('worker', 30);
    const { error } = await run();
    expect(error).toBeUndefined();
    expect(log[0]).toBe('apply api-svc,worker (checked: migrate,api,web)');
    const at = (line: string) => log.indexOf(line);
    expect(at('apply migrate [replace changed Jobs]')).toBeGreaterThan(0);
    expect(at('ready migrate')).toBeLessThan(at('apply api [replace changed Jobs]'));
    expect(at('ready api')).toBeLessThan(at('apply web [replace changed Jobs]'));
    // The independent worker is waited for in parallel, not after the chain.
    expect(at('wait worker')).toBeLessThan(at('ready migrate'));
  });

  it('without services: one apply, one wait (as before ordering existed)', async () => {
    const events: ProgressEvent[] = [];
    await deploy({
      client: {} as never,
      objects: [migrate, api, web],
      project: 'shop',
      env: 'dev',
      target: 'test',
      onEvent: (e) => events.push(e),
    });
    expect(log).toEqual(['apply migrate,api,web', 'wait migrate,api,web', 'ready migrate,api,web']);
  });

  it('a failed migration stops api and web, not worker; the error keeps the Job’s logs', async () => {
    failing.set('migrate', 'Job shop/migrate: Job failed: BackoffLimitExceeded');
    slow.set('worker', 30);
    const { events, error } = await run();
    expect(error).toBeInstanceOf(DevenvError);
    expect(error!.message).toBe('Job shop/migrate: Job failed: BackoffLimitExceeded');
    expect(error!.exitCode).toBe(1);
    expect(error!.details).toEqual([
      '  | log of migrate',
      'not rolled out (a service they depend on failed): web',
    ]);
    expect(log).not.toContain('apply api [replace changed Jobs]');
    expect(log).not.toContain('apply web [replace changed Jobs]');
    expect(log).toContain('ready worker');
    const steps = events.flatMap((e) => (e.type === 'step' ? [`${e.id} ${e.phase}`] : []));
    expect(steps).toContain('pre-deploy:api fail');
    expect(steps).toContain('deploy:web skip');
    const fail = events.find((e) => e.type === 'step' && e.id === 'pre-deploy:api' && e.phase === 'fail');
    // The rollout step printed the logs; this step names it instead of repeating them.
    expect(fail).toMatchObject({ cause: 'rollout:shop/migrate' });
  });
});

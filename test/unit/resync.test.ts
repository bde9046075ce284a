/**
 * Synced files survive a new container (src/engine/resync.ts), the logic without a
 * cluster: which containers lack the ledger, and the keeper's report order (announced as
 * stale at once, re-synced once running, reported ok only after that; a failed re-sync
 * rebuilds once). The real cluster case is test/kube/reload-pyapp.test.ts ("sync mode").
 */
import { describe, expect, it } from 'vitest';
import type { SyncFile } from '../../src/build/sync.ts';
import type { ServiceConfig } from '../../src/config/schema.ts';
import { ResyncKeeper, type StaleContainer, staleContainers } from '../../src/engine/resync.ts';
import type { ProgressEvent } from '../../src/events.ts';
import type { PodJson } from '../../src/kube/types.ts';

function pod(name: string, c: { id?: string; restarts?: number; deleting?: boolean }): PodJson {
  return {
    metadata: { name, uid: `uid-${name}`, ...(c.deleting ? { deletionTimestamp: 'x' } : {}) },
    status: {
      phase: c.id ? 'Running' : 'Pending',
      containerStatuses: [
        {
          name: 'web',
          restartCount: c.restarts ?? 0,
          ...(c.id ? { containerID: c.id, state: { running: {} } } : { state: { waiting: {} } }),
        },
      ],
    },
  };
}

describe('staleContainers', () => {
  it('running containers without the ledger, starting ones, not pods being deleted', () => {
    const pods = [
      pod('a', { id: 'c1' }),
      pod('b', { id: 'c2' }),
      pod('c', {}),
      pod('d', { id: 'c4', deleting: true }),
      pod('e', { id: 'c5', restarts: 1 }),
    ];
    expect(staleContainers('ns', pods, ['web'], new Set(['c1']))).toEqual([
      { namespace: 'ns', pod: 'b', container: 'web', containerID: 'c2', key: 'uid-b/web/0' },
      { namespace: 'ns', pod: 'c', container: 'web', key: 'uid-c/web/0' },
      { namespace: 'ns', pod: 'e', container: 'web', containerID: 'c5', key: 'uid-e/web/1' },
    ]);
  });
});

const service = { name: 'web', sync: [{ src: '*.py', dest: '/app' }] } as unknown as ServiceConfig;
const file = (rel: string): SyncFile => ({
  abs: `/src/${rel}`,
  rel,
  dest: `/app/${rel}`,
  kind: 'change',
  rule: 0,
});
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

function keeper(opts: { pods: () => PodJson[]; fail?: boolean }) {
  const events: ProgressEvent[] = [];
  const synced: Array<{ files: string[]; targets: string[] }> = [];
  let rebuilds = 0;
  const k = new ResyncKeeper({
    onEvent: (e) => events.push(e),
    workloads: async () => [{ namespace: 'ns', selector: 'app=web', containers: ['web'] }],
    listPods: async () => opts.pods(),
    sync: async (_s, files, targets: StaleContainer[]) => {
      if (opts.fail) throw new Error('tar: not found');
      synced.push({ files: files.map((f) => f.dest), targets: targets.map((t) => t.pod) });
      return { syncMs: 5 };
    },
    rebuild: async () => {
      rebuilds++;
    },
  });
  const lines = () =>
    events.map((e) =>
      e.type === 'step' ? `${e.id} ${e.phase}` : e.type === 'reload' ? `reload ${e.result}` : '',
    );
  return { k, events, synced, lines, rebuilds: () => rebuilds };
}

describe('ResyncKeeper', () => {
  it('a replacement pod: stale at once, the whole ledger once it runs, then ok', async () => {
    let pods = [pod('old', { id: 'c1' })];
    const t = keeper({ pods: () => pods });
    t.k.recordSync(service, [file('a.py')], ['c1']);
    t.k.recordSync(service, [file('b.py'), file('a.py')], ['c1']);
    await tick();
    expect(t.lines()).toEqual([]); // the pod that got the syncs is current
    pods = [pod('old', { id: 'c1', deleting: true }), pod('new', {})];
    await tick(1200);
    expect(t.lines()).toEqual(['resync:web start']);
    expect(t.events[0]).toMatchObject({ detail: expect.stringContaining('ns/new/web is a new container') });
    pods = [pod('new', { id: 'c9' })];
    await tick(400);
    expect(t.synced).toEqual([{ files: ['/app/a.py', '/app/b.py'], targets: ['new'] }]);
    expect(t.lines()).toEqual(['resync:web start', 'resync:web done', 'reload ok']);
    await tick(1200);
    expect(t.synced).toHaveLength(1); // current now: not synced again
    t.k.clear('web');
    expect(t.k.pending('web')).toEqual([]);
  });

  it('a failed re-sync is reported as such and rebuilds once', async () => {
    const t = keeper({ pods: () => [pod('new', { id: 'c2' })], fail: true });
    t.k.recordSync(service, [file('a.py')], ['c1']);
    await tick(100);
    expect(t.lines()).toEqual(['resync:web start', 'resync:web fail', 'reload failed', 'reload ok']);
    expect(t.rebuilds()).toBe(1);
    await tick(1200);
    expect(t.rebuilds()).toBe(1);
    t.k.clear('web');
  });
});

// From file events to reload plans (pure): routing, watcher-level pruning, debounce and
// coalescing over an injected clock, and sync-vs-rebuild classification.
import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../src/config/schema.ts';
import {
  ChangeBuffer,
  type ChangeSet,
  classifyChangeSet,
  mergeChangeSets,
  mergeKind,
  routeChange,
  serviceRoute,
  watcherIgnores,
} from '../../src/watch/changeset.ts';

const ROOT = '/proj';
type RouteSvc = Pick<ServiceConfig, 'name' | 'context' | 'dockerfile' | 'watch' | 'ignore'>;
const s = (o: Partial<RouteSvc> & { name: string }): RouteSvc => ({
  context: '.',
  dockerfile: 'Dockerfile',
  watch: [],
  ignore: [],
  ...o,
});

const routes = [
  serviceRoute(s({ name: 'api', context: 'api', ignore: ['**/*.md'] }), ROOT, 'tmp/\n*.log\n'),
  serviceRoute(
    s({
      name: 'web',
      context: 'web',
      dockerfile: '../docker/web.Dockerfile',
      watch: ['shared', 'config/web.env'],
    }),
    ROOT,
    '',
  ),
  serviceRoute(
    s({ name: 'worker', context: 'api', dockerfile: 'Dockerfile.worker', watch: ['shared'] }),
    ROOT,
    '',
  ),
];
const services = (abs: string) => routeChange(routes, abs).map((r) => r.service);

describe('routeChange', () => {
  it('maps a path to every service whose context contains it', () => {
    expect(services('/proj/api/app/main.py')).toEqual(['api', 'worker']);
    expect(routeChange(routes, '/proj/api/app/main.py')[0]?.rel).toBe('app/main.py');
    expect(services('/proj/web/index.js')).toEqual(['web']);
  });

  it('honours .dockerignore and `ignore` globs per service', () => {
    expect(services('/proj/api/tmp/cache')).toEqual(['worker']); // api's .dockerignore: tmp/
    expect(services('/proj/api/debug.log')).toEqual(['worker']);
    expect(services('/proj/api/docs/x.md')).toEqual(['worker']); // api's ignore: **/*.md
  });

  it('maps `watch` paths (outside the context) with rel undefined', () => {
    expect(services('/proj/shared/lib.js')).toEqual(['web', 'worker']);
    expect(routeChange(routes, '/proj/shared/lib.js')[0]?.rel).toBeUndefined();
    expect(services('/proj/config/web.env')).toEqual(['web']);
    expect(services('/proj/config/other.env')).toEqual([]);
  });

  it('counts a Dockerfile outside the context', () => {
    expect(services('/proj/docker/web.Dockerfile')).toEqual(['web']);
    expect(services('/proj/docker/other.Dockerfile')).toEqual([]);
  });

  it('never counts .git or node_modules, nor paths outside every service', () => {
    expect(services('/proj/api/node_modules/x/index.js')).toEqual([]);
    expect(services('/proj/api/.git/HEAD')).toEqual([]);
    expect(services('/proj/README.md')).toEqual([]);
    expect(services('/elsewhere/api/main.py')).toEqual([]);
  });
});

describe('watcherIgnores (the watcher prunes before reading)', () => {
  it('prunes node_modules, .git and directories every service excludes', () => {
    expect(watcherIgnores(routes, '/proj/api/node_modules', true)).toBe(true);
    expect(watcherIgnores(routes, '/proj/web/.git', undefined)).toBe(true);
    const onlyApi = [serviceRoute(s({ name: 'api', context: 'api' }), ROOT, 'tmp\n*.log\n')];
    expect(watcherIgnores(onlyApi, '/proj/api/tmp', true)).toBe(true);
    expect(watcherIgnores(onlyApi, '/proj/api/tmp', undefined)).toBe(true);
    expect(watcherIgnores(onlyApi, '/proj/api/a.log', false)).toBe(true);
    expect(watcherIgnores(onlyApi, '/proj/api/src', true)).toBe(false);
    expect(watcherIgnores(onlyApi, '/proj/api/src/main.py', false)).toBe(false);
  });

  it('keeps a path another service still wants', () => {
    // api ignores tmp/, worker (same context) does not
    expect(watcherIgnores(routes, '/proj/api/tmp', true)).toBe(false);
  });

  it('does not prune a directory when a ! exception may re-include something below', () => {
    const r = [serviceRoute(s({ name: 'api', context: 'api' }), ROOT, 'build\n!build/keep.txt\n')];
    expect(watcherIgnores(r, '/proj/api/build', true)).toBe(false);
    expect(watcherIgnores(r, '/proj/api/build/x.o', false)).toBe(true);
    expect(watcherIgnores(r, '/proj/api/build/keep.txt', false)).toBe(false);
  });

  it('never ignores the roots or their ancestors, ignores unrelated siblings', () => {
    expect(watcherIgnores(routes, '/proj', true)).toBe(false);
    expect(watcherIgnores(routes, '/proj/api', true)).toBe(false);
    expect(watcherIgnores(routes, '/proj/config', true)).toBe(false);
    expect(watcherIgnores(routes, '/proj/unrelated', true)).toBe(true);
  });
});

describe('coalescing', () => {
  it('nets successive events on one path', () => {
    expect(mergeKind('add', 'change')).toBe('add');
    expect(mergeKind('change', 'change')).toBe('change');
    expect(mergeKind('change', 'unlink')).toBe('unlink');
    expect(mergeKind('add', 'unlink')).toBe('unlink'); // kept: a running build may have sent it
    expect(mergeKind('unlink', 'add')).toBe('change');
  });

  it('releases one set per service after a quiet debounce window', () => {
    const b = new ChangeBuffer({ debounceMs: 150, maxWaitMs: 2000 });
    const f = (n: string) => ({ abs: `/proj/api/${n}`, rel: n, kind: 'change' as const });
    b.add('api', f('a'), 1000);
    b.add('api', f('b'), 1100);
    b.add('api', f('a'), 1200);
    b.add('web', { abs: '/proj/web/x', rel: 'x', kind: 'add' }, 1210);
    expect(b.nextDeadline()).toBe(1350);
    expect(b.takeDue(1349)).toEqual([]);
    const due = b.takeDue(1350);
    expect(due).toHaveLength(1);
    expect(due[0]).toEqual({ service: 'api', files: [f('a'), f('b')], firstAt: 1000, lastAt: 1200 });
    expect(b.nextDeadline()).toBe(1360);
    expect(b.takeDue(1360).map((c) => c.service)).toEqual(['web']);
    expect(b.size).toBe(0);
    expect(b.nextDeadline()).toBeUndefined();
  });

  it('20 rapid edits become one set; a never-ending stream is cut at maxWait', () => {
    const b = new ChangeBuffer({ debounceMs: 150, maxWaitMs: 1000 });
    for (let i = 0; i < 20; i++)
      b.add('api', { abs: `/p/f${i % 3}`, rel: `f${i % 3}`, kind: 'change' }, i * 20);
    const sets = b.takeDue(380 + 150);
    expect(sets).toHaveLength(1);
    expect(sets[0]?.files).toHaveLength(3);
    for (let t = 0; t <= 1000; t += 100) b.add('api', { abs: '/p/x', rel: 'x', kind: 'change' }, 2000 + t);
    expect(b.takeDue(2999)).toEqual([]);
    expect(b.takeDue(3000)).toHaveLength(1);
  });

  it('merges a queued set with a newer one', () => {
    const a: ChangeSet = {
      service: 'api',
      files: [
        { abs: '/x', rel: 'x', kind: 'add' },
        { abs: '/y', rel: 'y', kind: 'change' },
      ],
      firstAt: 10,
      lastAt: 20,
    };
    const b: ChangeSet = {
      service: 'api',
      files: [
        { abs: '/y', rel: 'y', kind: 'unlink' },
        { abs: '/z', rel: 'z', kind: 'change' },
      ],
      firstAt: 30,
      lastAt: 40,
    };
    expect(mergeChangeSets(a, b)).toEqual({
      service: 'api',
      files: [
        { abs: '/x', rel: 'x', kind: 'add' },
        { abs: '/y', rel: 'y', kind: 'unlink' },
        { abs: '/z', rel: 'z', kind: 'change' },
      ],
      firstAt: 10,
      lastAt: 40,
    });
  });
});

describe('classifyChangeSet', () => {
  const svc = {
    sync: [
      { src: 'app/**/*.py', dest: '/srv', run: ['kill', '-HUP', '1'] },
      { src: 'static/**', dest: '/var/www' },
    ],
  };
  const cs = (...rels: (string | undefined)[]) => ({
    files: rels.map((rel, i) => ({ abs: `/proj/api/${rel ?? `outside${i}`}`, rel, kind: 'change' as const })),
  });

  it('syncs when every file matches a rule, mapping dest from the context root', () => {
    const plan = classifyChangeSet(
      cs('app/main.py', 'app/pkg/util.py', 'static/css/site.css'),
      svc,
      'Dockerfile',
    );
    expect(plan).toEqual({
      kind: 'sync',
      files: [
        {
          rel: 'app/main.py',
          abs: '/proj/api/app/main.py',
          kind: 'change',
          dest: '/srv/app/main.py',
          rule: 0,
        },
        {
          rel: 'app/pkg/util.py',
          abs: '/proj/api/app/pkg/util.py',
          kind: 'change',
          dest: '/srv/app/pkg/util.py',
          rule: 0,
        },
        {
          rel: 'static/css/site.css',
          abs: '/proj/api/static/css/site.css',
          kind: 'change',
          dest: '/var/www/static/css/site.css',
          rule: 1,
        },
      ],
    });
  });

  it('rebuilds when one file matches no rule', () => {
    expect(classifyChangeSet(cs('app/main.py', 'requirements.txt'), svc)).toEqual({
      kind: 'rebuild',
      reason: 'requirements.txt matches no sync rule',
    });
  });

  it('rebuilds for the Dockerfile, .dockerignore, files outside the context, or no rules', () => {
    const all = { sync: [{ src: '**', dest: '/srv' }] };
    expect(classifyChangeSet(cs('Dockerfile'), all, 'Dockerfile').kind).toBe('rebuild');
    expect(classifyChangeSet(cs('.dockerignore'), all, 'Dockerfile').kind).toBe('rebuild');
    expect(classifyChangeSet(cs(undefined), all, 'Dockerfile').kind).toBe('rebuild');
    expect(classifyChangeSet(cs('app/main.py'), { sync: [] })).toEqual({
      kind: 'rebuild',
      reason: 'no sync rules',
    });
    expect(classifyChangeSet(cs('.env'), all).kind).toBe('sync'); // dotfiles match globs
  });
});

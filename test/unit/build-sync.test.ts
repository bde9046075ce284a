// Sync mode planning: which files go where, the commands run in each container, and the
// tar fed to `tar -x`. The exec is an injected function that records its calls and
// unpacks the tar it receives (the kube layer provides the real one).
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SyncFile } from '../../src/build/sync.ts';
import {
  type ExecInPod,
  planSync,
  syncCommands,
  syncTar,
  syncToPods,
  TAR_EXTRACT,
} from '../../src/build/sync.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { untar } from '../support/tar.ts';

const rules = [
  { src: 'app/**', dest: '/srv', run: ['kill', '-HUP', '1'] },
  { src: 'static/**', dest: '/var/www', run: ['kill', '-HUP', '1'] },
  { src: 'conf/**', dest: '/etc/app' },
];
const f = (rel: string, kind: SyncFile['kind'], rule: number, dest: string): SyncFile => ({
  rel,
  abs: `/ctx/${rel}`,
  kind,
  rule,
  dest,
});

describe('planSync', () => {
  it('splits copies and deletes, runs each matched rule command once', () => {
    const plan = planSync(
      [
        f('app/b.py', 'change', 0, '/srv/app/b.py'),
        f('app/a.py', 'add', 0, '/srv/app/a.py'),
        f('app/old.py', 'unlink', 0, '/srv/app/old.py'),
        f('static/x.css', 'change', 1, '/var/www/static/x.css'),
        f('conf/c.ini', 'change', 2, '/etc/app/conf/c.ini'),
      ],
      rules,
    );
    expect(plan).toEqual({
      copies: [
        { abs: '/ctx/conf/c.ini', dest: '/etc/app/conf/c.ini' },
        { abs: '/ctx/app/a.py', dest: '/srv/app/a.py' },
        { abs: '/ctx/app/b.py', dest: '/srv/app/b.py' },
        { abs: '/ctx/static/x.css', dest: '/var/www/static/x.css' },
      ],
      deletes: ['/srv/app/old.py'],
      runs: [['kill', '-HUP', '1']],
    });
    expect(syncCommands(plan)).toEqual([
      { cmd: ['rm', '-rf', '--', '/srv/app/old.py'], tar: false },
      { cmd: TAR_EXTRACT, tar: true },
      { cmd: ['kill', '-HUP', '1'], tar: false },
    ]);
  });

  it('refuses a destination that escapes its rule', () => {
    expect(() => planSync([f('app/../../etc/passwd', 'change', 0, '/srv/../etc/passwd')], rules)).toThrow(
      /outside its rule's dest/,
    );
  });

  it('no deletes → no rm; no copies → no tar', () => {
    expect(syncCommands(planSync([f('conf/c.ini', 'unlink', 2, '/etc/app/conf/c.ini')], rules))).toEqual([
      { cmd: ['rm', '-rf', '--', '/etc/app/conf/c.ini'], tar: false },
    ]);
  });
});

const untarFiles = async (buf: Buffer) => (await untar(Readable.from([buf]))).files;

describe('sync tar and exec', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-sync-'));
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'app/main.py'), 'print(1)\n');
    await writeFile(join(dir, 'app/run.sh'), '#!/bin/sh\n');
    await chmod(join(dir, 'app/run.sh'), 0o755);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('packs each file at its container path, with its mode; missing files are reported', async () => {
    const { tar: body, missing } = await syncTar([
      { abs: join(dir, 'app/main.py'), dest: '/srv/app/main.py' },
      { abs: join(dir, 'app/run.sh'), dest: '/srv/app/run.sh' },
      { abs: join(dir, 'app/gone.py'), dest: '/srv/app/gone.py' },
    ]);
    const files = await untarFiles(body);
    expect([...files.keys()]).toEqual(['srv/app/main.py', 'srv/app/run.sh']);
    expect(files.get('srv/app/run.sh')).toEqual({ mode: 0o755, body: '#!/bin/sh\n' });
    expect(missing).toEqual(['/srv/app/gone.py']);
  });

  it('runs rm, tar -x (with the tar on stdin), then run commands, in every target container', async () => {
    const calls: { pod: string; cmd: string[]; files?: string[] }[] = [];
    const exec: ExecInPod = async (_ns, pod, _c, cmd, stdin) => {
      calls.push({ pod, cmd, ...(stdin ? { files: [...(await untarFiles(stdin)).keys()] } : {}) });
      return { code: 0 };
    };
    const plan = planSync(
      [
        {
          rel: 'app/main.py',
          abs: join(dir, 'app/main.py'),
          kind: 'change',
          rule: 0,
          dest: '/srv/app/main.py',
        },
        {
          rel: 'app/gone.py',
          abs: join(dir, 'app/gone.py'),
          kind: 'change',
          rule: 0,
          dest: '/srv/app/gone.py',
        },
      ],
      rules,
    );
    const events: ProgressEvent[] = [];
    const r = await syncToPods({
      service: 'api',
      plan,
      targets: [
        { namespace: 'ns', pod: 'api-1', container: 'app' },
        { namespace: 'ns', pod: 'api-2', container: 'app' },
      ],
      execInPod: exec,
      onEvent: (e) => {
        events.push(e);
      },
    });
    expect(r.syncMs).toBeGreaterThanOrEqual(0);
    for (const pod of ['api-1', 'api-2']) {
      expect(calls.filter((c) => c.pod === pod)).toEqual([
        { pod, cmd: ['rm', '-rf', '--', '/srv/app/gone.py'] }, // changed, then deleted before the sync
        { pod, cmd: TAR_EXTRACT, files: ['srv/app/main.py'] },
        { pod, cmd: ['kill', '-HUP', '1'] },
      ]);
    }
    expect(events.map((e) => e.type === 'step' && `${e.id}:${e.phase}`)).toEqual([
      'sync:api:start',
      'sync:api:done',
    ]);
  });

  it('fails with the command output when a command exits non-zero', async () => {
    const exec: ExecInPod = async (_ns, _pod, _c, cmd) =>
      cmd[0] === 'tar' ? { code: 127, stderr: 'sh: tar: not found\n' } : { code: 0 };
    const plan = planSync(
      [{ rel: 'app/main.py', abs: join(dir, 'app/main.py'), kind: 'add', rule: 0, dest: '/srv/app/main.py' }],
      rules,
    );
    await expect(
      syncToPods({
        service: 'api',
        plan,
        targets: [{ namespace: 'ns', pod: 'p', container: 'c' }],
        execInPod: exec,
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/exited with 127/),
      details: ['sh: tar: not found'],
    });
  });
});

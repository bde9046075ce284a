// The build context: which files Docker receives, the content tag over them, the digest
// cache, and the tar stream. Real files in a temp dir; no engine.
import { chmod, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type BuildContext,
  ContextChangedError,
  computeContentTag,
  contextTar,
  HashCache,
  scanContext,
} from '../../src/build/context.ts';
import { insertAfterBuiltFrom, labelInstruction } from '../../src/build/dockerfile.ts';
import { contextMatcher, parseDockerignore } from '../../src/build/ignore.ts';
import type { ServiceConfig } from '../../src/config/schema.ts';
import { untar } from '../support/tar.ts';
import { tempTree, writeIn } from '../support/tree.ts';

type Svc = Pick<ServiceConfig, 'name' | 'context' | 'dockerfile' | 'ignore' | 'buildArgs' | 'target'>;

let root: string;
const svc = (over: Partial<Svc> = {}): Svc => ({
  name: 'api',
  context: 'api',
  dockerfile: 'Dockerfile',
  ignore: [],
  buildArgs: {},
  ...over,
});

const write = (rel: string, content: string) => writeIn(root, rel, content);

beforeEach(async () => {
  root = await tempTree('devenv-ctx-', {
    'api/Dockerfile': 'FROM devenv-test/base:bookworm\nCOPY . /app\n',
    'api/.dockerignore': '# comment\n*.log\ntmp/\nsecret.txt\n',
    'api/app/main.py': 'print("hello")\n',
    'api/app/util.py': 'X = 1\n',
    'api/README.md': '# api\n',
  });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const tagOf = async (s: Svc = svc(), cache = new HashCache()) => (await scanContext(s, root, { cache })).tag;

describe('content tag', () => {
  it('has the dev-<12 hex> form and is stable for the same content', async () => {
    const a = await tagOf();
    expect(a).toMatch(/^dev-[0-9a-f]{12}$/);
    expect(await tagOf()).toBe(a);
  });

  it('does not change when only mtimes change (touch)', async () => {
    const cache = new HashCache();
    const a = await tagOf(svc(), cache);
    const future = new Date(Date.now() + 60_000);
    await utimes(join(root, 'api/app/main.py'), future, future);
    expect(await tagOf(svc(), cache)).toBe(a);
    expect(await tagOf(svc(), new HashCache())).toBe(a);
  });

  it('changes when a file changes, even when size and mtime are restored (cache keys on ctime too)', async () => {
    const cache = new HashCache();
    const old = new Date(Date.now() - 60_000);
    await utimes(join(root, 'api/app/util.py'), old, old);
    const a = await tagOf(svc(), cache);
    await write('api/app/util.py', 'X = 2\n'); // same size
    await utimes(join(root, 'api/app/util.py'), old, old); // same mtime
    expect(await tagOf(svc(), cache)).not.toBe(a);
    expect(await tagOf(svc(), new HashCache())).not.toBe(a);
  });

  it('changes when a file is added, removed or renamed', async () => {
    const a = await tagOf();
    await write('api/app/new.py', '');
    const b = await tagOf();
    expect(b).not.toBe(a);
    await rm(join(root, 'api/app/new.py'));
    expect(await tagOf()).toBe(a);
    await rm(join(root, 'api/app/util.py'));
    await write('api/app/util2.py', 'X = 1\n');
    expect(await tagOf()).not.toBe(a);
  });

  it('does not change when a .dockerignore-d or `ignore`d file changes', async () => {
    const a = await tagOf(svc({ ignore: ['docs/**'] }));
    await write('api/debug.log', 'noise');
    await write('api/tmp/cache.bin', 'noise');
    await write('api/secret.txt', 'noise');
    await write('api/docs/guide.md', 'noise');
    expect(await tagOf(svc({ ignore: ['docs/**'] }))).toBe(a);
    // the same docs file counts for a service that does not ignore it
    expect(await tagOf(svc())).not.toBe(a);
  });

  it('changes with the mode (executable bit), the Dockerfile, buildArgs and target', async () => {
    const a = await tagOf();
    await chmod(join(root, 'api/app/main.py'), 0o755);
    const b = await tagOf();
    expect(b).not.toBe(a);
    expect(await tagOf(svc({ buildArgs: { PY: '3.11' } }))).not.toBe(b);
    expect(await tagOf(svc({ buildArgs: { PY: '3.12' } }))).not.toBe(
      await tagOf(svc({ buildArgs: { PY: '3.11' } })),
    );
    expect(await tagOf(svc({ target: 'dev' }))).not.toBe(b);
    await write('api/Dockerfile', 'FROM devenv-test/base:bookworm\nCOPY . /srv\n');
    expect(await tagOf()).not.toBe(b);
  });

  it('is order-independent in its pure form', () => {
    const e1 = { rel: 'a', type: 'file' as const, mode: 0o644, sha256: '1' };
    const e2 = { rel: 'b', type: 'file' as const, mode: 0o644, sha256: '2' };
    const df = { path: 'Dockerfile', sha256: 'd' };
    expect(computeContentTag({ entries: [e1, e2], dockerfile: df, buildArgs: { A: '1', B: '2' } })).toBe(
      computeContentTag({ entries: [e2, e1], dockerfile: df, buildArgs: { B: '2', A: '1' } }),
    );
    expect(computeContentTag({ entries: [e1], dockerfile: df, buildArgs: {} })).not.toBe(
      computeContentTag({ entries: [{ ...e1, rel: 'c' }], dockerfile: df, buildArgs: {} }),
    );
  });

  it('fails clearly when the Dockerfile is missing', async () => {
    await rm(join(root, 'api/Dockerfile'));
    await expect(scanContext(svc(), root, { cache: new HashCache() })).rejects.toThrow(
      /Dockerfile of service "api"/,
    );
  });

  it('handles a Dockerfile outside the context', async () => {
    await write('docker/api.Dockerfile', 'FROM devenv-test/base:bookworm\n');
    const ctx = await scanContext(svc({ dockerfile: '../docker/api.Dockerfile' }), root, {
      cache: new HashCache(),
    });
    expect(ctx.dockerfile).toBe('.devenv.Dockerfile');
    const names = await tarNames(contextTar(ctx));
    expect(names).toContain('.devenv.Dockerfile');
  });
});

describe('digest cache', () => {
  it('re-hashes nothing for an unchanged tree (keyed by size, mtime, inode)', async () => {
    for (let i = 0; i < 300; i++) await write(`api/gen/d${i % 10}/f${i}.txt`, `file ${i}\n`);
    const old = new Date(Date.now() - 60_000);
    const ctx0 = await scanContext(svc(), root, { cache: new HashCache() });
    for (const e of ctx0.entries) await utimes(e.abs, old, old);
    const cache = new HashCache();
    const first = await scanContext(svc(), root, { cache });
    expect(cache.misses).toBe(first.entries.length);
    cache.hits = 0;
    cache.misses = 0;
    const second = await scanContext(svc(), root, { cache });
    expect(second.tag).toBe(first.tag);
    expect(cache.misses).toBe(0);
    expect(cache.hits).toBe(first.entries.length);
  });

  it('does not cache a digest of a file modified within the racy window', async () => {
    const cache = new HashCache();
    await scanContext(svc(), root, { cache }); // every file was just written
    expect(cache.size).toBe(0);
  });
});

describe('.dockerignore matching (Docker semantics)', () => {
  it('excludes a path and what is below it, honours ! exceptions and **', () => {
    const m = contextMatcher(parseDockerignore('# c\n\nbuild\n*.log\n**/*.tmp\n!build/keep.txt\n'));
    expect(m.ignores('build/x.o')).toBe(true);
    expect(m.ignores('build/keep.txt')).toBe(false);
    expect(m.ignores('a.log')).toBe(true);
    expect(m.ignores('sub/a.log')).toBe(false); // no implicit **/ prefix, as in Docker
    expect(m.ignores('x/y/z.tmp')).toBe(true);
    expect(m.ignores('src/main.py')).toBe(false);
    // with an exception present, directories are never pruned (it may re-include below)
    expect(m.prunesDir('build')).toBe(false);
    const n = contextMatcher(['build', 'node_modules']);
    expect(n.prunesDir('build')).toBe(true);
    expect(n.prunesDir('src')).toBe(false);
  });

  it('always keeps the Dockerfile and .dockerignore', () => {
    const m = contextMatcher(['Dockerfile', '.dockerignore', '*'], [], ['Dockerfile', '.dockerignore']);
    expect(m.ignores('Dockerfile')).toBe(false);
    expect(m.ignores('.dockerignore')).toBe(false);
    expect(m.ignores('main.py')).toBe(true);
  });
});

async function tarNames(stream: Readable): Promise<string[]> {
  const { names } = await untar(stream);
  return names;
}

describe('context tar', () => {
  let ctx: BuildContext;
  beforeEach(async () => {
    await write('api/debug.log', 'noise');
    await write('api/tmp/x', 'noise');
    await chmod(join(root, 'api/app/main.py'), 0o755);
    ctx = await scanContext(svc(), root, { cache: new HashCache() });
  });

  it('holds exactly the included files, with their modes and contents', async () => {
    const { names, files } = await untar(contextTar(ctx));
    expect(names.sort()).toEqual(['.dockerignore', 'Dockerfile', 'README.md', 'app/main.py', 'app/util.py']);
    expect(files.get('app/main.py')).toEqual({ mode: 0o755, body: 'print("hello")\n' });
  });

  it('fails instead of sending content that does not match the tag', async () => {
    await write('api/app/util.py', 'X = 99  # edited after the scan\n');
    await expect(untar(contextTar(ctx))).rejects.toBeInstanceOf(ContextChangedError);
  });
});

describe('labels in the Dockerfile as sent', () => {
  it('one LABEL line after the FROM of the built stage', () => {
    expect(labelInstruction({ b: '2', 'a/x': 'y z' })).toBe('LABEL "a/x"="y z" "b"="2"');
    const L = 'LABEL "a"="b"';
    expect(insertAfterBuiltFrom('FROM x\nCOPY . /app\n', L)).toBe(`FROM x\n${L}\nCOPY . /app\n`);
    const multi =
      'FROM x AS build\nRUN make\nfrom y as Dev\nRUN dev\nFROM z AS prod\nCOPY --from=build /o /o\n';
    expect(insertAfterBuiltFrom(multi, L)).toBe(multi.replace('FROM z AS prod\n', `FROM z AS prod\n${L}\n`));
    expect(insertAfterBuiltFrom(multi, L, 'dev')).toBe(
      multi.replace('from y as Dev\n', `from y as Dev\n${L}\n`),
    );
    expect(insertAfterBuiltFrom(multi, L, 'nope')).toBeUndefined();
    expect(insertAfterBuiltFrom('FROM \\\n  x\n', L)).toBeUndefined();
    expect(insertAfterBuiltFrom('RUN echo \\\nFROM x\n', L)).toBeUndefined(); // not a FROM: continuation
    expect(insertAfterBuiltFrom('FROM x\r\nRUN y\r\n', L)).toBe(`FROM x\r\n${L}\r\nRUN y\r\n`);
  });

  it('is applied to the Dockerfile as sent, not on disk', async () => {
    const ctx = await scanContext(svc(), root, { cache: new HashCache() });
    const { files } = await untar(contextTar(ctx, { transformDockerfile: (t) => `${t}# sent\n` }));
    expect(files.get('Dockerfile')?.body).toBe('FROM devenv-test/base:bookworm\nCOPY . /app\n# sent\n');
  });
});

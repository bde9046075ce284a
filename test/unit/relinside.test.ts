/**
 * relInside (build/ignore.ts) answers every path of a watched tree against every service's
 * context; its prefix fast path for normalized absolute paths must give exactly the
 * path.relative answer it replaced, for those paths and for any other (which take the
 * slow path).
 */
import { isAbsolute, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relInside } from '../../src/build/ignore.ts';

/** The definition: path.relative, outside = undefined, posix separators. */
function reference(dir: string, abs: string): string | undefined {
  const rel = relative(dir, abs);
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

const dirs = [
  '/',
  '/p',
  '/p/svc-01',
  '/p/svc-1',
  '/p/svc-01/',
  '/p/./svc-01',
  '/p//svc-01',
  'p/svc-01',
  '/p/..',
];
const paths = [
  '/',
  '/p',
  '/p/svc-01',
  '/p/svc-01/app.py',
  '/p/svc-01/src/m1.py',
  '/p/svc-010/app.py',
  '/p/svc-1/app.py',
  '/p/svc-01/../svc-02/app.py',
  '/p/svc-01/./app.py',
  '/p/svc-01//app.py',
  '/p/svc-01/src/',
  '/p/svc-01/.dockerignore',
  '/p/svc-01/..data/x',
  '/p/svc-01/.../x',
  '/q/svc-01/app.py',
  'p/svc-01/app.py',
];

describe('relInside', () => {
  it('gives the path.relative answer for every pair of paths', () => {
    for (const dir of dirs)
      for (const abs of paths)
        expect(relInside(dir, abs), `relInside(${dir}, ${abs})`).toBe(reference(dir, abs));
  });

  it('answers the watcher case: a file inside, the context itself, a sibling with a longer name', () => {
    expect(relInside('/p/svc-01', '/p/svc-01/src/m1.py')).toBe('src/m1.py');
    expect(relInside('/p/svc-01', '/p/svc-01')).toBe('');
    expect(relInside('/p/svc-01', '/p/svc-010/app.py')).toBeUndefined();
    expect(relInside('/p/svc-01/src', '/p/svc-01')).toBeUndefined();
  });
});

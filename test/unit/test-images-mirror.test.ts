/**
 * The test images are built from the machine's own Debian mirror (its apt sources), never
 * from a mirror host written into the repository; deb.debian.org is only the fallback for
 * a machine that names none. Runs test/images/mirror.sh's functions on apt directories
 * written here, in each format apt reads.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const mirrorSh = join(root, 'test', 'images', 'mirror.sh');
const tmp = mkdtempSync(join(tmpdir(), 'devenv-apt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** An apt directory holding `files` (relative path → text). */
function aptDir(files: Record<string, string>): string {
  const dir = join(tmp, `apt${n++}`);
  mkdirSync(join(dir, 'sources.list.d'), { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

function mirrors(dir: string): string[] {
  const out = execFileSync('bash', ['-c', 'source "$1"; debian_mirrors "$2"', 'bash', mirrorSh, dir], {
    encoding: 'utf8',
  });
  return out.trim().split('\n');
}

describe('test image Debian mirror', () => {
  it('reads a one-line sources.list, skipping options, comments, deb-src and other repositories', () => {
    const dir = aptDir({
      'sources.list': [
        '# deb http://commented.example/debian bookworm main',
        'deb-src http://src.example/debian bookworm main',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://deb.nodesource.com/node_20.x nodistro main',
        'deb [ arch=amd64 ] http://ftp.de.debian.org/debian/ bookworm main contrib  # the main archive',
        'deb http://ftp.de.debian.org/debian bookworm-updates main',
        'deb http://security.example.org/debian-security bookworm-security main',
        '',
      ].join('\n'),
    });
    expect(mirrors(dir)).toEqual([
      'http://ftp.de.debian.org/debian',
      'http://security.example.org/debian-security',
    ]);
  });

  it('reads deb822 .sources: disabled stanzas skipped, inline keys and several URIs', () => {
    const dir = aptDir({
      'sources.list.d/00-off.sources':
        'Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nComponents: main\nEnabled: no\n',
      'sources.list.d/debian.sources': [
        'Types: deb deb-src',
        '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
        'URIs: http://apt-cache.lan:3142/debian http://second.example/debian',
        'Suites: trixie trixie-updates',
        'Components: main',
        'Signed-By:',
        ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
        ' .',
        ' mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD9K7UgrAs1A0Tz8bCh',
        ' -----END PGP PUBLIC KEY BLOCK-----',
        '',
        'Types: deb',
        'URIs: http://apt-cache.lan:3142/debian-security',
        'Suites: trixie-security',
        'Components: main',
        '',
      ].join('\n'),
    });
    expect(mirrors(dir)).toEqual([
      'http://apt-cache.lan:3142/debian',
      'http://apt-cache.lan:3142/debian-security',
    ]);
  });

  it('falls back to deb.debian.org on a machine without Debian sources, for each archive on its own', () => {
    const ubuntu = aptDir({
      'sources.list':
        'deb http://archive.ubuntu.com/ubuntu noble main\ndeb http://security.ubuntu.com/ubuntu noble-security main\n',
    });
    expect(mirrors(ubuntu)).toEqual([
      'http://deb.debian.org/debian',
      'http://deb.debian.org/debian-security',
    ]);
    expect(mirrors(join(tmp, 'no-such-dir'))).toEqual([
      'http://deb.debian.org/debian',
      'http://deb.debian.org/debian-security',
    ]);
    const mainOnly = aptDir({ 'sources.list.d/local.list': 'deb http://mirror.lan/debian stable main\n' });
    expect(mirrors(mainOnly)).toEqual(['http://mirror.lan/debian', 'http://deb.debian.org/debian-security']);
  });

  it('the build scripts parse, and name no Debian mirror host besides the fallback', () => {
    const scripts = ['images', 'cluster', 'k3d'].flatMap((d) =>
      readdirSync(join(root, 'test', d))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => join(root, 'test', d, f)),
    );
    for (const s of scripts) execFileSync('bash', ['-n', s]);
    const naming = scripts.filter(
      (s) => s !== mirrorSh && /deb\.debian\.org|ftp\.\w+\.debian\.org/.test(readFileSync(s, 'utf8')),
    );
    expect(naming).toEqual([]);
  });
});

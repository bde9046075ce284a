import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostics.ts';
import { checkConfigFile } from '../../src/config/load.ts';
import { validateConfigText } from '../../src/config/validate.ts';

const root = join(import.meta.dirname, '..', '..');
const badDir = join(root, 'test', 'fixtures', 'config', 'bad');
const badFiles = readdirSync(badDir).filter((f) => f.endsWith('.yaml'));

/** Each bad fixture states what it expects in "# expect: LINE:COL MESSAGE-PREFIX" comments. */
function expectations(file: string): Array<{ line: number; col: number; text: string }> {
  const text = readFileSync(join(badDir, file), 'utf8');
  const found = [...text.matchAll(/^# expect: (\d+):(\d+) (.+)$/gm)].map((m) => ({
    line: Number(m[1]),
    col: Number(m[2]),
    text: m[3]!,
  }));
  return found.length ? found : [{ line: 1, col: 1, text: 'the file is empty' }];
}

describe('devenv.yaml validation', () => {
  it('has at least 25 distinct bad inputs', () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(25);
  });

  for (const file of badFiles) {
    it(`reports ${file} at the right line and column`, () => {
      const result = checkConfigFile(join(badDir, file));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const printed = result.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
      for (const e of expectations(file)) {
        expect(printed, `expected ${e.line}:${e.col} ${e.text}`).toContainEqual(
          expect.stringContaining(`${e.line}:${e.col} ${e.text}`),
        );
      }
      for (const d of result.diagnostics) expect(formatDiagnostic(d)).toMatch(/^.+\.yaml:\d+:\d+: /);
    });
  }

  it('reports every problem at once, sorted by position', () => {
    const result = checkConfigFile(join(badDir, '28-many-problems.yaml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.length).toBeGreaterThanOrEqual(4);
    const lines = result.diagnostics.map((d) => d.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('accepts a full valid config and fills defaults', () => {
    const result = checkConfigFile(join(root, 'test', 'fixtures', 'config', 'good', 'devenv.yaml'));
    if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
    const c = result.config;
    expect(c.cluster).toMatchObject({
      servers: 1,
      agents: 2,
      config: 'k3d/cluster.yaml',
      allowContexts: ['kind-ci'],
    });
    expect(c.services[0]).toMatchObject({ name: 'api', dockerfile: 'Dockerfile', watch: [], ignore: [] });
    expect(c.database).toMatchObject({ engine: 'postgres', version: '16' });
    expect(c.objectStore).toMatchObject({ port: 9000, consolePort: 9001 });
    expect(c.prerelease).toMatchObject({ namespacePrefix: 'prerelease', ttl: '12h', database: 'shared' });
    expect(c.tls).toMatchObject({ port: 8443, secretName: 'devenv-tls' });
  });

  it('checks tls.hosts as DNS names; a wildcard first label, an IP and a trailing dot pass', () => {
    const withHosts = (hosts: string[]) =>
      validateConfigText(
        [
          'apiVersion: devenv.dev/v1alpha1',
          'project: p',
          'services: [{name: chat, context: x, manifests: [m]}]',
          `tls: {service: chat, hosts: ${JSON.stringify(hosts)}}`,
          '',
        ].join('\n'),
        'mem.yaml',
        { kind: (p) => (p === 'x' ? 'dir' : 'file') },
      );
    const good = ['*.p.localhost', 'Chat.P.localhost.', '10.0.0.1', '[::1]', 'a-b.localhost'];
    expect(withHosts(good).ok).toBe(true);
    const bad = ['-a.localhost', 'a-.localhost', 'a..b', 'a b', '*', 'a.*.b', `${'x'.repeat(64)}.localhost`];
    const result = withHosts(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => d.path)).toEqual(bad.map((_, i) => `tls.hosts[${i}]`));
    for (const d of result.diagnostics)
      expect(d.message).toMatch(/^tls\.hosts\[\d\]: ".*" is not a valid DNS name: /);
  });

  it('says which type a key needs in the words of YAML, never zod\'s "Invalid input"', () => {
    const problems = (yaml: string) => {
      const r = validateConfigText(
        `apiVersion: devenv.dev/v1alpha1\nproject: p\nservices: [{name: a, context: x, manifests: [m]}]\n${yaml}\n`,
        'mem.yaml',
        { kind: (p) => (p === 'x' ? 'dir' : 'file') },
      );
      return r.ok ? [] : r.diagnostics.map((d) => d.message);
    };
    expect(problems('database: {engine: postgres, version: {major: 16}}')).toEqual([
      'database.version: expected a string or a number, got a mapping',
    ]);
    expect(problems('database: {engine: postgres, version: [16]}')).toEqual([
      'database.version: expected a string or a number, got a list',
    ]);
    expect(problems('database: [postgres]')).toEqual(['database: expected a mapping, got a list']);
    expect(problems('cluster: {agents: 1.5}')).toEqual([
      'cluster.agents: expected a whole number, got the number 1.5',
    ]);
    expect(problems('prerelease: {ttl: true}')).toEqual([
      'prerelease.ttl: expected a string, got the boolean true',
    ]);
    expect(problems('database: {engine: postgres, version: }')).toEqual([
      'database.version: expected a string or a number, got null',
    ]);
  });

  it('uses the injected probe for files (pure validation)', () => {
    const text =
      'apiVersion: devenv.dev/v1alpha1\nproject: p\nservices:\n  - name: a\n    context: x\n    manifests: [m]\n';
    const all = validateConfigText(text, 'mem.yaml', { kind: (p) => (p === 'x' ? 'dir' : 'file') });
    expect(all.ok).toBe(true);
    const none = validateConfigText(text, 'mem.yaml', { kind: () => 'missing' });
    expect(none.ok).toBe(false);
  });
});

describe('devenv config validate (CLI)', () => {
  const devenv = join(root, 'devenv');
  it('prints file:line:col for every problem and exits 2', () => {
    const r = spawnSync(
      process.execPath,
      [devenv, 'config', 'validate', join(badDir, '28-many-problems.yaml')],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => /28-many-problems\.yaml:\d+:\d+: /.test(l)).length).toBeGreaterThanOrEqual(4);
    expect(r.stderr).toContain('problems found');
  });
  for (const file of badFiles) {
    it(`exits 2 on ${file}`, () => {
      const r = spawnSync(process.execPath, [devenv, 'config', 'validate', join(badDir, file)], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/\.yaml:\d+:\d+: /);
    });
  }
  it('exits 0 on the good config', () => {
    const out = execFileSync(
      process.execPath,
      [devenv, 'config', 'validate', join(root, 'test', 'fixtures', 'config', 'good', 'devenv.yaml')],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toContain('project "shop"');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCompose, parseCompose } from '../../src/compose/parse.ts';
import { parseDuration, parsePortSpec, parseVolumeSpec, shellSplit } from '../../src/compose/specs.ts';
import { OBJECT_STORE_ENGINES } from '../../src/config/engines.ts';
import { DevenvError } from '../../src/errors.ts';

const ROOT = join(import.meta.dirname, '../..');
const read = (name: string) => readFileSync(join(ROOT, 'compose', name), 'utf8');

function diags(text: string, vars: Record<string, string> = {}) {
  const r = checkCompose(text, 'x.yaml', '/proj', vars);
  if (r.ok) throw new Error('expected problems');
  return r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
}

describe("devenv's compose files", () => {
  it('postgres.yaml resolves with the variables devenv passes', () => {
    const c = parseCompose(read('postgres.yaml'), 'compose/postgres.yaml', '/x', {
      DB_IMAGE: 'devenv-test/postgres:15',
      DB_PORT: '15432',
      DB_USER: 'devenv',
      DB_PASSWORD: 'pw',
      DB_NAME: 'shop',
    });
    expect(c.services).toHaveLength(1);
    const s = c.services[0]!;
    expect(s.image).toBe('devenv-test/postgres:15');
    expect(s.environment).toEqual({ POSTGRES_USER: 'devenv', POSTGRES_PASSWORD: 'pw', POSTGRES_DB: 'shop' });
    expect(s.ports).toMatchObject([
      { hostIp: '127.0.0.1', hostPort: 15432, containerPort: 5432, protocol: 'tcp' },
    ]);
    expect(s.volumes).toEqual([
      { type: 'volume', source: 'data', target: '/var/lib/postgresql/data', readOnly: false },
    ]);
    expect(s.healthcheck?.test[0]).toBe('CMD-SHELL');
    expect(s.healthcheck?.test[1]).toContain('"$POSTGRES_USER"'); // $$ kept for the container's shell
    expect(s.healthcheck).toMatchObject({ intervalNs: 2e9, timeoutNs: 5e9, retries: 90, startPeriodNs: 5e9 });
    expect(c.volumes).toEqual(['data']);
  });

  it('defaults are the official images (MinIO: the pinned quay.io release, as the engines table says)', () => {
    const pg = parseCompose(read('postgres.yaml'), 'p', '/x', {});
    const my = parseCompose(read('mysql.yaml'), 'm', '/x', {});
    const mi = parseCompose(read('minio.yaml'), 'o', '/x', {});
    expect(pg.services[0]!.image).toBe('postgres:16');
    expect(my.services[0]!.image).toBe('mysql:8.4');
    // The compose file stands alone (docker compose config), so it repeats the default:
    // it must be the engines table's, digest and all.
    expect(mi.services[0]!.image).toBe(OBJECT_STORE_ENGINES.minio.image);
    expect(mi.services[0]!.image).toMatch(/^quay\.io\/minio\/minio:RELEASE\.[^@]+@sha256:[0-9a-f]{64}$/);
    expect(mi.services[0]!.command).toEqual(['server', '/data', '--console-address', ':9001']);
    expect(mi.services[0]!.ports.map((p) => p.containerPort)).toEqual([9000, 9001]);
  });

  it('run by hand, without devenv, they resolve to their defaults', () => {
    const pg = parseCompose(read('postgres.yaml'), 'p', '/x', {});
    expect(pg.missingVars).toEqual([]);
    expect(pg.services[0]!.ports[0]!.hostPort).toBe(5432);
  });

  it('a required variable that is missing is an error at its line', () => {
    const text = [
      'services:',
      '  db:',
      '    image: i',
      '    environment:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose syntax, not a template
      '      PW: ${DB_PASSWORD:?set it}',
      '',
    ].join('\n');
    expect(diags(text)).toEqual([
      'x.yaml:5:11: services.db.environment.PW: required variable DB_PASSWORD is missing: set it',
    ]);
  });
});

describe('compose validation', () => {
  it('never expands aliases, so an alias bomb is reported, not expanded', () => {
    // The compose checks walk the YAML nodes; an alias where a value is expected is a
    // located problem, and nothing is ever multiplied out.
    const nine = (x: string) => `[${Array(9).fill(x).join(', ')}]`;
    const text = [
      'services:',
      '  db:',
      '    image: postgres:16',
      `    command: &a ${nine('x')}`,
      '  db2:',
      `    command: &b ${nine('*a')}`,
      '  db3:',
      `    command: &c ${nine('*b')}`,
      '  db4:',
      `    command: ${nine('*c')}`,
      '',
    ].join('\n');
    const d = diags(text);
    expect(d.length).toBeGreaterThan(0);
    for (const line of d) expect(line).toMatch(/^x\.yaml:\d+:\d+: /);
  });

  it('refuses a key devenv does not honour, at its file:line:col, naming the key', () => {
    const text = ['services:', '  db:', '    image: postgres:16', '    restart: always', ''].join('\n');
    expect(diags(text)).toEqual([
      'x.yaml:4:5: unsupported key "restart" in services.db: devenv honours only image, environment, ports, volumes, command, healthcheck',
    ]);
  });

  it('suggests the key a typo meant', () => {
    const text = ['services:', '  db:', '    image: postgres:16', '    enviroment: {A: b}', ''].join('\n');
    expect(diags(text)[0]).toMatch(
      /^x\.yaml:4:5: unsupported key "enviroment".*\(did you mean "environment"\?\)$/,
    );
  });

  it('refuses unknown top-level keys and keys in healthcheck / long port syntax', () => {
    const text = [
      'services:',
      '  db:',
      '    image: postgres:16',
      '    ports:',
      '      - target: 5432',
      '        mode: host',
      '    healthcheck:',
      '      test: ["CMD", "true"]',
      '      retry: 3',
      'networks:',
      '  default: {}',
      '',
    ].join('\n');
    const d = diags(text);
    expect(d).toHaveLength(3);
    expect(d[0]).toMatch(/^x\.yaml:6:9: unsupported key "mode"/);
    expect(d[1]).toMatch(/^x\.yaml:9:7: unsupported key "retry" in services\.db\.healthcheck/);
    expect(d[2]).toMatch(/^x\.yaml:10:1: unsupported key "networks" in the compose file/);
  });

  it('requires named volumes to be declared and images to be set', () => {
    const text = ['services:', '  db:', '    volumes: ["data:/var/lib/x"]', ''].join('\n');
    const d = diags(text);
    expect(d).toContain('x.yaml:2:3: services.db: missing required key "image"');
    expect(d.some((l) => /^x\.yaml:3:15: .*named volume "data" is not declared/.test(l))).toBe(true);
  });

  it('parseCompose throws a bad-input DevenvError (exit 2) listing every problem', () => {
    const text = [
      'services:',
      '  db:',
      '    image: x',
      '    restart: always',
      '    privileged: true',
      '',
    ].join('\n');
    try {
      parseCompose(text, 'f.yaml', '/p', {});
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DevenvError);
      expect((e as DevenvError).exitCode).toBe(2);
      expect((e as DevenvError).message).toMatch(/^f\.yaml: 2 problems/);
      expect((e as DevenvError).details).toHaveLength(2);
    }
  });

  it('reports YAML syntax errors with their position', () => {
    expect(diags('services:\n  db: [\n')[0]).toMatch(/^x\.yaml:\d+:\d+: invalid YAML/);
  });

  it('takes environment as a list, and KEY alone from the variables', () => {
    const c = parseCompose(
      ['services:', '  s:', '    image: i', '    environment: ["A=1", "B", "C=x=y"]', ''].join('\n'),
      'f',
      '/p',
      { B: 'from-vars' },
    );
    expect(c.services[0]!.environment).toEqual({ A: '1', B: 'from-vars', C: 'x=y' });
  });

  it('resolves bind mounts against the compose file directory', () => {
    const c = parseCompose(
      [
        'services:',
        '  s:',
        '    image: i',
        '    volumes: ["./init:/docker-entrypoint-initdb.d:ro"]',
        '',
      ].join('\n'),
      'f',
      '/proj/compose',
      {},
    );
    expect(c.services[0]!.volumes).toEqual([
      { type: 'bind', source: '/proj/compose/init', target: '/docker-entrypoint-initdb.d', readOnly: true },
    ]);
  });
});

describe('compose value syntaxes', () => {
  it('port mappings', () => {
    expect(parsePortSpec('5432')).toEqual({ containerPort: 5432, protocol: 'tcp' });
    expect(parsePortSpec('15432:5432')).toEqual({ hostPort: 15432, containerPort: 5432, protocol: 'tcp' });
    expect(parsePortSpec('127.0.0.1:1:2/udp')).toEqual({
      hostIp: '127.0.0.1',
      hostPort: 1,
      containerPort: 2,
      protocol: 'udp',
    });
    expect(parsePortSpec('127.0.0.1::5432')).toEqual({
      hostIp: '127.0.0.1',
      containerPort: 5432,
      protocol: 'tcp',
    });
    expect(parsePortSpec('[::1]:80:8080')).toEqual({
      hostIp: '::1',
      hostPort: 80,
      containerPort: 8080,
      protocol: 'tcp',
    });
    expect(parsePortSpec('8000-8001:8000-8001')).toMatch(/ranges are not supported/);
    expect(parsePortSpec('70000:1')).toMatch(/invalid host port/);
    expect(parsePortSpec('1:2/sctp')).toMatch(/protocol "sctp"/);
  });

  it('volumes', () => {
    expect(parseVolumeSpec('data:/d', '/p')).toEqual({
      type: 'volume',
      source: 'data',
      target: '/d',
      readOnly: false,
    });
    expect(parseVolumeSpec('/d', '/p')).toEqual({ type: 'volume', target: '/d', readOnly: false });
    expect(parseVolumeSpec('/abs:/d:ro', '/p')).toEqual({
      type: 'bind',
      source: '/abs',
      target: '/d',
      readOnly: true,
    });
    expect(parseVolumeSpec('data:/d:z', '/p')).toMatch(/mode "z"/);
  });

  it('durations', () => {
    expect(parseDuration('1m30s')).toBe(90e9);
    expect(parseDuration('500ms')).toBe(5e8);
    expect(parseDuration('1.5s')).toBe(1.5e9);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('5x')).toBeUndefined();
  });

  it('shell words', () => {
    expect(shellSplit(`server /data --console-address ":9001"`)).toEqual([
      'server',
      '/data',
      '--console-address',
      ':9001',
    ]);
    expect(shellSplit(`sh -c 'echo "a b"' c\\ d`)).toEqual(['sh', '-c', 'echo "a b"', 'c d']);
    expect(shellSplit(`a ""`)).toEqual(['a', '']);
    expect(shellSplit(`a 'b`)).toMatch(/unterminated/);
  });
});

import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { type ProgressEvent, step } from '../../src/events.ts';
import { createPlainPrinter, formatEvent, printedFailure } from '../../src/tui/plain.ts';

const NOW = Date.UTC(2026, 10, 23, 13, 44, 11);
const fmt = (e: ProgressEvent, color = false) => formatEvent(e, { now: NOW, color });

function capture(opts: Parameters<typeof createPlainPrinter>[1] = {}, isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let out = '';
  stream.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const sink = createPlainPrinter(stream as unknown as NodeJS.WritableStream, { now: () => NOW, ...opts });
  return { sink, out: () => out };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('plain printer lines', () => {
  it('prints one timestamped line per step event', () => {
    expect(fmt({ type: 'step', id: 'build:api', phase: 'start', detail: 'building api' })).toEqual([
      '2026-11-23T13:44:11Z build:api start building api',
    ]);
    expect(fmt({ type: 'step', id: 'build:api', phase: 'done', ms: 1234, detail: 'building api' })).toEqual([
      '2026-11-23T13:44:11Z build:api done 1.2 s',
    ]);
    expect(fmt({ type: 'step', id: 'cluster', phase: 'skip', ms: 40, detail: 'k3d-social exists' })).toEqual([
      '2026-11-23T13:44:11Z cluster skip 40 ms (k3d-social exists)',
    ]);
    expect(fmt({ type: 'step', id: 'rollout:api', phase: 'progress', detail: '1/2 ready' })).toEqual([
      '2026-11-23T13:44:11Z rollout:api progress 1/2 ready',
    ]);
  });

  it('prints a failure with its supporting lines, grep-able by id', () => {
    expect(
      fmt({
        type: 'step',
        id: 'build:api',
        phase: 'fail',
        ms: 900,
        error: 'exit status 1',
        lines: ['\u001b[31mE\u001b[0m: syntax'],
      }),
    ).toEqual([
      '2026-11-23T13:44:11Z build:api FAILED 900 ms: exit status 1',
      '2026-11-23T13:44:11Z build:api | E: syntax',
    ]);
  });

  it('prints log lines with their own time, without escape codes', () => {
    expect(
      fmt({
        type: 'log',
        service: 'api',
        pod: 'api-1',
        container: 'api',
        line: '\u001b[32mok\u001b[0m\tready',
        time: NOW + 1000,
      }),
    ).toEqual(['2026-11-23T13:44:12Z api/api-1 | ok    ready']);
    expect(
      fmt({ type: 'log', service: 'api', pod: 'api-1', container: 'sidecar', line: 'x', time: NOW }),
    ).toEqual(['2026-11-23T13:44:11Z api/api-1/sidecar | x']);
  });

  it('prints reloads with their timing split', () => {
    expect(
      fmt({
        type: 'reload',
        service: 'api',
        result: 'ok',
        timings: { buildMs: 1200, loadMs: 400, rolloutMs: 1800, totalMs: 3400 },
        tag: 'dev-3f2a',
        time: NOW,
      }),
    ).toEqual([
      '2026-11-23T13:44:11Z reload:api ok 3.4 s (build 1.2 s, load 400 ms, rollout 1.8 s) tag dev-3f2a',
    ]);
    expect(
      fmt({
        type: 'reload',
        service: 'api',
        result: 'failed',
        timings: { totalMs: 50 },
        error: 'boom',
        time: NOW,
      }),
    ).toEqual(['2026-11-23T13:44:11Z reload:api FAILED 50 ms: boom']);
  });

  it('redacts values that look like secrets, wherever they appear', () => {
    const lines = [
      ...fmt({
        type: 'log',
        service: 'db',
        pod: 'p',
        container: 'db',
        line: 'MYSQL_PASSWORD=hunter2',
        time: NOW,
      }),
      ...fmt({
        type: 'step',
        id: 'database',
        phase: 'fail',
        error: 'mysql://root:hunter2@127.0.0.1 refused',
        lines: ['password: hunter2'],
      }),
      ...fmt({
        type: 'reload',
        service: 'a',
        result: 'failed',
        timings: { totalMs: 1 },
        error: 'token=hunter2',
        time: NOW,
      }),
    ];
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(lines[0]).toContain('MYSQL_PASSWORD=***');
  });
});

describe('createPlainPrinter', () => {
  it('writes plain lines to a non-TTY stream', () => {
    const { sink, out } = capture();
    sink({ type: 'step', id: 'apply', phase: 'done', ms: 10 });
    sink({ type: 'step', id: 'apply', phase: 'fail', error: 'x' });
    expect(out()).toBe('2026-11-23T13:44:11Z apply done 10 ms\n2026-11-23T13:44:11Z apply FAILED: x\n');
    expect(out()).not.toContain('\u001b');
  });

  it('colours phase words on a TTY, never with NO_COLOR', () => {
    vi.stubEnv('NO_COLOR', '');
    vi.stubEnv('FORCE_COLOR', '');
    const tty = capture({}, true);
    tty.sink({ type: 'step', id: 'apply', phase: 'done', ms: 10 });
    expect(tty.out()).toContain('\u001b[32mdone\u001b[0m');
    vi.stubEnv('NO_COLOR', '1');
    const noColor = capture({}, true);
    noColor.sink({ type: 'step', id: 'apply', phase: 'done', ms: 10 });
    noColor.sink({
      type: 'log',
      service: 'a',
      pod: 'p',
      container: 'a',
      line: '\u001b[1mbold\u001b[0m',
      time: NOW,
    });
    expect(noColor.out()).not.toContain('\u001b');
  });

  it('can leave out container logs', () => {
    const { sink, out } = capture({ logs: false });
    sink({ type: 'log', service: 'a', pod: 'p', container: 'a', line: 'x', time: NOW });
    expect(out()).toBe('');
  });
});

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('each failure once, with its lines once', () => {
  const buildLog = [
    '#7 [4/5] RUN make',
    '#7 main.c:3: error: expected ;',
    '#7 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
  ];

  it("a build's failure: its output printed as progress is not repeated after FAILED", async () => {
    const { sink, out } = capture();
    const error = new DevenvError('docker build failed: exit code: 2 (unit-once-1)', {
      details: ['#6 DONE 0.1s', ...buildLog],
    });
    await expect(
      step(sink, 'build:api', 'build api', async () => {
        sink({ type: 'step', id: 'build:api', phase: 'progress', detail: '#6 DONE 0.1s' });
        for (const l of buildLog) sink({ type: 'step', id: 'build:api', phase: 'progress', detail: l });
        throw error;
      }),
    ).rejects.toBe(error);
    const text = out();
    expect(count(text, 'docker build failed: exit code: 2 (unit-once-1)')).toBe(1);
    for (const l of [...buildLog, '#6 DONE 0.1s']) expect(count(text, l), l).toBe(1);
    expect(printedFailure(error.message)).toBe('build:api');
  });

  it('lines the step did not print as progress come after FAILED, once', async () => {
    const { sink, out } = capture();
    const error = new DevenvError('rollout failed (unit-once-2)', {
      details: ['pod api-1: CrashLoopBackOff'],
    });
    await expect(step(sink, 'rollout:api', 'rollout api', () => Promise.reject(error))).rejects.toBe(error);
    expect(out()).toContain('rollout:api FAILED');
    expect(count(out(), 'rollout failed (unit-once-2)')).toBe(1);
    expect(out()).toContain('rollout:api | pod api-1: CrashLoopBackOff\n');
    expect(count(out(), 'CrashLoopBackOff')).toBe(1);
  });

  it('nested steps: the innermost prints the error and its lines; each outer one names it', async () => {
    const { sink, out } = capture();
    const error = new DevenvError('registry did not answer (unit-once-3)', { details: ['detail line A'] });
    const events: ProgressEvent[] = [];
    const both = (e: ProgressEvent) => {
      events.push(e);
      sink(e);
    };
    await expect(
      step(both, 'cluster', 'k3d cluster', () =>
        step(both, 'start', 'start', () => step(both, 'registry', 'registry', () => Promise.reject(error))),
      ),
    ).rejects.toBe(error);
    expect(count(out(), 'registry did not answer (unit-once-3)')).toBe(1);
    expect(count(out(), 'detail line A')).toBe(1);
    expect(out()).toContain('start FAILED');
    expect(out()).toMatch(/cluster FAILED \d+ ms \(registry failed\)\n$/);
    // Each step still ends with its own fail event (the phase contract).
    expect(
      events.filter((e) => e.type === 'step' && e.phase === 'fail').map((e) => e.type === 'step' && e.id),
    ).toEqual(['registry', 'start', 'cluster']);
  });

  it('a reload that failed with the error its build printed names the build', async () => {
    const { sink, out } = capture();
    const error = new DevenvError('docker build failed: exit code: 2 (unit-once-4)', { details: buildLog });
    await expect(step(sink, 'build:api', 'build api', () => Promise.reject(error))).rejects.toBe(error);
    sink({
      type: 'reload',
      service: 'api',
      result: 'failed',
      timings: { totalMs: 900 },
      error: error.message,
      time: NOW,
    });
    expect(count(out(), error.message)).toBe(1);
    for (const l of buildLog) expect(count(out(), l)).toBe(1);
    expect(out()).toContain('reload:api FAILED 900 ms (build:api failed)\n');
  });
});

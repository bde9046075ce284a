/**
 * What `devenv up --no-tui` prints when a build fails, through the real CLI: the failure
 * and each of its lines once. The build's own output is printed as it runs (progress);
 * the FAILED line carries the error without repeating that output; the closing error line
 * names the step instead of printing the error and its lines a second time.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { clusterProject } from '../support/cluster-project.ts';
import { TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const project = `fail-${randomBytes(3).toString('hex')}`;
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe.skipIf(!kubeconfig)('up --no-tui with a failing build', () => {
  const p = clusterProject(kubeconfig, 'pyapp', { project });

  beforeAll(() => {
    const { dir, file } = p;
    // No data services: the build is the one thing that runs (and fails).
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.delete('database');
    writeFileSync(file, doc.toString());
    const dockerfile = join(dir, 'app', 'Dockerfile');
    writeFileSync(
      dockerfile,
      readFileSync(dockerfile, 'utf8').replace(
        /^RUN /m,
        `RUN echo "app.py:3: SyntaxError ${project}" && exit 3\nRUN `,
      ),
    );
  });

  it('prints the failure and each of its lines once', () => {
    const r = p.devenv(['up', '--no-tui', '--no-watch', '--context', TEST_CONTEXT]);
    expect(r.code, r.out).toBe(1);
    const failed = r.stdout.split('\n').filter((l) => / build:web FAILED /.test(l));
    expect(failed, r.out).toHaveLength(1);
    const message = failed[0]!.slice(failed[0]!.indexOf('docker build failed'));
    expect(message, r.out).toMatch(/^docker build failed: .*exit code: 3$/);
    expect(count(r.out, message), r.out).toBe(1);
    expect(count(r.out, 'docker build failed'), r.out).toBe(1);
    // The failed RUN's own output: once, as the build's progress, not again after FAILED.
    const output = r.out.split('\n').filter((l) => l.endsWith(` app.py:3: SyntaxError ${project}`));
    expect(output, r.out).toHaveLength(1);
    expect(output[0], r.out).toMatch(/ build:web progress #\d+ app\.py:3/);
    // Every line of the output appears once, but for BuildKit's own repeated status words.
    const lines = r.out
      .split('\n')
      .map((l) => l.replace(/^\S+Z /, ''))
      .filter((l) => l.trim() !== '' && !/ (DONE|CACHED) [\d.]*s?$| (DONE|CACHED)$/.test(l));
    const repeated = lines.filter((l, i) => lines.indexOf(l) !== i);
    expect(repeated, r.out).toEqual([]);
    expect(r.stderr.trim()).toBe('error: build:web failed (above)');
  });
});

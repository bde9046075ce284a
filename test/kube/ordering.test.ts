/**
 * Deploy ordering on the real test cluster, through the real CLI (`up --no-watch --context
 * devenv-test`, and `reload api`): the api's migration Job (dev.devenv/phase: pre-deploy) completes before the
 * api's new pods are created; web (dependsOn: [api]) is created once the api is ready; an
 * unchanged Job is not run again; a changed Job is replaced and runs again before the api's
 * new pods; a failing migration stops the api and web, shows the Job's logs, exits 1.
 *
 * Fixture: test/fixtures/ordering (FROM devenv-test/python:3.11, built offline and pushed to
 * the cluster's registry, 127.0.0.1:5001).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { cliEnv, ROOT, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';

const kubeconfig = inject('kubeconfig');
const UP = ['up', '--no-watch', '--no-tui', '--context', TEST_CONTEXT];

interface Pod {
  metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string };
  status: { conditions?: Array<{ type: string; status: string; lastTransitionTime: string }> };
}
interface Job {
  metadata: { uid: string; creationTimestamp: string };
  status: { completionTime?: string; succeeded?: number; failed?: number };
}

describe.skipIf(!kubeconfig)('deploy ordering on the real test cluster', () => {
  const project = `ord${Date.now().toString(36).slice(-5)}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const dir = mkdtempSync(join(tmpdir(), 'devenv-ordering-'));
  const file = join(dir, 'devenv.yaml');
  const kubectl = (args: string[]): string =>
    execFileSync('kubectl', ['--kubeconfig', kubeconfig!, '-n', project, ...args], { encoding: 'utf8' });
  const json = <T>(args: string[]): T => JSON.parse(kubectl([...args, '-o', 'json'])) as T;
  const up = () => runDevenv(file, UP, cliEnv(kubeconfig ?? '', state));
  /** The live pods of app=<app>, oldest first. */
  const pods = (app: string): Pod[] =>
    json<{ items: Pod[] }>(['get', 'pods', '-l', `app=${app}`])
      .items.filter((p) => !p.metadata.deletionTimestamp)
      .sort((a, b) => Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp));
  const readyAt = (p: Pod): number =>
    Date.parse(
      p.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime ?? '',
    );
  /** Rewrites the copied api.yaml from the fixture's: the migration Job's env and the api's ROLE. */
  const editApi = (jobEnv: Record<string, string>, apiRole: string): void => {
    const original = readFileSync(join(ROOT, 'test', 'fixtures', 'ordering', 'k8s', 'api.yaml'), 'utf8');
    const env = Object.entries(jobEnv)
      .map(([name, value]) => `{name: ${name}, value: ${JSON.stringify(value)}}`)
      .join(', ');
    const edited = original
      .replace('env: [{name: SCHEMA_VERSION, value: "1"}]', `env: [${env}]`)
      .replace('env: [{name: ROLE, value: api}]', `env: [{name: ROLE, value: ${apiRole}}]`);
    expect(edited).not.toBe(original);
    writeFileSync(join(dir, 'k8s', 'api.yaml'), edited);
  };

  beforeAll(() => {
    cpSync(join(ROOT, 'test', 'fixtures', 'ordering'), dir, { recursive: true });
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.set('project', project);
    doc.setIn(['cluster', 'allowContexts'], [TEST_CONTEXT]);
    writeFileSync(file, doc.toString());
  });
  afterAll(() => {
    runDevenv(file, ['destroy', '--yes', '--context', TEST_CONTEXT], cliEnv(kubeconfig ?? '', state));
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('up: the migration completes before the api pods are created; web after the api is ready', () => {
    const r = up();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('pre-deploy:api');
    expect(r.out).toContain('deploy:web');
    expect(kubectl(['logs', 'job/migrate'])).toContain('migration done');
    const job = json<Job>(['get', 'job', 'migrate']);
    expect(job.status.succeeded).toBe(1);
    const [api] = pods('api');
    const [web] = pods('web');
    // Timestamps have a resolution of one second: "not before" is what they can show.
    expect(Date.parse(api!.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
      Date.parse(job.status.completionTime!),
    );
    // The migration takes 3 s: had the api been created with the Job, it would be earlier.
    expect(
      Date.parse(api!.metadata.creationTimestamp) - Date.parse(job.metadata.creationTimestamp),
    ).toBeGreaterThanOrEqual(3000);
    expect(Date.parse(web!.metadata.creationTimestamp)).toBeGreaterThanOrEqual(readyAt(api!));
  }, 600_000);

  it('a second up runs nothing again: the completed Job is left alone', () => {
    const before = json<Job>(['get', 'job', 'migrate']).metadata.uid;
    const r = up();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/ 0 created, 0 updated, /);
    expect(r.out).not.toMatch(/replaced|pre-deploy:api done/);
    expect(json<Job>(['get', 'job', 'migrate']).metadata.uid).toBe(before);
  }, 600_000);

  it('reload: a changed migration is replaced and completes before the api’s new pods', () => {
    const before = json<Job>(['get', 'job', 'migrate']).metadata.uid;
    editApi({ SCHEMA_VERSION: '2' }, 'api-v2');
    // `devenv reload api`: the path of a save in a watching `up` (engine/reload.ts).
    const r = runDevenv(file, ['reload', 'api', '--context', TEST_CONTEXT], cliEnv(kubeconfig ?? '', state));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('pre-deploy:api done');
    const job = json<Job>(['get', 'job', 'migrate']);
    expect(job.metadata.uid).not.toBe(before);
    expect(kubectl(['logs', 'job/migrate'])).toContain('migrating schema to version 2');
    const api = pods('api').at(-1)!;
    expect(Date.parse(api.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
      Date.parse(job.status.completionTime!),
    );
  }, 600_000);

  it('a failing migration blocks the api and web: its logs shown, exit 1, the api keeps its pods', () => {
    editApi(
      { SCHEMA_VERSION: '3', MIGRATE_FAIL: 'column "email" already exists', MIGRATE_SECONDS: '0' },
      'api-v3',
    );
    const r = up();
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('Job failed');
    expect(r.out).toContain('migration failed: column "email" already exists');
    expect(r.out).toMatch(/web not rolled out: api, which it depends on, failed/);
    // The api's Deployment was not updated: it still runs the previous template.
    const env = json<{
      spec: { template: { spec: { containers: Array<{ env: Array<{ value: string }> }> } } };
    }>(['get', 'deploy', 'api']).spec.template.spec.containers[0]!.env;
    expect(env[0]!.value).toBe('api-v2');
  }, 600_000);
});

describe.skipIf(!kubeconfig)('deploy ordering in prerelease on the real test cluster', () => {
  const name = `ord-${Date.now().toString(36).slice(-5)}`;
  const namespace = `prerelease-${name}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const dir = mkdtempSync(join(tmpdir(), 'devenv-ordering-pr-'));
  const file = join(dir, 'devenv.yaml');
  const env = () => cliEnv(kubeconfig ?? '', state);
  const common = ['--context', TEST_CONTEXT, '--kubeconfig', kubeconfig ?? '', '--name', name];
  const json = <T>(args: string[]): T =>
    JSON.parse(
      execFileSync('kubectl', ['--kubeconfig', kubeconfig!, '-n', namespace, ...args, '-o', 'json'], {
        encoding: 'utf8',
      }),
    ) as T;

  beforeAll(() => {
    cpSync(join(ROOT, 'test', 'fixtures', 'ordering'), dir, { recursive: true });
  });
  afterAll(() => {
    runDevenv(file, ['prerelease', 'down', ...common], env());
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('prerelease up: the migration completes before the api pods; web after the api', () => {
    const r = runDevenv(
      file,
      ['prerelease', 'up', ...common, '--build', '--registry', '127.0.0.1:5001'],
      env(),
    );
    expect(r.code, r.out).toBe(0);
    const job = json<Job>(['get', 'job', 'migrate']);
    expect(job.status.succeeded).toBe(1);
    const pods = (app: string) => json<{ items: Pod[] }>(['get', 'pods', '-l', `app=${app}`]).items;
    const api = pods('api')[0]!;
    const web = pods('web')[0]!;
    expect(Date.parse(api.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
      Date.parse(job.status.completionTime!),
    );
    const apiReady = api.status.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
    expect(Date.parse(web.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
      Date.parse(apiReady?.lastTransitionTime ?? ''),
    );
  }, 600_000);
});

describe.skipIf(!kubeconfig)('a dependency cycle on the real test cluster', () => {
  const project = `cyc${Date.now().toString(36).slice(-5)}`;
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const dir = mkdtempSync(join(tmpdir(), 'devenv-ordering-cycle-'));
  const file = join(dir, 'devenv.yaml');

  beforeAll(() => {
    cpSync(join(ROOT, 'test', 'fixtures', 'ordering'), dir, { recursive: true });
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.set('project', project);
    doc.setIn(['cluster', 'allowContexts'], [TEST_CONTEXT]);
    doc.setIn(['services', 0, 'dependsOn'], ['web']); // api → web → api
    writeFileSync(file, doc.toString());
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('up: a config error at file:line:col, exit 2, nothing created', () => {
    const r = runDevenv(file, UP, cliEnv(kubeconfig ?? '', state));
    expect(r.code, r.out).toBe(2);
    expect(r.stderr).toMatch(
      /devenv\.yaml:\d+:\d+: services\[\d\]\.dependsOn: dependency cycle (api → web → api|web → api → web)/,
    );
    const ns = spawnSync('kubectl', ['--kubeconfig', kubeconfig!, 'get', 'namespace', project], {
      encoding: 'utf8',
    });
    expect(ns.status).not.toBe(0);
    expect(ns.stderr).toContain('NotFound');
  });
});

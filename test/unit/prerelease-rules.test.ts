// biome-ignore-all lint/suspicious/noExplicitAny: the assertions walk into parsed CI YAML
// Refusal rules and the pure pieces of prerelease: context safety, data settings,
// namespace metadata (owner, commit), database names, JUnit extraction, CI templates, and
// the CLI refusing bad input with exit code 2 before anything is contacted.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { DevenvError } from '../../src/errors.ts';
import { isTestJob } from '../../src/manifests/types.ts';
import { deployerBinding, subjectFor } from '../../src/prerelease/access.ts';
import { ciTemplate, gitlabTemplate } from '../../src/prerelease/ci-templates.ts';
import { planPrereleaseData, prereleaseDataSecret, sharedDatabaseAccess } from '../../src/prerelease/data.ts';
import {
  createStatements,
  databaseNames,
  dropStatements,
  namesInPrefix,
  parseAdminUrl,
} from '../../src/prerelease/database-plan.ts';
import { extractJunit, JUNIT_BEGIN, JUNIT_END, summarizeJunit } from '../../src/prerelease/junit.ts';
import {
  commitFromEnv,
  imagesOf,
  isPrereleaseOf,
  namespaceObject,
  ownerFromEnv,
} from '../../src/prerelease/metadata.ts';
import { resolvePrereleaseContext } from '../../src/prerelease/safety.ts';

const root = join(import.meta.dirname, '..', '..');

const cfg = (over: Record<string, unknown> = {}): Config =>
  configSchema.parse({ apiVersion: 'devenv.dev/v1alpha1', project: 'shop', ...over });

const exitOf = (fn: () => unknown): { code: number; message: string } => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DevenvError);
    return { code: (err as DevenvError).exitCode, message: (err as DevenvError).message };
  }
  throw new Error('expected a refusal');
};

describe('context safety', () => {
  it('requires --context to equal prerelease.context when that is set', () => {
    const c = cfg({ prerelease: { context: 'shared' } });
    expect(resolvePrereleaseContext(c, 'shared')).toBe('shared');
    expect(resolvePrereleaseContext(c, undefined)).toBe('shared');
    expect(exitOf(() => resolvePrereleaseContext(c, 'other'))).toEqual({
      code: 2,
      message:
        'refusing kube context "other" for prerelease: devenv.yaml names "shared" (prerelease.context) as the shared cluster.',
    });
  });

  it("refuses devenv's own k3d context and contexts allow-listed for dev only", () => {
    expect(exitOf(() => resolvePrereleaseContext(cfg(), 'k3d-shop')).message).toMatch(
      /own local k3d cluster/,
    );
    const dev = cfg({ cluster: { allowContexts: ['team-dev'] } });
    expect(exitOf(() => resolvePrereleaseContext(dev, 'team-dev')).message).toMatch(
      /allow-listed for dev deploys/,
    );
    // Allow-listed for dev AND named as the prerelease cluster: allowed.
    const both = cfg({ cluster: { allowContexts: ['team-dev'] }, prerelease: { context: 'team-dev' } });
    expect(resolvePrereleaseContext(both, 'team-dev')).toBe('team-dev');
    // The k3d context stays refused even when configured.
    expect(
      exitOf(() => resolvePrereleaseContext(cfg({ prerelease: { context: 'k3d-shop' } }), undefined)).code,
    ).toBe(2);
    expect(exitOf(() => resolvePrereleaseContext(cfg(), undefined)).message).toMatch(/no kube context/);
  });
});

describe('data settings', () => {
  const pg = cfg({ database: { engine: 'postgres' }, objectStore: { buckets: ['uploads', 'avatars'] } });
  const env = {
    DEVENV_PRERELEASE_DATABASE_URL: 'postgres://admin:s%40cret@db.internal:6543/postgres',
    DEVENV_PRERELEASE_S3_ENDPOINT: 'https://s3.example.com',
    DEVENV_PRERELEASE_S3_ACCESS_KEY: 'AK',
    DEVENV_PRERELEASE_S3_SECRET_KEY: 'SK',
  };

  it('plans a database and prefixed buckets per prerelease', () => {
    const plan = planPrereleaseData(pg, 'prerelease-n1', env);
    if (plan.database?.mode !== 'shared') throw new Error('expected the shared mode');
    expect(plan.database.names).toEqual({ database: 'prerelease_n1', user: 'prerelease_n1' });
    expect(plan.database.admin).toMatchObject({
      engine: 'postgres',
      host: 'db.internal',
      port: 6543,
      password: 's@cret',
    });
    expect(plan.objectStore?.buckets).toEqual(['prerelease-n1-uploads', 'prerelease-n1-avatars']);
    const secret = prereleaseDataSecret(
      'shop',
      'prerelease-n1',
      plan,
      sharedDatabaseAccess(plan.database, 'pw'),
    )!;
    expect(secret.metadata).toMatchObject({ name: 'devenv-data', namespace: 'prerelease-n1' });
    expect(secret.stringData).toMatchObject({
      DATABASE_URL: 'postgresql://prerelease_n1:pw@db.internal:6543/prerelease_n1',
      DB_USER: 'prerelease_n1',
      S3_ENDPOINT: 'https://s3.example.com',
      S3_BUCKETS: 'prerelease-n1-uploads,prerelease-n1-avatars',
      S3_BUCKET_UPLOADS: 'prerelease-n1-uploads',
      S3_BUCKET_AVATARS: 'prerelease-n1-avatars',
    });
    expect(Object.keys(secret.stringData).filter((k) => k.includes('PRERELEASE_N1'))).toEqual([]);
  });

  it('skips (and reports) the object store without DEVENV_PRERELEASE_S3_*', () => {
    const plan = planPrereleaseData(pg, 'prerelease-n1', {
      DEVENV_PRERELEASE_DATABASE_URL: env.DEVENV_PRERELEASE_DATABASE_URL,
    });
    expect(plan.objectStore).toBeUndefined();
    expect(plan.notes[0]).toMatch(/no shared object store/);
  });

  it('refuses a missing or mismatched admin URL (exit 2)', () => {
    expect(exitOf(() => planPrereleaseData(pg, 'prerelease-n1', {})).code).toBe(2);
    const my = { DEVENV_PRERELEASE_DATABASE_URL: 'mysql://root:x@db:3306/' };
    expect(exitOf(() => planPrereleaseData(pg, 'prerelease-n1', my)).message).toMatch(/mysql server/);
    expect(exitOf(() => parseAdminUrl('redis://x@y')).message).toMatch(/postgres:\/\/ or mysql:\/\//);
    const long = cfg({ objectStore: { buckets: ['a-rather-long-bucket-name-for-uploads'] } });
    expect(exitOf(() => planPrereleaseData(long, `prerelease-${'x'.repeat(30)}`, env)).message).toMatch(
      /too long/,
    );
  });

  it('derives database and user names inside the prefix, within engine limits', () => {
    const ns = `prerelease-${'n'.repeat(52)}`;
    const m = databaseNames('mysql', ns);
    expect(m.user).toHaveLength(32);
    expect(m.database.length).toBeLessThanOrEqual(64);
    expect(namesInPrefix(m, 'prerelease')).toBe(true);
    expect(namesInPrefix(databaseNames('postgres', 'other-x'), 'prerelease')).toBe(false);
    expect(
      createStatements('postgres', { database: 'd', user: 'u' }, "p'w", {
        userExists: false,
        databaseExists: false,
        namespace: 'prerelease-x',
      }),
    ).toEqual([
      `CREATE ROLE "u" WITH LOGIN PASSWORD 'p''w'`,
      'CREATE DATABASE "d" OWNER "u"',
      `COMMENT ON DATABASE "d" IS 'devenv prerelease prerelease-x'`,
    ]);
    expect(dropStatements('mysql', { database: 'd', user: 'u' })).toEqual([
      'DROP DATABASE IF EXISTS `d`',
      "DROP USER IF EXISTS 'u'@'%'",
    ]);
  });
});

describe('namespace metadata', () => {
  it('names the owner from GitLab CI, GitHub Actions, or $USER', () => {
    expect(
      ownerFromEnv({
        GITLAB_CI: 'true',
        GITLAB_USER_LOGIN: 'ana',
        CI_JOB_URL: 'https://gitlab.example.com/g/p/-/jobs/7',
      }),
    ).toEqual({ kind: 'gitlab-ci', name: 'ana', url: 'https://gitlab.example.com/g/p/-/jobs/7' });
    expect(
      ownerFromEnv({
        GITHUB_ACTIONS: 'true',
        GITHUB_ACTOR: 'bo',
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_RUN_ID: '42',
      }),
    ).toEqual({ kind: 'github-actions', name: 'bo', url: 'https://github.com/o/r/actions/runs/42' });
    expect(ownerFromEnv({ USER: 'cy' })).toEqual({ kind: 'user', name: 'cy' });
    expect(commitFromEnv({ CI_COMMIT_SHA: 'a'.repeat(40) })).toBe('a'.repeat(40));
    expect(commitFromEnv({ GITHUB_SHA: 'not a sha' })).toBeUndefined();
  });

  it('labels and annotates the namespace', () => {
    const o = namespaceObject({
      name: 'prerelease-n1',
      project: 'shop',
      owner: { kind: 'gitlab-ci', name: 'ana', url: 'https://ci/jobs/7' },
      commit: 'abc1234',
      createdAt: '2026-03-01T22:00:00Z',
      expiresAt: '2026-03-02T10:00:00Z',
      images: { 'shop/web': 'reg/shop/web:1', 'shop/api': 'reg/shop/api:1' },
      database: { database: 'prerelease_n1', user: 'prerelease_n1' },
    });
    expect(o.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'shop',
      'dev.devenv/env': 'prerelease',
      'dev.devenv/prerelease': 'true',
    });
    expect(o.metadata.annotations).toEqual({
      'dev.devenv/owner': 'gitlab-ci:ana',
      'dev.devenv/owner-url': 'https://ci/jobs/7',
      'dev.devenv/commit': 'abc1234',
      'dev.devenv/created-at': '2026-03-01T22:00:00Z',
      'dev.devenv/expires-at': '2026-03-02T10:00:00Z',
      'dev.devenv/images': '{"shop/api":"reg/shop/api:1","shop/web":"reg/shop/web:1"}',
      'dev.devenv/database': 'prerelease_n1/prerelease_n1',
    });
    expect(isPrereleaseOf(o.metadata.labels, 'shop')).toBe(true);
    expect(isPrereleaseOf(o.metadata.labels, 'blog')).toBe(false);
    expect(imagesOf(o.metadata.annotations)).toEqual({
      'shop/api': 'reg/shop/api:1',
      'shop/web': 'reg/shop/web:1',
    });
    expect(imagesOf({ 'dev.devenv/images': '[1' })).toEqual({});
  });

  it('recognises the test Job by its role label', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 't', labels: { 'dev.devenv/role': 'test' } },
    };
    expect(isTestJob(job)).toBe(true);
    expect(isTestJob({ ...job, kind: 'CronJob' })).toBe(false);
    expect(isTestJob({ ...job, metadata: { name: 'migrate' } })).toBe(false);
  });

  it("binds devenv's namespaced role to the identity the API server reports", () => {
    expect(subjectFor('system:serviceaccount:devenv-system:devenv-prerelease')).toEqual({
      kind: 'ServiceAccount',
      name: 'devenv-prerelease',
      namespace: 'devenv-system',
    });
    expect(subjectFor('ci@example.com')).toEqual({
      kind: 'User',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'ci@example.com',
    });
    const rb = deployerBinding('prerelease-n1', 'shop', 'ci');
    expect(rb.metadata).toMatchObject({ name: 'devenv-deployer', namespace: 'prerelease-n1' });
    expect(rb.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'devenv-prerelease-namespace',
    });
  });
});

describe('JUnit from logs', () => {
  const xml =
    '<?xml version="1.0"?>\n<testsuites tests="3" failures="1" errors="0" skipped="1">\n<testsuite name="s" tests="3"/>\n</testsuites>';
  it('extracts the last marked report, with or without log timestamps', () => {
    const log = `starting\n${JUNIT_BEGIN}\n<old/>\n${JUNIT_END}\nmore\n${JUNIT_BEGIN}\n${xml}\n${JUNIT_END}\nbye\n`;
    expect(extractJunit(log)).toBe(`${xml}\n`);
    const stamped = `2026-03-01T22:00:00.1Z ${JUNIT_BEGIN}\n${xml}\n2026-03-01T22:00:01.2Z ${JUNIT_END}\n`;
    expect(extractJunit(stamped)).toBe(`${xml}\n`);
    expect(extractJunit('no report here')).toBeUndefined();
    expect(extractJunit(`${JUNIT_BEGIN}\nunterminated`)).toBeUndefined();
  });

  it('summarises totals from testsuites, testsuite or counted elements', () => {
    expect(summarizeJunit(xml)).toEqual({ tests: 3, failures: 1, errors: 0, skipped: 1 });
    expect(
      summarizeJunit(
        '<testsuite tests="2" failures="0" errors="1"></testsuite><testsuite tests="1" failures="1"></testsuite>',
      ),
    ).toEqual({ tests: 3, failures: 1, errors: 1, skipped: 0 });
    expect(summarizeJunit('<testcase/><testcase><failure/></testcase>')).toEqual({
      tests: 2,
      failures: 1,
      errors: 0,
      skipped: 0,
    });
  });
});

describe('CI templates', () => {
  it('are valid YAML that run gc, up, test and always down, and upload artifacts always', () => {
    const gl = YAML.parse(gitlabTemplate()) as any;
    expect(gl.prerelease.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    const script = gl.prerelease.script.join('\n');
    expect(script).toMatch(/prerelease gc[\s\S]*prerelease up[\s\S]*prerelease test/);
    expect(gl.prerelease.after_script.join('\n')).toMatch(/prerelease down/);
    expect(gl.prerelease.artifacts.when).toBe('always');
    expect(gl.prerelease.artifacts.reports.junit).toBe('prerelease-artifacts/junit.xml');

    const gh = YAML.parse(ciTemplate('github', { context: 'shared' })) as any;
    expect(gh.on.schedule[0].cron).toBe('0 21 * * *');
    const steps = gh.jobs.prerelease.steps as Array<{
      name?: string;
      if?: string;
      run?: string;
      uses?: string;
    }>;
    const names = steps.map((s) => s.name ?? s.uses);
    expect(names.indexOf('up')).toBeLessThan(names.indexOf('test'));
    expect(steps.find((s) => s.name === 'down')).toMatchObject({ if: 'always()' });
    expect(steps.find((s) => s.name === 'upload artifacts')).toMatchObject({ if: 'always()' });
    expect(steps.find((s) => s.name === 'up')?.run).toContain('--context shared');
  });
});

// ------------------------------------------------------------------ CLI: bad input, exit 2

describe('devenv prerelease (CLI) refuses bad input before contacting anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devenv-prerelease-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const project = (extra: string) => {
    const p = mkdtempSync(join(dir, 'p-'));
    mkdirSync(join(p, 'k8s'));
    writeFileSync(join(p, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(
      join(p, 'k8s', 'web.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: "1"}\n',
    );
    writeFileSync(
      join(p, 'devenv.yaml'),
      `apiVersion: devenv.dev/v1alpha1\nproject: shop\nservices:\n  - name: web\n    manifests: [k8s]\n${extra}`,
    );
    return p;
  };
  const devenv = (cwd: string, ...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'devenv'), ...args], {
      cwd,
      encoding: 'utf8',
      // A kubeconfig that does not exist: any attempt to connect would fail differently.
      env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig'), DEVENV_PRERELEASE_DATABASE_URL: '' },
    });

  it('outside the quiet window without --force', () => {
    // A one-minute window that is never "now" in practice is not testable with the real clock,
    // so use a window that ends where it begins plus one minute, one hour ago.
    const t = new Date(Date.now() - 3600_000);
    const hh = (d: Date) =>
      `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const w = `${hh(t)}-${hh(new Date(t.getTime() + 60_000))} UTC`;
    const p = project(`prerelease:\n  context: shared\n  window: "${w}"\n`);
    const r = devenv(
      p,
      'prerelease',
      'up',
      '--context',
      'shared',
      '--image-tag',
      'v1',
      '--registry',
      'reg.example.com',
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to deploy outside the quiet window');
    expect(r.stderr).toContain('--force');
  });

  it('a context other than prerelease.context, and the k3d one', () => {
    const p = project('prerelease:\n  context: shared\n');
    const r = devenv(p, 'prerelease', 'up', '--context', 'k3d-shop', '--image-tag', 'v1', '--registry', 'r');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing kube context "k3d-shop"');
    const d = devenv(p, 'prerelease', 'down', '--context', 'elsewhere', '--name', 'n1');
    expect(d.status).toBe(2);
    expect(d.stderr).toContain('refusing kube context "elsewhere"');
  });

  it('gc with a prefix that reaches system namespaces', () => {
    for (const prefix of ['kube-system', 'default']) {
      const p = project(`prerelease:\n  context: shared\n  namespacePrefix: ${prefix}\n`);
      const r = devenv(p, 'prerelease', 'gc', '--dry-run');
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('refusing to manage prerelease namespaces');
    }
  });

  it('no image source, a bad name, a database without its admin URL', () => {
    const p = project('prerelease:\n  context: shared\n');
    expect(devenv(p, 'prerelease', 'up', '--context', 'shared').stderr).toContain('--image-tag TAG');
    const bad = devenv(
      p,
      'prerelease',
      'up',
      '--context',
      'shared',
      '--name',
      'Bad_Name',
      '--image-tag',
      'v1',
      '--registry',
      'r',
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('prerelease name "Bad_Name" is not valid');
    const db = project('database:\n  engine: postgres\nprerelease:\n  context: shared\n');
    const r = devenv(db, 'prerelease', 'up', '--context', 'shared', '--image-tag', 'v1', '--registry', 'r');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('DEVENV_PRERELEASE_DATABASE_URL is not set');
  });
});

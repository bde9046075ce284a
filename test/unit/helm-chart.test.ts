/**
 * Helm charts as a manifest source: the config shape (services[].manifests entries
 * { chart, values, release, namespace }), the pure planning (manifests/helm.ts: binary,
 * `helm template` arguments, hooks), and the chart fixture (test/fixtures/helm-b2b) rendered
 * by the real helm, built from its Go module by test/tools/build.sh, then through devenv's
 * own render: the built image, the ownership labels, the dev values, the hooks.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as YAML from 'yaml';
import { checkConfigFile } from '../../src/config/load.ts';
import type { ChartSource } from '../../src/config/schema.ts';
import { validateConfigText } from '../../src/config/validate.ts';
import {
  helmTemplateArgs,
  hookKinds,
  releaseName,
  releaseNamespace,
  splitHooks,
} from '../../src/manifests/helm.ts';
import { loadManifests } from '../../src/manifests/load.ts';
import { renderManifests } from '../../src/manifests/render.ts';
import type { SourceDoc } from '../../src/manifests/types.ts';
import { toolMissing } from '../setup/tier.ts';
import { testHelm } from '../support/helm.ts';

const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'helm-b2b');

/** missing*.yaml and Chart.yaml are absent; other *.yaml and Dockerfiles are files; the rest folders. */
const probe = {
  kind: (p: string) =>
    p.startsWith('missing') || p.endsWith('Chart.yaml')
      ? ('missing' as const)
      : p.endsWith('.yaml') || p.endsWith('Dockerfile')
        ? ('file' as const)
        : ('dir' as const),
};

const chart = (extra: Partial<ChartSource> = {}): ChartSource => ({
  chart: 'charts/api',
  values: [],
  ...extra,
});

const plainOf = (d: SourceDoc): unknown => (YAML.isDocument(d.doc) ? d.doc.toJS() : d.doc);
/** The value at a dotted path ("spec.template.spec.containers.0.image") of a plain object. */
const at = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );
const id = (o: unknown) => `${at(o, 'kind')}/${at(o, 'metadata.namespace') ?? ''}/${at(o, 'metadata.name')}`;

const doc = (kind: string, name: string, hook?: string): SourceDoc => ({
  file: 'charts/api/ (helm)',
  index: 0,
  doc: {
    apiVersion: 'v1',
    kind,
    metadata: { name, ...(hook ? { annotations: { 'helm.sh/hook': hook } } : {}) },
  },
});

describe('config: a chart in services[].manifests', () => {
  const config = (manifests: string) =>
    `apiVersion: devenv.dev/v1alpha1\nproject: shop\nservices:\n  - name: api\n    manifests: ${manifests}\n`;

  it('accepts a chart entry beside plain paths; values default to none', () => {
    const r = validateConfigText(
      config('[k8s/extra.yaml, { chart: charts/api, values: [prod.yaml, dev.yaml], release: api }]'),
      'devenv.yaml',
      { kind: (p) => (p.endsWith('.yaml') || p.endsWith('Dockerfile') ? 'file' : 'dir') },
    );
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.config.services[0]!.manifests).toEqual([
      'k8s/extra.yaml',
      { chart: 'charts/api', values: ['prod.yaml', 'dev.yaml'], release: 'api' },
    ]);
  });

  it('reports a folder without Chart.yaml, a missing values file and a bad release at file:line:col', () => {
    const r = validateConfigText(
      config('\n      - chart: charts/api\n        values: [missing.yaml]\n        release: Api_1'),
      'devenv.yaml',
      probe,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
    expect(lines).toContainEqual(expect.stringMatching(/^8:18 .*release.*must be a DNS-1123 label/));
    const semantic = validateConfigText(
      config('\n      - chart: charts/api\n        values: [missing.yaml]'),
      'devenv.yaml',
      probe,
    );
    expect(semantic.ok).toBe(false);
    if (semantic.ok) return;
    expect(semantic.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      '6:16 chart of service "api" "charts/api" has no Chart.yaml (a local Helm chart folder is expected)',
      '7:18 values file of service "api" "missing.yaml" does not exist (paths are relative to devenv.yaml)',
    ]);
  });

  it('an unknown key of a chart entry gets a "did you mean"', () => {
    const r = validateConfigText(config('[{ chart: charts/api, valuse: [a.yaml] }]'), 'devenv.yaml', probe);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics[0]!.message).toBe(
      'unknown key "valuse" in services[0].manifests[0] (did you mean "values"?)',
    );
  });

  it('a chart from a repository or an OCI registry needs a version; a local chart takes none', () => {
    const ok = validateConfigText(
      config(
        '[{ chart: storefront, repo: "https://charts.example.com/b2b", version: 1.4.2 }, { chart: "oci://ghcr.io/acme/charts/api", version: 2.0.1 }]',
      ),
      'devenv.yaml',
      probe,
    );
    expect(ok.ok, JSON.stringify(ok)).toBe(true);
    const bad = validateConfigText(
      config(
        '\n      - { chart: storefront, repo: "https://charts.example.com/b2b" }\n      - { chart: "oci://ghcr.io/acme/api" }\n      - { chart: charts/api, version: 1.0.0 }\n      - { chart: x, repo: ftp://charts, version: "1" }',
      ),
      'devenv.yaml',
      { kind: (p) => (p.endsWith('Dockerfile') || p.endsWith('Chart.yaml') ? 'file' : 'dir') },
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      '6:9 services[0].manifests[0]: a mapping has no "version": a chart from a repository needs one (the same chart on every machine)',
      '7:9 services[0].manifests[1]: a mapping has no "version": a chart from an OCI registry needs one (the same chart on every machine)',
      `8:39 services[0].manifests[2].version: "1.0.0" is only for a chart from a repository (repo) or OCI registry (oci://); a local chart's version is in its Chart.yaml`,
      '9:27 services[0].manifests[3].repo: "ftp://charts" must be a chart repository URL (http:// or https://)',
    ]);
  });

  it('the chart fixture is a valid config', () => {
    const r = checkConfigFile(join(fixture, 'devenv.yaml'));
    expect(r.ok, JSON.stringify(r.ok ? '' : r.diagnostics)).toBe(true);
  });
});

describe('helm planning (pure)', () => {
  it('helm template RELEASE CHART --namespace NS --values... in order, paths from the project root; never --no-hooks', () => {
    const args = helmTemplateArgs(
      chart({ values: ['charts/api/values-prod.yaml', 'dev.yaml'], release: 'api', namespace: 'back' }),
      '/p',
    );
    expect(args).toEqual([
      'template',
      'api',
      '/p/charts/api',
      '--namespace',
      'back',
      '--values',
      '/p/charts/api/values-prod.yaml',
      '--values',
      '/p/dev.yaml',
    ]);
    expect(args).not.toContain('--no-hooks');
  });

  it('a remote chart: by name with --repo and --version, or its oci:// reference', () => {
    expect(
      helmTemplateArgs(
        chart({
          chart: 'storefront',
          repo: 'https://charts.example.com/b2b',
          version: '1.4.2',
          values: ['v.yaml'],
        }),
        '/p',
      ),
    ).toEqual([
      'template',
      'storefront',
      'storefront',
      '--repo',
      'https://charts.example.com/b2b',
      '--version',
      '1.4.2',
      '--namespace',
      'default',
      '--values',
      '/p/v.yaml',
    ]);
    expect(
      helmTemplateArgs(chart({ chart: 'oci://ghcr.io/acme/charts/api', version: '2.0.1' }), '/p'),
    ).toEqual([
      'template',
      'api',
      'oci://ghcr.io/acme/charts/api',
      '--version',
      '2.0.1',
      '--namespace',
      'default',
    ]);
  });

  it('release defaults to the chart folder name, namespace to "default"', () => {
    expect(releaseName(chart({ chart: 'deploy/charts/Shop-API/' }))).toBe('shop-api');
    expect(releaseNamespace(chart())).toBe('default');
  });

  it('keeps pre-install/pre-upgrade hooks and plain objects; names every other hook it leaves out', () => {
    expect(hookKinds({ 'helm.sh/hook': 'pre-install, pre-upgrade' })).toEqual(['pre-install', 'pre-upgrade']);
    const { keep, leftOut } = splitHooks(
      [
        doc('Deployment', 'api'),
        doc('Job', 'api-migrate', 'pre-install,pre-upgrade'),
        doc('Job', 'api-seed', 'pre-upgrade,post-upgrade'),
        doc('Pod', 'api-test-connection', 'test'),
        doc('Job', 'api-notify', 'post-install,post-upgrade'),
        doc('Job', 'api-cleanup', 'pre-delete'),
      ],
      'charts/api/ (release api)',
    );
    expect(keep.map((d) => (d.doc as { metadata: { name: string } }).metadata.name)).toEqual([
      'api',
      'api-migrate',
      'api-seed',
    ]);
    expect(leftOut.map((h) => [h.object, h.hooks])).toEqual([
      ['Pod api-test-connection', ['test']],
      ['Job api-notify', ['post-install', 'post-upgrade']],
      ['Job api-cleanup', ['pre-delete']],
    ]);
    expect(leftOut[0]!.message).toBe(
      'charts/api/ (release api): Pod api-test-connection is a Helm test hook (helm.sh/hook), which devenv does not run; left out (devenv runs only pre-install and pre-upgrade hooks)',
    );
  });
});

const helm = testHelm();
if (!helm)
  toolMissing('helm-chart', 'helm missing: run test/tools/build.sh (builds helm from its Go module)');

describe.skipIf(!helm)('the chart fixture through the real helm and devenv render', () => {
  const entry: ChartSource = {
    chart: 'charts/storefront',
    values: ['deploy/values-production.yaml', 'deploy/values-dev.yaml'],
    release: 'storefront',
    namespace: 'helm-front-web',
  };

  it('renders the chart with production + dev values; keeps the pre-install Job; reports the test hook by name', async () => {
    const notices: string[] = [];
    const docs = await loadManifests([entry], {
      root: fixture,
      helm: helm as string,
      onNotice: (l) => notices.push(l),
    });
    const objects = docs.map(plainOf);
    expect(objects.map(id).sort()).toEqual([
      'Deployment/helm-front-web/storefront',
      'Job/helm-front-web/storefront-migrate',
      'Service/helm-front-web/storefront',
    ]);
    expect(docs.every((d) => d.file === 'charts/storefront/ (helm)')).toBe(true);
    expect(notices).toEqual([
      'charts/storefront/ (release storefront): Pod storefront-test-connection is a Helm test hook (helm.sh/hook), which devenv does not run; left out (devenv runs only pre-install and pre-upgrade hooks)',
    ]);

    const { objects: rendered } = renderManifests({
      docs,
      project: 'helmb2b',
      env: 'dev',
      images: { 'b2b/storefront': 'localhost:5001/b2b/storefront:dev-abc123' },
    });
    const deploy = rendered.find((o) => o.object.kind === 'Deployment')?.object;
    expect(at(deploy, 'spec.replicas')).toBe(1); // dev values over production's 3
    const c = at(deploy, 'spec.template.spec.containers.0');
    expect(at(c, 'image')).toBe('localhost:5001/b2b/storefront:dev-abc123');
    expect(at(c, 'env')).toContainEqual({ name: 'SHOP_MODE', value: 'dev' });
    expect(at(c, 'resources.requests')).toEqual({ cpu: '10m', memory: '32Mi' });
    expect(at(deploy, 'metadata.labels')).toMatchObject({
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'helmb2b',
      'dev.devenv/env': 'dev',
      'helm.sh/chart': 'storefront-1.4.2',
    });
    const job = rendered.find((o) => o.object.kind === 'Job')?.object;
    expect(job?.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(at(job, 'spec.template.spec.containers.0.image')).toBe('localhost:5001/b2b/storefront:dev-abc123');
  });

  it('production values alone: 3 replicas and the Ingress (what production deploys)', async () => {
    const docs = await loadManifests([{ ...entry, values: ['deploy/values-production.yaml'] }], {
      root: fixture,
      helm: helm as string,
    });
    const objects = docs.map(plainOf);
    expect(
      at(
        objects.find((o) => at(o, 'kind') === 'Deployment'),
        'spec.replicas',
      ),
    ).toBe(3);
    expect(
      at(
        objects.find((o) => at(o, 'kind') === 'Ingress'),
        'spec.rules.0.host',
      ),
    ).toBe('shop.b2b.example.com');
  });

  it("a chart that fails to render is bad input naming the chart, with helm's message", async () => {
    await expect(
      loadManifests([{ ...entry, values: ['deploy/values-production.yaml', 'storefront/app.py'] }], {
        root: fixture,
        helm: helm as string,
      }),
    ).rejects.toMatchObject({ message: 'charts/storefront/: helm template failed; nothing was applied.' });
  });

  it('a missing helm binary is a failure that says how to install it', async () => {
    await expect(
      loadManifests([entry], { root: fixture, helm: join(fixture, 'no-such-helm') }),
    ).rejects.toThrow(/charts\/storefront\/ is a Helm chart, and rendering it needs helm/);
  });
});

describe.skipIf(!helm)('a chart from a chart repository (a local HTTP server), pinned by version', () => {
  let server: Server;
  let url = '';
  let dir = '';
  const saved: Record<string, string | undefined> = {};
  const HELM_DIRS = ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'devenv-helm-repo-'));
    // helm's own cache and config go to the temp dir, not the user's.
    for (const k of HELM_DIRS) {
      saved[k] = process.env[k];
      process.env[k] = join(dir, k.toLowerCase());
    }
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    execFileSync(helm as string, ['package', join(fixture, 'charts', 'storefront'), '-d', repo]);
    server = createServer((req, res) => {
      const file = join(repo, (req.url ?? '/').split('?')[0]!.replace(/^\/charts\//, ''));
      if (!existsSync(file) || file === repo) res.writeHead(404).end();
      else res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
    execFileSync(helm as string, ['repo', 'index', repo, '--url', url]);
  });
  afterAll(async () => {
    for (const k of HELM_DIRS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders the repository chart like the local one, its objects named after repo/chart@version', async () => {
    const notices: string[] = [];
    const entry: ChartSource = {
      chart: 'storefront',
      repo: url,
      version: '1.4.2',
      values: ['deploy/values-production.yaml', 'deploy/values-dev.yaml'],
      namespace: 'helm-front-web',
    };
    const docs = await loadManifests([entry], {
      root: fixture,
      helm: helm as string,
      onNotice: (l) => notices.push(l),
    });
    expect(docs.map(plainOf).map(id).sort()).toEqual([
      'Deployment/helm-front-web/storefront',
      'Job/helm-front-web/storefront-migrate',
      'Service/helm-front-web/storefront',
    ]);
    expect(docs[0]!.file).toBe(`${url}/storefront@1.4.2 (helm)`);
    expect(notices[0]).toMatch(
      new RegExp(`^${url}/storefront@1\\.4\\.2 \\(release storefront\\): Pod storefront-test-connection`),
    );
    const deploy = docs.map(plainOf).find((o) => at(o, 'kind') === 'Deployment');
    expect(at(deploy, 'spec.replicas')).toBe(1);
    // A version the repository does not have: bad input naming the chart, with helm's reason.
    await expect(
      loadManifests([{ ...entry, version: '9.9.9' }], { root: fixture, helm: helm as string }),
    ).rejects.toMatchObject({
      message: `${url}/storefront@9.9.9: helm template failed; nothing was applied.`,
    });
  });
});

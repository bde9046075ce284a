/**
 * `devenv init` on generated repository layouts: the CLI writes devenv.yaml in a fresh
 * temp repository, `devenv config validate` accepts it whenever the repository has
 * manifests, and devenv's real loader reads every service's manifests as written, with no
 * object listed by two services (up would refuse it). A Helm chart is listed as a chart
 * entry, rendered by the real helm (test/tools/build.sh) like the rest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { duplicates, loadManifests } from '../../src/manifests/load.ts';
import { toolMissing } from '../setup/tier.ts';
import { testHelm, testKubectl } from '../support/helm.ts';

const devenv = join(import.meta.dirname, '..', '..', 'devenv');
const repos: string[] = [];
afterAll(() => {
  for (const r of repos) rmSync(r, { recursive: true, force: true });
});

const hasKubectl = testKubectl('init');

const helm = testHelm();
if (!helm)
  toolMissing('init', 'helm missing (charts are rendered by `helm template`): run test/tools/build.sh');

const deployment = (name: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    matchLabels: {app: ${name}}\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec:\n      containers:\n        - name: ${name}\n          image: shop/${name}\n`;
const kustomization = (...resources: string[]) =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${resources.join(', ')}]\n`;

/** A repository in a temp dir from { path: content }. */
function repo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'devenv-init-'));
  repos.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const cli = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [devenv, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });

interface Written {
  text: string;
  services: Array<{ name: string; context: string; manifests: Array<string | { chart: string }> }>;
  stdout: string;
}

/** init, then validate (must pass), then devenv's loader on every service's manifests. */
async function initAndValidate(root: string): Promise<Written> {
  const init = cli(root, 'init');
  expect(init.status, init.stderr).toBe(0);
  const text = readFileSync(join(root, 'devenv.yaml'), 'utf8');
  const validate = cli(root, 'config', 'validate');
  expect(validate.status, `${validate.stderr}\n--- devenv.yaml\n${text}`).toBe(0);
  const services = (parse(text) as { services: Written['services'] }).services;
  const all = [];
  for (const s of services)
    all.push(
      ...(await loadManifests(
        // Through the schema's default (values: []), as devenv reads them.
        s.manifests.map((m) => (typeof m === 'string' ? m : { values: [], ...m })),
        { root, ...(helm ? { helm } : {}) },
      )),
    );
  expect(duplicates(all)).toEqual([]);
  return { text, services, stdout: init.stdout };
}

const manifestsOf = (w: Written) => Object.fromEntries(w.services.map((s) => [s.name, s.manifests]));

describe('devenv init finds each service manifests', () => {
  it('k8s/ and deploy/ under each build context', async () => {
    const root = repo({
      'services/api/Dockerfile': 'FROM scratch\n',
      'services/api/k8s/deployment.yaml': deployment('api'),
      'services/web/Dockerfile': 'FROM scratch\n',
      'services/web/deploy/deployment.yaml': deployment('web'),
    });
    const w = await initAndValidate(root);
    expect(manifestsOf(w)).toEqual({ api: ['services/api/k8s'], web: ['services/web/deploy'] });
    expect(w.text).not.toContain('TODO');
    expect(w.stdout).toContain('api (services/api): services/api/k8s');
  });

  it('manifests/ and kubernetes/ under build contexts, and a kustomization folder of any name', async () => {
    const root = repo({
      'api/Dockerfile': 'FROM scratch\n',
      'api/manifests/deployment.yaml': deployment('api'),
      'web/Dockerfile': 'FROM scratch\n',
      'web/kubernetes/deployment.yaml': deployment('web'),
      'worker/Dockerfile': 'FROM scratch\n',
      'worker/ops/k/kustomization.yaml': kustomization('deployment.yaml'),
      'worker/ops/k/deployment.yaml': deployment('worker'),
    });
    const w = await initAndValidate(root);
    expect(manifestsOf(w)).toEqual({
      api: ['api/manifests'],
      web: ['web/kubernetes'],
      worker: ['worker/ops/k'],
    });
  });

  it.skipIf(!hasKubectl)('a kustomization at the repository root, beside the Dockerfile', async () => {
    const root = repo({
      Dockerfile: 'FROM scratch\n',
      'kustomization.yaml': kustomization('app.yaml'),
      'app.yaml': deployment('app'),
    });
    const w = await initAndValidate(root);
    expect(w.services).toHaveLength(1);
    expect(w.services[0]!.manifests).toEqual(['.']);
  });

  it.skipIf(!hasKubectl)('base + overlays in k8s/: the dev overlay is listed, the others named', async () => {
    const root = repo({
      'app/Dockerfile': 'FROM scratch\n',
      'k8s/base/kustomization.yaml': kustomization('deployment.yaml'),
      'k8s/base/deployment.yaml': deployment('app'),
      'k8s/overlays/dev/kustomization.yaml': kustomization('../../base'),
      'k8s/overlays/prod/kustomization.yaml': kustomization('../../base'),
    });
    const w = await initAndValidate(root);
    expect(manifestsOf(w)).toEqual({ app: ['k8s/overlays/dev'] });
    expect(w.text).toContain('# also found: kustomization k8s/base');
    expect(w.text).toContain('# also found: kustomization k8s/overlays/prod');
  });

  it('a root k8s/ with a folder per service is split; a shared one goes to one service only', async () => {
    const split = await initAndValidate(
      repo({
        'services/api/Dockerfile': 'FROM scratch\n',
        'services/web/Dockerfile': 'FROM scratch\n',
        'k8s/api/deployment.yaml': deployment('api'),
        'k8s/web/deployment.yaml': deployment('web'),
      }),
    );
    expect(manifestsOf(split)).toEqual({ api: ['k8s/api'], web: ['k8s/web'] });

    // fixtures/pyapp's layout: app/Dockerfile, the manifests in k8s/ at the root.
    const shared = await initAndValidate(
      repo({ 'app/Dockerfile': 'FROM scratch\n', 'k8s/web.yaml': deployment('web') }),
    );
    expect(manifestsOf(shared)).toEqual({ app: ['k8s'] });
  });

  it('a root k8s/ per namespace: each part goes to the service whose image it runs', async () => {
    const w = await initAndValidate(
      repo({
        'portal/Dockerfile': 'FROM scratch\n',
        'api/Dockerfile': 'FROM scratch\n',
        'k8s/b2b/deployment.yaml': deployment('portal'),
        'k8s/back/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: back\n',
        'k8s/back/api/deployment.yaml': deployment('api'),
      }),
    );
    // k8s/back holds only api's image and a Namespace: listed whole (fixtures/b2b, where
    // k8s/back also holds the cache, is split further: see the fixtures' test below).
    expect(manifestsOf(w)).toEqual({ api: ['k8s/back'], portal: ['k8s/b2b'] });
  });

  it('the fixtures: init finds the manifests their hand-written configs list', () => {
    for (const fixture of ['social', 'b2b', 'pyapp']) {
      const dir = join(import.meta.dirname, '..', '..', 'fixtures', fixture);
      const r = cli(dir, 'init', '--stdout');
      expect(r.status, r.stderr).toBe(0);
      const written = (parse(r.stdout) as { services: Array<{ context: string; manifests: string[] }> })
        .services;
      const own = (parse(readFileSync(join(dir, 'devenv.yaml'), 'utf8')) as { services: typeof written })
        .services;
      const byContext = (l: typeof written) =>
        Object.fromEntries(l.map((s) => [s.context, [...s.manifests].sort()]));
      expect(byContext(written), fixture).toEqual(byContext(own));
    }
  });

  it.skipIf(!helm)(
    'a Helm chart is listed as a chart entry, rendered by helm; the config is valid',
    async () => {
      const root = repo({
        'services/api/Dockerfile': 'FROM scratch\n',
        'services/api/k8s/deployment.yaml': deployment('api'),
        'services/web/Dockerfile': 'FROM scratch\n',
        'services/web/chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
        'services/web/chart/values.yaml': 'replicas: 1\n',
        'services/web/chart/templates/deployment.yaml': `{{- if .Values.replicas }}\n${deployment('web')}{{- end }}\n`,
      });
      const w = await initAndValidate(root);
      expect(manifestsOf(w)).toEqual({ api: ['services/api/k8s'], web: [{ chart: 'services/web/chart' }] });
      expect(w.text).toContain('# Helm chart services/web/chart: rendered with `helm template`');
      expect(w.stdout).toContain('web (services/web): Helm chart services/web/chart');

      // A chart inside k8s/ beside plain YAML: the YAML is listed entry by entry, never the
      // chart's templates (the loader would read them as manifests).
      const mixed = await initAndValidate(
        repo({
          Dockerfile: 'FROM scratch\n',
          'k8s/app.yaml': deployment('app'),
          'k8s/chart/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.1.0\n',
          'k8s/chart/templates/x.yaml': '{{ .Values.x }}\n',
        }),
      );
      expect(mixed.services[0]!.manifests).toEqual(['k8s/app.yaml', { chart: 'k8s/chart' }]);
      expect(mixed.text).toContain('# Helm chart k8s/chart:');
    },
  );

  it('without manifests the TODO stays, and validate says where', () => {
    const root = repo({ 'api/Dockerfile': 'FROM scratch\n' });
    expect(cli(root, 'init').status).toBe(0);
    expect(readFileSync(join(root, 'devenv.yaml'), 'utf8')).toContain('manifests: []  # TODO');
    const validate = cli(root, 'config', 'validate');
    expect(validate.status).toBe(2);
    expect(validate.stderr).toContain('needs at least one manifest file or folder');
  });
});

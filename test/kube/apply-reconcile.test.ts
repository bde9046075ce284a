// Reconcile against the REAL test cluster (test/cluster: kube-apiserver, controllers,
// scheduler, kubelet + containerd): apply, no-op second run (zero writes), update, prune,
// conflicts with objects devenv did not create, immutable-field replacement, server-side
// validation before any write, devenv's own Secrets and namespaces.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { reconcile } from '../../src/kube/apply.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { deleteNamespace, ensureNamespaces } from '../../src/kube/namespaces.ts';
import { readObject } from '../../src/kube/objects.ts';
import { waitForRollouts } from '../../src/kube/rollout.ts';
import { applySecret } from '../../src/kube/secret.ts';
import { ownerLabels, ownerSelector, type RenderedObject } from '../../src/manifests/types.ts';
import {
  newRunId,
  type PushedImage,
  pushTestImage,
  PYTHON_IMAGE as pythonImage,
  readLive,
  TEST_REGISTRY as registry,
  renderText,
} from '../support/kube.ts';

const kubeconfig = inject('kubeconfig');

const runId = newRunId();
const project = `apply-${runId}`;
const ns = `devenv-apply-${runId}`;
const image = `${registry}/devenv-apply-test/web:${runId}`;

const SERVER = `import http.server, os
print("web starting on 8080", flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello %s db=%s\\n" % (os.environ.get("GREETING", "?"), os.environ.get("DATABASE_URL", "-"))).encode()
        self.send_response(200 if self.path in ("/", "/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
`;

// The production-style manifests under test; the image is named by repository only.
const manifests = (greeting = 'world') => `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  GREETING: ${greeting}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: devenv-apply-test/web:latest
        ports: [{containerPort: 8080, name: http}]
        envFrom:
        - configMapRef: {name: web-config}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {mode: devenv}
`;

const render = (text: string, file = 'k8s/web.yaml'): RenderedObject[] =>
  renderText(text, file, {
    project,
    namespace: ns,
    images: { 'devenv-apply-test/web': image },
    dataSecret: 'devenv-data',
  });

const without = (objs: RenderedObject[], name: string, kind = 'ConfigMap') =>
  objs.filter((o) => !(o.id.kind === kind && o.id.name === name));

describe.skipIf(!kubeconfig)('reconcile on the real test cluster', () => {
  let client: KubeClient;
  let built: PushedImage | undefined;
  const events: ProgressEvent[] = [];
  const onEvent = (e: ProgressEvent) => events.push(e);
  const extraNamespaces: string[] = [];

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string });
    built = await pushTestImage(
      image,
      {
        'server.py': SERVER,
        Dockerfile: `FROM ${pythonImage}\nCOPY server.py /server.py\nUSER 65534\nCMD ["python3", "/server.py"]\n`,
      },
      'devenv-apply-test-',
    );
    // An object of the same kind and name as a rendered one, NOT created by devenv.
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { metadata: { name: 'settings', labels: { owner: 'someone-else' } }, data: { mode: 'theirs' } },
    });
    // And one devenv must never prune, although it sits among devenv's objects.
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { metadata: { name: 'bystander' }, data: { keep: 'me' } },
    });
  }, 300_000);

  afterAll(async () => {
    for (const n of [ns, ...extraNamespaces]) {
      await client?.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
    }
    await built?.remove();
  }, 60_000);

  it('connects through the kubeconfig and names the context and server', async () => {
    expect(client.contextName()).toBeTruthy();
    expect(client.server()).toMatch(/^https:\/\//);
    const v = await client.request<{ gitVersion: string }>('GET', '/version');
    expect(v.gitVersion).toMatch(/^v1\./);
  });

  it('applies a rendered set; the Deployment becomes Ready; an unlabelled object is left alone', async () => {
    const objects = render(manifests());
    const settingsBefore = await readLive(client, 'v1', 'ConfigMap', ns, 'settings');
    const r = await reconcile({ client, objects, project, env: 'dev', onEvent });
    expect(r.created).toBe(3);
    expect(r.updated).toBe(0);
    expect(r.conflicts).toEqual([
      {
        key: `/ConfigMap/${ns}/settings`,
        object: `ConfigMap ${ns}/settings`,
        reason: 'exists and was not created by devenv: left alone',
      },
    ]);
    // 3 objects; the namespace existed (created by the test, unlabelled: used as it is).
    expect(r.writes).toBe(3);
    expect(events).toContainEqual(
      expect.objectContaining({ id: `apply:ConfigMap ${ns}/settings`, phase: 'skip' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        id: `namespace:${ns}`,
        phase: 'skip',
        detail: expect.stringContaining('not created by devenv'),
      }),
    );
    const settingsAfter = await readLive(client, 'v1', 'ConfigMap', ns, 'settings');
    expect(settingsAfter?.metadata.resourceVersion).toBe(settingsBefore?.metadata.resourceVersion);
    expect(settingsAfter?.data).toEqual({ mode: 'theirs' });
    const nsLive = await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns });
    expect(nsLive?.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();

    const rollout = await waitForRollouts({ client, objects, timeoutMs: 180_000, onEvent });
    expect(rollout.ready).toEqual([`Deployment ${ns}/web`]);

    // The pod is findable by devenv's labels, runs the built image, and got the data secret's envFrom.
    const pods = await client.request<{
      items: Array<{ spec: { containers: Array<{ image: string; envFrom: unknown[] }> } }>;
    }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: ownerSelector(project, 'dev') } });
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]!.spec.containers[0]!.image).toBe(image);
    expect(pods.items[0]!.spec.containers[0]!.envFrom).toEqual([
      { configMapRef: { name: 'web-config' } },
      { secretRef: { name: 'devenv-data', optional: true } },
    ]);
  }, 240_000);

  it('a second reconcile of the same set makes zero writes', async () => {
    const r = await reconcile({ client, objects: render(manifests()), project, env: 'dev' });
    expect(r).toMatchObject({ created: 0, updated: 0, unchanged: 3, pruned: 0, writes: 0 });
    expect(r.conflicts).toHaveLength(1);
  });

  it('a changed object is updated, and only it', async () => {
    const r = await reconcile({ client, objects: render(manifests('devenv')), project, env: 'dev' });
    expect(r).toMatchObject({
      created: 0,
      updated: 1,
      unchanged: 2,
      writes: 1,
      changed: [`ConfigMap ${ns}/web-config`],
    });
    const cm = await readLive(client, 'v1', 'ConfigMap', ns, 'web-config');
    expect(cm?.data).toEqual({ GREETING: 'devenv' });
  });

  it('removing one object from the set prunes exactly that object', async () => {
    const objects = without(render(manifests('devenv')), 'web-config');
    const r = await reconcile({ client, objects, project, env: 'dev', onEvent });
    expect(r.pruned).toBe(1);
    expect(r.prunedObjects).toEqual([`ConfigMap ${ns}/web-config`]);
    expect(r.writes).toBe(1);
    const names = async (kind: string, path: string) =>
      (
        await client.request<{ items: Array<{ metadata: { name: string } }> }>(
          'GET',
          `/api/v1/namespaces/${ns}/${path}`,
        )
      ).items
        .map((i) => `${kind}/${i.metadata.name}`)
        .sort();
    expect(await names('ConfigMap', 'configmaps')).toEqual([
      'ConfigMap/bystander',
      'ConfigMap/kube-root-ca.crt',
      'ConfigMap/settings',
    ]);
    expect(await names('Service', 'services')).toEqual(['Service/web']);
    expect(
      await readObject(client, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }),
    ).toBeDefined();
    // And once pruned, nothing more to do.
    const again = await reconcile({ client, objects, project, env: 'dev' });
    expect(again.writes).toBe(0);
  }, 60_000);

  it('lets the API server validate every object before writing any (unknown field → exit 2, nothing applied)', async () => {
    const bad = `apiVersion: v1
kind: ConfigMap
metadata: {name: would-be-created}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replicas: 1
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec:
      containers:
      - name: c
        image: devenv-apply-test/web
        imagePullPolicyy: Always
`;
    const objects = [...render(manifests('devenv')), ...render(bad, 'k8s/bad.yaml')];
    let err: unknown;
    try {
      await reconcile({ client, objects, project, env: 'dev' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).exitCode).toBe(2);
    expect((err as DevenvError).message).toMatch(/nothing was applied/);
    expect((err as DevenvError).details.join('\n')).toMatch(
      /k8s\/bad\.yaml#1: Deployment .*\/typo: .*imagePullPolicyy/,
    );
    expect(await readLive(client, 'v1', 'ConfigMap', ns, 'would-be-created')).toBeUndefined();
    expect(
      await readObject(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' }),
    ).toBeUndefined();
  });

  it('a kind whose CRD is not installed: an environment failure (exit 1) naming it and its provider, before anything is written', async () => {
    const text = 'apiVersion: acme.io/v1\nkind: Widget\nmetadata: {name: w}\n';
    const objects = [...render(manifests('x')), ...render(text, 'k8s/widget.yaml')];
    await expect(reconcile({ client, objects, project, env: 'dev' })).rejects.toMatchObject({
      exitCode: 1,
      details: [
        expect.stringMatching(
          /^k8s\/widget\.yaml#0: Widget .*\/w: the cluster .* does not serve kind Widget \(apiVersion acme\.io\/v1\): no CustomResourceDefinition for acme\.io is installed; install the operator or chart that defines the acme\.io API group/,
        ),
      ],
    });
    // k3s's HelmChart (devenv's ingress add-on on k3d) names k3s as its provider.
    const chart = 'apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: c}\n';
    await expect(
      reconcile({ client, objects: render(chart, 'k8s/chart.yaml'), project, env: 'dev' }),
    ).rejects.toMatchObject({
      exitCode: 1,
      details: [expect.stringMatching(/kind HelmChart \(apiVersion helm\.cattle\.io\/v1\).*comes with k3s/)],
    });
    expect(
      await readObject(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' }),
    ).toBeUndefined();
  });

  it('a kind or apiVersion Kubernetes itself does not have is bad input (exit 2)', async () => {
    const typo = 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n';
    await expect(
      reconcile({ client, objects: render(typo, 'k8s/typo.yaml'), project, env: 'dev' }),
    ).rejects.toMatchObject({
      exitCode: 2,
      details: [
        expect.stringMatching(
          /has no kind Deploymnet in apiVersion apps\/v1; check the kind \(apps\/v1 has .*Deployment/,
        ),
      ],
    });
    const removed = 'apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\n';
    await expect(
      reconcile({ client, objects: render(removed, 'k8s/old.yaml'), project, env: 'dev' }),
    ).rejects.toMatchObject({
      exitCode: 2,
      details: [expect.stringMatching(/does not serve apiVersion extensions\/v1beta1 \(kind Ingress\)/)],
    });
  });

  it('replaces an object whose immutable field changed (a Job template)', async () => {
    const job = (arg: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: devenv-apply-test/web
        command: ["python3", "-c", "print('migrating ${arg}')"]
`;
    const base = without(render(manifests('devenv')), 'web-config');
    const first = await reconcile({
      client,
      objects: [...base, ...render(job('v1'), 'k8s/job.yaml')],
      project,
      env: 'dev',
    });
    expect(first).toMatchObject({ created: 1, writes: 1 });
    const uid1 = (
      await readObject(client, { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' })
    )?.metadata.uid;
    const objects = [...base, ...render(job('v2'), 'k8s/job.yaml')];
    const second = await reconcile({ client, objects, project, env: 'dev' });
    expect(second).toMatchObject({ updated: 1, created: 0, writes: 2, changed: [`Job ${ns}/migrate`] });
    const live = await readLive(client, 'batch/v1', 'Job', ns, 'migrate');
    expect(live?.metadata.uid).not.toBe(uid1);
    await waitForRollouts({ client, objects, timeoutMs: 120_000 });
    expect((await reconcile({ client, objects, project, env: 'dev' })).writes).toBe(0);
  }, 180_000);

  it('applySecret writes only when the content changed, and never over a foreign Secret', async () => {
    const labels = ownerLabels(project, 'dev');
    const spec = {
      namespace: ns,
      name: 'devenv-data',
      stringData: { DATABASE_URL: 'postgres://u:p@db:5432/app' },
      labels,
    };
    expect(await applySecret(client, spec)).toEqual({ changed: true, created: true, writes: 1 });
    expect(await applySecret(client, spec)).toEqual({ changed: false, created: false, writes: 0 });
    const live = await readLive(client, 'v1', 'Secret', ns, 'devenv-data');
    expect(
      Buffer.from(
        String((live?.data as Record<string, string> | undefined)?.DATABASE_URL),
        'base64',
      ).toString(),
    ).toBe('postgres://u:p@db:5432/app');
    expect(JSON.stringify(live)).not.toContain('postgres://u:p@db');
    const changed = { ...spec, stringData: { DATABASE_URL: 'postgres://u:q@db:5432/app' } };
    expect(await applySecret(client, changed)).toEqual({ changed: true, created: false, writes: 1 });

    await client.request('POST', `/api/v1/namespaces/${ns}/secrets`, {
      body: { metadata: { name: 'foreign' }, stringData: { a: 'b' } },
    });
    await expect(applySecret(client, { ...spec, name: 'foreign' })).rejects.toThrow(
      /was not created by devenv/,
    );

    // The Deployment's pods read it through the envFrom rendering added: restart to pick it up.
    const objects = without(render(manifests('devenv')), 'web-config');
    const r = await reconcile({ client, objects, project, env: 'dev' });
    expect(r.pruned).toBe(1); // the Job of the previous test left the manifests
    expect(r.writes).toBe(1);
    // devenv's own Secret (no source annotation) is never pruned as a left-over manifest.
    expect(
      await readObject(client, { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'devenv-data' }),
    ).toBeDefined();
  }, 60_000);

  it('creates namespaces labelled, and deletes only labelled ones', async () => {
    const mine = `${ns}-own`;
    extraNamespaces.push(mine);
    const first = await ensureNamespaces(client, [mine, ns], { project, env: 'dev' });
    expect(first).toEqual({ created: [mine], unchanged: [], foreign: [ns], writes: 1 });
    const second = await ensureNamespaces(client, [mine], { project, env: 'dev' });
    expect(second).toEqual({ created: [], unchanged: [mine], foreign: [], writes: 0 });
    const live = await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: mine });
    expect(live?.metadata.labels).toMatchObject(ownerLabels(project, 'dev'));

    await expect(deleteNamespace(client, ns, { project, env: 'dev' })).rejects.toThrow(
      /not created by devenv/,
    );
    await expect(deleteNamespace(client, mine, { project: 'another', env: 'dev' })).rejects.toMatchObject({
      message: expect.stringMatching(/was not created by devenv for another\/dev/),
      details: [expect.stringMatching(/^its labels name another project or env/)],
    });
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeDefined();
    expect(await deleteNamespace(client, mine, { project, env: 'dev', wait: true })).toBe(true);
    expect(await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name: mine })).toBeUndefined();
    expect(await deleteNamespace(client, mine, { project, env: 'dev' })).toBe(false);
  }, 200_000);
});

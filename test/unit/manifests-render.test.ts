// biome-ignore-all lint/suspicious/noExplicitAny: the tests walk into rendered JSON objects, whose shape the assertions check
import { describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { canonicalJson } from '../../src/manifests/hash.ts';
import { imageRepository, parseImageRef, replacementFor } from '../../src/manifests/images.ts';
import { parseManifestText } from '../../src/manifests/parse.ts';
import { prereleaseHost } from '../../src/manifests/prerelease-edits.ts';
import { type RenderInput, renderManifests } from '../../src/manifests/render.ts';
import { ANNOTATION_HASH, ANNOTATION_SOURCE, type RenderedObject } from '../../src/manifests/types.ts';

// A production-style manifest: comments, quoting, block scalars, anchors and merge keys,
// YAML 1.1 octal, named ports, resource quantities, compact sequences.
const API_YAML = `# The shop API (production manifest; devenv must not rewrite it)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api   # the service name
  namespace: back
  labels: {app: api, tier: "backend"}
  annotations:
    team: payments
spec:
  replicas: 2
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
      annotations:
        prometheus.io/scrape: "true"
    spec:
      initContainers:
      - name: migrate
        image: registry.gitlab.com/acme/shop/api:1.4.2
        command: ["python", "-m", "migrate"]
      containers:
      - name: api
        image: "registry.gitlab.com/acme/shop/api:1.4.2"   # replaced by devenv
        args: ["--port", '8080']
        ports:
        - {name: http, containerPort: 8080}
        env:
        - name: FEATURE_FLAG
          value: "no"
        - name: GREETING
          value: |
            Hello,
              world
        - name: ZONE
          value: 12:30
        - &pod_ip
          name: POD_IP
          valueFrom:
            fieldRef: {fieldPath: status.podIP}
        envFrom:
        - configMapRef: {name: api-config}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits:
            memory: "256Mi"
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
      - name: sidecar
        image: docker.io/library/nginx:1.27   # not built by devenv: untouched
        volumeMounts:
        - name: config
          mountPath: /etc/nginx/conf.d
      volumes:
      - name: config
        configMap:
          name: nginx
          defaultMode: 0644
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: back}
spec:
  selector: {app: api}
  ports:
  - port: 80
    targetPort: http
---
# no namespace: goes to the default one given by the caller
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
data:
  LOG_LEVEL: info
  ENABLED: "yes"
`;

function docsOf(text: string, file = 'k8s/api.yaml') {
  const parsed = parseManifestText(text, file);
  expect(parsed.problems).toEqual([]);
  return parsed.docs;
}

const base = (over: Partial<RenderInput> = {}): RenderInput => ({
  docs: docsOf(API_YAML),
  project: 'shop',
  env: 'dev',
  defaultNamespace: 'shop',
  images: { 'shop/api': 'localhost:5001/shop/api:devenv-abc123' },
  dataSecret: 'devenv-data',
  ...over,
});

const byKind = (objs: RenderedObject[], kind: string) => objs.find((o) => o.id.kind === kind)!;

/** JSON paths where two values differ (added, removed or changed leaves). */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object';
  // An added or removed collection: list its leaves.
  if (a === undefined && isObj(b)) return diffPaths(Array.isArray(b) ? [] : {}, b, path);
  if (b === undefined && isObj(a)) return diffPaths(a, Array.isArray(a) ? [] : {}, path);
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return [path || '.'];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])];
  return keys.flatMap((k) => diffPaths(ra[k], rb[k], `${path}.${k}`));
}

describe('image references', () => {
  it.each([
    ['shop/api', '', 'shop/api', undefined],
    ['shop/api:1.2', '', 'shop/api', '1.2'],
    ['localhost:5001/shop/api:abc', 'localhost:5001', 'shop/api', 'abc'],
    ['registry.gitlab.com/acme/shop/api:1.4.2', 'registry.gitlab.com', 'acme/shop/api', '1.4.2'],
    ['nginx', '', 'nginx', undefined],
    ['docker.io/library/nginx:1.27', '', 'nginx', '1.27'],
    ['localhost/shop/api', 'localhost', 'shop/api', undefined],
    ['127.0.0.1:5001/shop/api@sha256:abcd', '127.0.0.1:5001', 'shop/api', undefined],
  ])('parses %s', (ref, domain, repository, tag) => {
    const r = parseImageRef(ref);
    expect(r.domain).toBe(domain);
    expect(r.repository).toBe(repository);
    expect(r.tag).toBe(tag);
  });

  it('keeps the digest apart from the tag', () => {
    expect(parseImageRef('ghcr.io/a/b:1.0@sha256:ff')).toEqual({
      domain: 'ghcr.io',
      repository: 'a/b',
      tag: '1.0',
      digest: 'sha256:ff',
    });
  });

  it('matches by repository, ignoring registry host and tag', () => {
    const images = { 'shop/api': 'localhost:5001/shop/api:new' };
    for (const img of [
      'shop/api',
      'shop/api:old',
      'localhost:5001/shop/api:x',
      'ghcr.io/shop/api@sha256:1',
    ]) {
      expect(replacementFor(img, images)?.ref, img).toBe('localhost:5001/shop/api:new');
    }
    for (const img of ['shop/api-worker', 'other/shop/api', 'api', 'shop/apis:1']) {
      expect(replacementFor(img, images), img).toBeUndefined();
    }
    expect(imageRepository('registry.gitlab.com/acme/shop/api:1')).toBe('acme/shop/api');
  });
});

describe('renderManifests', () => {
  it('changes only namespace, images, labels, envFrom and the devenv annotations', () => {
    const original = docsOf(API_YAML).map((d) => (d.doc as { toJS(): unknown }).toJS());
    const images = { 'acme/shop/api': 'localhost:5001/acme/shop/api:devenv-1' };
    const { objects } = renderManifests(base({ images }));
    expect(objects.map((o) => o.id.kind)).toEqual(['Deployment', 'Service', 'ConfigMap']);

    const labelPaths = (prefix: string) =>
      ['app.kubernetes.io/managed-by', 'dev.devenv/project', 'dev.devenv/env'].map(
        (k) => `${prefix}.labels.${k}`,
      );
    const envFrom = (p: string) => [`${p}.secretRef.name`, `${p}.secretRef.optional`];
    const annotations = [
      `.metadata.annotations.${ANNOTATION_SOURCE}`,
      `.metadata.annotations.${ANNOTATION_HASH}`,
    ];

    const tpl = '.spec.template.spec';
    expect(diffPaths(original[0], objects[0]!.object).sort()).toEqual(
      [
        ...labelPaths('.metadata'),
        ...annotations,
        ...labelPaths('.spec.template.metadata'),
        `${tpl}.initContainers.0.image`,
        ...envFrom(`${tpl}.initContainers.0.envFrom.0`),
        `${tpl}.containers.0.image`,
        ...envFrom(`${tpl}.containers.0.envFrom.1`),
        ...envFrom(`${tpl}.containers.1.envFrom.0`),
      ].sort(),
    );
    expect(diffPaths(original[1], objects[1]!.object).sort()).toEqual(
      [...labelPaths('.metadata'), ...annotations].sort(),
    );
    expect(diffPaths(original[2], objects[2]!.object).sort()).toEqual(
      [...labelPaths('.metadata'), ...annotations, '.metadata.namespace'].sort(),
    );
  });

  it('expands aliases and merge keys like kubectl; an edit of an anchored map does not reach its aliases', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels
    app: web
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
        - &main
          name: web
          image: acme/shop/web:1
        - <<: *main
          name: sidecar
`;
    const { objects } = renderManifests({ ...base(), docs: docsOf(text, 'k8s/web.yaml') });
    const dep = objects[0]!.object as any;
    // devenv's labels on the object and the pod template, never in the selector (immutable).
    expect(dep.metadata.labels['dev.devenv/project']).toBe('shop');
    expect(dep.spec.template.metadata.labels['dev.devenv/project']).toBe('shop');
    expect(dep.spec.selector.matchLabels).toEqual({ app: 'web' });
    expect(dep.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual([
      'web',
      'sidecar',
    ]);
    expect(objects[0]!.yaml).not.toMatch(/[&*](labels|main)\b/);
  });

  it('reads values like kubectl (YAML 1.1) and keeps them', () => {
    const { objects } = renderManifests(base());
    const dep = byKind(objects, 'Deployment').object as any;
    const c = dep.spec.template.spec.containers[0];
    expect(dep.spec.template.spec.volumes[0].configMap.defaultMode).toBe(0o644);
    expect(c.env[0]).toEqual({ name: 'FEATURE_FLAG', value: 'no' });
    expect(c.env[1].value).toBe('Hello,\n  world\n');
    expect(c.env[2].value).toBe('12:30');
    expect(c.env[3].valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(c.args).toEqual(['--port', '8080']);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(c.readinessProbe.httpGet.port).toBe('http');
    expect(byKind(objects, 'ConfigMap').object.data).toEqual({ LOG_LEVEL: 'info', ENABLED: 'yes' });
  });

  it('keeps comments, quoting and block scalars in the rendered YAML', () => {
    const { objects } = renderManifests(base());
    const y = byKind(objects, 'Deployment').yaml;
    expect(y).toContain('# The shop API (production manifest; devenv must not rewrite it)');
    expect(y).toContain('# the service name');
    expect(y).toContain('value: "no"');
    expect(y).toContain('value: |\n');
    expect(y).toContain('defaultMode: 0644');
    expect(y).toContain('# not built by devenv: untouched');
    expect(y).toContain('image: docker.io/library/nginx:1.27');
    // Compact sequences stay compact.
    expect(y).toMatch(/\n {6}containers:\n {6}- name: api\n/);
    // The YAML says what the object says.
    const again = parseManifestText(y, 'x.yaml');
    expect(again.problems).toEqual([]);
    expect((again.docs[0]!.doc as { toJS(): unknown }).toJS()).toEqual(byKind(objects, 'Deployment').object);
  });

  it('replaces images of containers and initContainers whose repository matches', () => {
    const { objects, imagesUsed } = renderManifests(
      base({ images: { 'acme/shop/api': 'localhost:5001/acme/shop/api:t1', 'shop/unused': 'x' } }),
    );
    const spec = (byKind(objects, 'Deployment').object as any).spec.template.spec;
    expect(spec.initContainers[0].image).toBe('localhost:5001/acme/shop/api:t1');
    expect(spec.containers[0].image).toBe('localhost:5001/acme/shop/api:t1');
    expect(spec.containers[1].image).toBe('docker.io/library/nginx:1.27');
    expect(imagesUsed).toEqual(['acme/shop/api']);
  });

  it('replaces images in every pod-template kind, including CronJobs', () => {
    const text = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job']
      .map(
        (k) => `apiVersion: ${k === 'Job' ? 'batch' : 'apps'}/v1
kind: ${k}
metadata: {name: w-${k.toLowerCase()}}
spec:
  template:
    spec:
      containers:
      - {name: c, image: "pyapp/web:latest"}
`,
      )
      .concat(`apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: c, image: pyapp/web}
`)
      .concat(`apiVersion: v1
kind: Pod
metadata: {name: one-off}
spec:
  containers:
  - {name: c, image: pyapp/web}
`)
      .join('---\n');
    const { objects } = renderManifests(
      base({ docs: docsOf(text), images: { 'pyapp/web': 'localhost:5001/pyapp/web:t2' } }),
    );
    expect(objects).toHaveLength(6);
    for (const o of objects) {
      const spec =
        o.id.kind === 'CronJob'
          ? (o.object as any).spec.jobTemplate.spec.template.spec
          : o.id.kind === 'Pod'
            ? (o.object as any).spec
            : (o.object as any).spec.template.spec;
      expect(spec.containers[0].image, o.key).toBe('localhost:5001/pyapp/web:t2');
      // envFrom only on the workload kinds that run the app, not on bare Pods.
      expect(spec.containers[0].envFrom, o.key).toEqual(
        o.id.kind === 'Pod' ? undefined : [{ secretRef: { name: 'devenv-data', optional: true } }],
      );
    }
    const cron = byKind(objects, 'CronJob').object as any;
    expect(cron.spec.jobTemplate.metadata.labels['dev.devenv/project']).toBe('shop');
    expect(cron.spec.jobTemplate.spec.template.metadata.labels['dev.devenv/env']).toBe('dev');
  });

  it('labels every object and every pod template, never a selector', () => {
    const { objects } = renderManifests(base());
    for (const o of objects) {
      expect(o.object.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'devenv',
        'dev.devenv/project': 'shop',
        'dev.devenv/env': 'dev',
      });
    }
    const dep = byKind(objects, 'Deployment').object as any;
    expect(dep.spec.template.metadata.labels).toEqual({
      app: 'api',
      'app.kubernetes.io/managed-by': 'devenv',
      'dev.devenv/project': 'shop',
      'dev.devenv/env': 'dev',
    });
    expect(dep.spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect((byKind(objects, 'Service').object as any).spec.selector).toEqual({ app: 'api' });
    // The object's own labels keep theirs.
    expect(dep.metadata.labels.tier).toBe('backend');
  });

  it('adds the data secret envFrom once, after the manifest’s own', () => {
    const first = renderManifests(base());
    const c = (byKind(first.objects, 'Deployment').object as any).spec.template.spec.containers[0];
    expect(c.envFrom).toEqual([
      { configMapRef: { name: 'api-config' } },
      { secretRef: { name: 'devenv-data', optional: true } },
    ]);
    // Already present (e.g. rendered YAML rendered again): not added twice.
    const again = renderManifests(base({ docs: docsOf(byKind(first.objects, 'Deployment').yaml) }));
    const c2 = (again.objects[0]!.object as any).spec.template.spec.containers[0];
    expect(c2.envFrom).toHaveLength(2);
    // No data secret: no envFrom added.
    const none = renderManifests(base({ dataSecret: undefined }));
    const c3 = (byKind(none.objects, 'Deployment').object as any).spec.template.spec.containers;
    expect(c3[0].envFrom).toEqual([{ configMapRef: { name: 'api-config' } }]);
    expect(c3[1].envFrom).toBeUndefined();
  });

  it('dev: keeps written namespaces and defaults the others', () => {
    const { objects, namespaces } = renderManifests(base());
    expect(objects.map((o) => o.id.namespace)).toEqual(['back', 'back', 'shop']);
    expect(namespaces).toEqual(['back', 'shop']);
    expect(byKind(objects, 'ConfigMap').object.metadata.namespace).toBe('shop');
  });

  it('prerelease: one namespace for all, source Namespaces dropped, bindings follow', () => {
    const text = `apiVersion: v1
kind: Namespace
metadata: {name: back}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: back}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api, namespace: back}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: api, namespace: back}
- {kind: ServiceAccount, name: monitor, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shop-reader}
rules: []
`;
    const r = renderManifests(
      base({ docs: docsOf(text), env: 'prerelease', namespace: 'prerelease-nightly-20260101' }),
    );
    expect(r.dropped).toEqual([
      expect.objectContaining({ kind: 'Namespace', name: 'back', file: 'k8s/api.yaml', index: 0 }),
    ]);
    expect(r.objects.map((o) => `${o.id.kind}:${o.id.namespace}`)).toEqual([
      'ServiceAccount:prerelease-nightly-20260101',
      'RoleBinding:prerelease-nightly-20260101',
      'ClusterRole:',
    ]);
    const rb = byKind(r.objects, 'RoleBinding').object as any;
    expect(rb.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'api', namespace: 'prerelease-nightly-20260101' },
      { kind: 'ServiceAccount', name: 'monitor', namespace: 'kube-system' },
    ]);
    expect(byKind(r.objects, 'ClusterRole').object.metadata.namespace).toBeUndefined();
    expect(r.objects[0]!.object.metadata.labels?.['dev.devenv/env']).toBe('prerelease');
    expect(r.namespaces).toEqual(['prerelease-nightly-20260101']);
  });

  it('prerelease: cluster DNS names of moved Services follow them; every rewrite is listed', () => {
    const text = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: back}
spec: {ports: [{port: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: portal, namespace: b2b}
spec:
  selector: {matchLabels: {app: portal}}
  template:
    metadata: {labels: {app: portal}}
    spec:
      containers:
      - name: portal
        image: shop/portal
        # the API, in namespace back
        env:
        - {name: API_URL, value: "http://api.back.svc.cluster.local:8080"}
        - {name: API_SHORT, value: "http://api.back:8080/v1"}
        - {name: CACHE, value: "redis://cache.back.svc:6379"}
        - {name: OUTSIDE, value: "https://api.back.example.com"}
        - {name: OTHER_NS, value: "postgres.infra.svc.cluster.local"}
        - {name: NOT_A_SERVICE, value: "worker.back"}
        - name: FROM_SECRET
          valueFrom: {secretKeyRef: {name: s, key: k}}
        args: ["--upstream=api.back.svc.cluster.local:8080", "--verbose"]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: portal-config, namespace: b2b}
data:
  upstream: api.back.svc.cluster.local
  unrelated: "x"
`;
    const ns = 'prerelease-nightly-20260101';
    const r = renderManifests(base({ docs: docsOf(text), env: 'prerelease', namespace: ns }));
    const env = (byKind(r.objects, 'Deployment').object as any).spec.template.spec.containers[0].env;
    expect(Object.fromEntries(env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]))).toEqual({
      API_URL: `http://api.${ns}.svc.cluster.local:8080`,
      API_SHORT: `http://api.${ns}:8080/v1`,
      CACHE: `redis://cache.${ns}.svc:6379`,
      OUTSIDE: 'https://api.back.example.com',
      OTHER_NS: 'postgres.infra.svc.cluster.local',
      NOT_A_SERVICE: 'worker.back',
    });
    expect((byKind(r.objects, 'Deployment').object as any).spec.template.spec.containers[0].args).toEqual([
      `--upstream=api.${ns}.svc.cluster.local:8080`,
      '--verbose',
    ]);
    expect((byKind(r.objects, 'ConfigMap').object as any).data).toEqual({
      upstream: `api.${ns}.svc.cluster.local`,
      unrelated: 'x',
    });
    expect(r.rewrites.map((w) => `${w.object} ${w.field}`)).toEqual([
      'Deployment portal containers[portal].env[API_URL]',
      'Deployment portal containers[portal].env[API_SHORT]',
      'Deployment portal containers[portal].env[CACHE]',
      'Deployment portal containers[portal].args[0]',
      'ConfigMap portal-config data[upstream]',
    ]);
    // The comment on the env list survives the edit.
    expect(byKind(r.objects, 'Deployment').yaml).toContain('# the API, in namespace back');
    // Dev renders the same documents untouched.
    const dev = renderManifests(base({ docs: docsOf(text) }));
    expect(dev.rewrites).toEqual([]);
    expect((byKind(dev.objects, 'ConfigMap').object as any).data.upstream).toBe('api.back.svc.cluster.local');
  });

  it('prerelease: Ingresses get hosts of their own under ingressDomain, or are not applied', () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: front-web}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: storefront, port: {number: 80}}}}]}
`;
    const ns = 'prerelease-nightly-20261123';
    const without = renderManifests(base({ docs: docsOf(text), env: 'prerelease', namespace: ns }));
    expect(without.objects).toEqual([]);
    expect(without.dropped).toEqual([
      expect.objectContaining({
        kind: 'Ingress',
        name: 'shop',
        reason: expect.stringMatching(/would claim host shop\.example\.com; set prerelease\.ingressDomain/),
      }),
    ]);
    const r = renderManifests(
      base({ docs: docsOf(text), env: 'prerelease', namespace: ns, ingressDomain: 'pre.example.com' }),
    );
    const spec = (r.objects[0]!.object as any).spec;
    expect(spec.rules[0].host).toBe(`shop-${ns}.pre.example.com`);
    expect(spec.tls[0].hosts).toEqual([`shop-${ns}.pre.example.com`]);
    expect(r.rewrites).toEqual([
      expect.objectContaining({
        object: 'Ingress shop',
        from: 'shop.example.com',
        to: `shop-${ns}.pre.example.com`,
      }),
    ]);
    // Dev keeps the hosts as written.
    expect((renderManifests(base({ docs: docsOf(text) })).objects[0]!.object as any).spec.rules[0].host).toBe(
      'shop.example.com',
    );
    // Within DNS limits: one label of at most 63 characters under the domain.
    const long = prereleaseHost('storefront.example.com', `prerelease-${'x'.repeat(52)}`, 'pre.example.com');
    expect(long.split('.')[0]!.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('.pre.example.com')).toBe(true);
    expect(prereleaseHost('*.shop.example.com', 'prerelease-a', 'pre.example.com')).toBe(
      '*.shop-prerelease-a.pre.example.com',
    );
  });

  it('leaves the integration-test Jobs out unless asked for them', () => {
    const text = `apiVersion: batch/v1
kind: Job
metadata: {name: itest, labels: {dev.devenv/role: test}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: t, image: shop/api}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: shop/api}]}}}
`;
    const without = renderManifests(base({ docs: docsOf(text) }));
    expect(without.objects.map((o) => o.id.name)).toEqual(['migrate']);
    expect(without.dropped).toEqual([
      expect.objectContaining({
        kind: 'Job',
        name: 'itest',
        reason: expect.stringContaining('prerelease test'),
      }),
    ]);
    const withTests = renderManifests(base({ docs: docsOf(text), tests: true }));
    expect(withTests.objects.map((o) => o.id.name)).toEqual(['itest', 'migrate']);
    expect(withTests.dropped).toEqual([]);
  });

  it('treats custom resources as namespaced unless their CRD says Cluster', () => {
    const text = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: tenants.acme.io}
spec:
  group: acme.io
  scope: Cluster
  names: {kind: Tenant, plural: tenants}
  versions: []
---
apiVersion: acme.io/v1
kind: Tenant
metadata: {name: t1}
---
apiVersion: acme.io/v1
kind: Widget
metadata: {name: w1}
`;
    const { objects } = renderManifests(base({ docs: docsOf(text) }));
    expect(objects.map((o) => `${o.id.kind}:${o.id.namespace}`)).toEqual([
      'CustomResourceDefinition:',
      'Tenant:',
      'Widget:shop',
    ]);
  });

  it('annotates the source and a content hash; keys are stable identities', () => {
    const { objects } = renderManifests(base());
    const dep = byKind(objects, 'Deployment');
    expect(dep.key).toBe('apps/Deployment/back/api');
    expect(dep.id).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace: 'back',
      name: 'api',
    });
    expect(dep.object.metadata.annotations).toMatchObject({
      team: 'payments',
      [ANNOTATION_SOURCE]: 'k8s/api.yaml#0',
      [ANNOTATION_HASH]: dep.hash,
    });
    expect(dep.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(byKind(objects, 'ConfigMap').object.metadata.annotations?.[ANNOTATION_SOURCE]).toBe(
      'k8s/api.yaml#2',
    );
    expect(byKind(objects, 'Service').key).toBe('/Service/back/api');
  });

  it('hashes are stable across renders and layouts, and change with content', () => {
    const a = renderManifests(base()).objects.map((o) => o.hash);
    const b = renderManifests(base()).objects.map((o) => o.hash);
    expect(b).toEqual(a);
    expect(new Set(a).size).toBe(3);

    // Same objects written differently (flow style, other key order, no comments): same hash.
    const reordered = `apiVersion: v1
metadata: {namespace: back, name: api}
kind: Service
spec: {ports: [{targetPort: http, port: 80}], selector: {app: api}}
`;
    // (Same source file and document index: the source annotation is part of the object.)
    const docs = docsOf(reordered).map((d) => ({ ...d, index: 1 }));
    const svc = renderManifests(base({ docs })).objects[0]!;
    expect(svc.hash).toBe(a[1]);

    // A new image tag, a changed value, another env or project: another hash.
    const tag = renderManifests(base({ images: { 'acme/shop/api': 'localhost:5001/acme/shop/api:t9' } }));
    expect(tag.objects[0]!.hash).not.toBe(a[0]);
    expect(tag.objects[1]!.hash).toBe(a[1]);
    const changed = renderManifests(base({ docs: docsOf(API_YAML.replace('replicas: 2', 'replicas: 3')) }));
    expect(changed.objects[0]!.hash).not.toBe(a[0]);
    expect(renderManifests(base({ project: 'shop2' })).objects[1]!.hash).not.toBe(a[1]);
  });

  it('never mutates its input (the reload loop renders the same documents again)', () => {
    const docs = docsOf(API_YAML);
    const before = docs.map((d) => (d.doc as { toString(): string }).toString());
    renderManifests(base({ docs }));
    renderManifests(base({ docs, env: 'prerelease', namespace: 'p-1' }));
    expect(docs.map((d) => (d.doc as { toString(): string }).toString())).toEqual(before);

    const plain = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    const snapshot = structuredClone(plain);
    const r = renderManifests(base({ docs: [{ file: 'kustomize', index: 0, doc: plain }] }));
    expect(plain).toEqual(snapshot);
    expect(r.objects[0]!.object.metadata.namespace).toBe('shop');
    expect(r.objects[0]!.object.data).toEqual({ a: '1' });
  });

  it('renders plain objects (JSON, kustomize output) like YAML documents', () => {
    const fromYaml = renderManifests(base()).objects;
    const plainDocs = docsOf(API_YAML).map((d) => ({ ...d, doc: (d.doc as { toJS(): any }).toJS() }));
    const fromPlain = renderManifests(base({ docs: plainDocs })).objects;
    expect(fromPlain.map((o) => o.object)).toEqual(fromYaml.map((o) => o.object));
    expect(fromPlain.map((o) => o.hash)).toEqual(fromYaml.map((o) => o.hash));
  });

  it('rejects the same object twice, naming both sources', () => {
    const a = docsOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n', 'k8s/a.yaml');
    const b = docsOf(
      '\n\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n',
      'k8s/b.yaml',
    );
    let err: unknown;
    try {
      renderManifests(base({ docs: [...a, ...b] }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DevenvError);
    const e = err as DevenvError;
    expect(e.exitCode).toBe(2);
    expect(e.details).toEqual([
      'ConfigMap shop/c is defined twice: in k8s/a.yaml:1:1 (document 0) and in k8s/b.yaml:3:1 (document 0)',
    ]);
  });
});

// The isolation objects devenv adds to every prerelease namespace, and how they render.
// biome-ignore-all lint/suspicious/noExplicitAny: the assertions walk into plain Kubernetes objects
import { describe, expect, it } from 'vitest';
import { renderManifests } from '../../src/manifests/render.ts';
import {
  DEFAULT_LIMITS,
  DEFAULT_QUOTA,
  isolationObjects,
  TEST_SERVICE_ACCOUNT,
  wideningPolicies,
} from '../../src/prerelease/isolation.ts';

const byKind = (ns: string, opts = {}) =>
  Object.fromEntries(isolationObjects({ namespace: ns, ...opts }).map((o) => [o.kind, o as any]));

describe('isolation objects', () => {
  it('default-denies ingress except from the ingress controller namespace and the namespace itself', () => {
    const np = byKind('prerelease-n1').NetworkPolicy;
    expect(np.metadata).toEqual({ name: 'devenv-isolation', namespace: 'prerelease-n1' });
    expect(np.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
            { podSelector: {} },
          ],
        },
      ],
    });
    const custom = byKind('prerelease-n1', { ingressNamespace: 'traefik' }).NetworkPolicy;
    expect(custom.spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({
      'kubernetes.io/metadata.name': 'traefik',
    });
  });

  it('sets a quota and default container limits (overridable)', () => {
    const o = byKind('prerelease-n1');
    expect(o.ResourceQuota.spec.hard).toEqual(DEFAULT_QUOTA);
    expect(o.LimitRange.spec.limits).toEqual([
      { type: 'Container', default: DEFAULT_LIMITS.default, defaultRequest: DEFAULT_LIMITS.defaultRequest },
    ]);
    const small = byKind('prerelease-n1', { quota: { pods: '5' } });
    expect(small.ResourceQuota.spec.hard).toEqual({ pods: '5' });
  });

  it('gives the test Job a read-only service account limited to its namespace', () => {
    const o = byKind('prerelease-n1');
    expect(o.ServiceAccount.metadata).toEqual({ name: TEST_SERVICE_ACCOUNT, namespace: 'prerelease-n1' });
    const verbs = new Set(o.Role.rules.flatMap((r: any) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
    expect(o.Role.rules.flatMap((r: any) => r.resources)).not.toContain('secrets');
    expect(o.RoleBinding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: TEST_SERVICE_ACCOUNT,
    });
    expect(o.RoleBinding.subjects).toEqual([
      { kind: 'ServiceAccount', name: TEST_SERVICE_ACCOUNT, namespace: 'prerelease-n1' },
    ]);
  });

  it('renders like the project manifests: prerelease labels, one namespace, hash, and stable', () => {
    const docs = isolationObjects({ namespace: 'prerelease-n1' }).map((doc, index) => ({
      file: '<devenv:isolation>',
      index,
      doc: { ...doc },
    }));
    const a = renderManifests({ docs, project: 'shop', env: 'prerelease', namespace: 'prerelease-n1' });
    const b = renderManifests({ docs, project: 'shop', env: 'prerelease', namespace: 'prerelease-n1' });
    expect(a.namespaces).toEqual(['prerelease-n1']);
    expect(a.objects.map((o) => o.hash)).toEqual(b.objects.map((o) => o.hash));
    for (const o of a.objects) {
      expect(o.object.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'devenv',
        'dev.devenv/project': 'shop',
        'dev.devenv/env': 'prerelease',
      });
    }
    expect(a.objects.map((o) => o.id.kind).sort()).toEqual(
      ['LimitRange', 'NetworkPolicy', 'ResourceQuota', 'Role', 'RoleBinding', 'ServiceAccount'].sort(),
    );
  });
});

describe('project NetworkPolicies that open the namespace wider', () => {
  const policy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'prerelease-n1' },
    spec,
  });
  it("names those admitting every namespace or any source, not the narrow ones nor devenv's own", () => {
    const notes = wideningPolicies([
      policy('allow-from-all-namespaces', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: {} }] }],
      }),
      policy('allow-any', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{}] }),
      policy('from-monitoring', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }] }],
      }),
      policy('same-namespace', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }),
      policy('deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
      ...isolationObjects({ namespace: 'prerelease-n1' }).filter((o) => o.kind === 'NetworkPolicy'),
    ] as any);
    expect(notes).toEqual([
      expect.stringMatching(
        /^NetworkPolicy allow-from-all-namespaces admits traffic from every namespace to every pod of prerelease-n1/,
      ),
      expect.stringMatching(/^NetworkPolicy allow-any admits .* to the pods it selects/),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { applyRank, sortForApply, sortForDelete } from '../../src/manifests/order.ts';

const o = (kind: string, name = kind.toLowerCase()) => ({ id: { kind }, name });

describe('apply order', () => {
  const shuffled = [
    o('Ingress'),
    o('Deployment', 'api'),
    o('Widget'),
    o('Service'),
    o('NetworkPolicy'),
    o('ConfigMap'),
    o('RoleBinding'),
    o('Deployment', 'web'),
    o('CustomResourceDefinition'),
    o('Secret'),
    o('ServiceAccount'),
    o('Namespace'),
    o('Job'),
    o('PersistentVolumeClaim'),
    o('Role'),
  ];

  it('puts dependencies first: namespaces, CRDs, accounts, config, services, workloads, routing, others', () => {
    expect(sortForApply(shuffled).map((x) => x.name)).toEqual([
      'namespace',
      'customresourcedefinition',
      'serviceaccount',
      'role',
      'rolebinding',
      'secret',
      'configmap',
      'persistentvolumeclaim',
      'service',
      'api',
      'web',
      'job',
      'ingress',
      'networkpolicy',
      'widget',
    ]);
  });

  it('keeps source order within a rank (stable)', () => {
    const sorted = sortForApply([o('Deployment', 'b'), o('Deployment', 'a'), o('StatefulSet', 'c')]);
    expect(sorted.map((x) => x.name)).toEqual(['b', 'a', 'c']);
  });

  it('deletes in reverse', () => {
    expect(sortForDelete(shuffled).map((x) => x.name)).toEqual(
      sortForApply(shuffled)
        .map((x) => x.name)
        .reverse(),
    );
    expect(sortForDelete(shuffled)[0]!.name).toBe('widget');
    expect(sortForDelete(shuffled).at(-1)!.name).toBe('namespace');
  });

  it('ranks unknown kinds (custom resources) after every built-in kind', () => {
    for (const k of ['Namespace', 'Deployment', 'Ingress', 'NetworkPolicy', 'ConfigMap']) {
      expect(applyRank(k)).toBeLessThan(applyRank('Certificate'));
    }
    expect(applyRank('Namespace')).toBeLessThan(applyRank('CustomResourceDefinition'));
  });

  it('does not mutate its input', () => {
    const input = [o('Service'), o('Namespace')];
    sortForApply(input);
    expect(input.map((x) => x.name)).toEqual(['service', 'namespace']);
  });
});

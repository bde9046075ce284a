// gc selection: only namespaces with devenv's prerelease labels for this project, inside
// the configured prefix, and past a readable expiry are selected; everything else is kept
// with the reason.
import { describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { type NamespaceInfo, selectForGc } from '../../src/prerelease/gc.ts';
import { prereleaseLabels } from '../../src/prerelease/metadata.ts';

const now = new Date('2026-03-02T12:00:00Z');
const labels = prereleaseLabels('shop');
const ns = (
  name: string,
  over: Partial<NamespaceInfo> = {},
  expires = '2026-03-02T10:00:00Z',
): NamespaceInfo => ({
  name,
  labels,
  annotations: { 'dev.devenv/expires-at': expires },
  ...over,
});

describe('gc selection', () => {
  it('selects exactly the expired, labelled, prefixed namespaces of the project', () => {
    const sel = selectForGc(
      [
        ns('prerelease-old'),
        ns('prerelease-fresh', {}, '2026-03-02T18:00:00Z'),
        ns('prerelease-unlabelled', { labels: {} }),
        ns('prerelease-handmade', { labels: { 'app.kubernetes.io/managed-by': 'helm' } }),
        ns('prerelease-other-project', { labels: prereleaseLabels('blog') }),
        ns('prerelease-dev', {
          labels: { ...labels, 'dev.devenv/env': 'dev', 'dev.devenv/prerelease': 'false' },
        }),
        ns('staging-old'),
        ns('kube-system'),
        ns('prerelease-no-expiry', { annotations: {} }),
        ns('prerelease-bad-expiry', {}, 'next week'),
        ns('prerelease-dying', { deletionTimestamp: '2026-03-02T11:59:00Z' }),
      ],
      { project: 'shop', prefix: 'prerelease', now },
    );
    expect(sel.expired).toEqual([{ name: 'prerelease-old', reason: 'expired 2h ago' }]);
    expect(Object.fromEntries(sel.kept.map((k) => [k.name, k.reason]))).toEqual({
      'kube-system': 'outside the prefix "prerelease-"',
      'prerelease-bad-expiry': 'unreadable dev.devenv/expires-at "next week": kept',
      'prerelease-dev': 'lacks the prerelease labels',
      'prerelease-dying': 'already being deleted',
      'prerelease-fresh': 'expires in 6h',
      'prerelease-handmade': 'not labelled as created by devenv',
      'prerelease-no-expiry': 'no dev.devenv/expires-at annotation: kept',
      'prerelease-other-project': 'belongs to project "blog"',
      'prerelease-unlabelled': 'not labelled as created by devenv',
      'staging-old': 'outside the prefix "prerelease-"',
    });
  });

  it('an expiry exactly now is expired; a prefix alone is not a namespace inside it', () => {
    const sel = selectForGc([ns('prerelease-a', {}, '2026-03-02T12:00:00Z'), ns('prerelease')], {
      project: 'shop',
      prefix: 'prerelease',
      now,
    });
    expect(sel.expired.map((e) => e.name)).toEqual(['prerelease-a']);
    expect(sel.kept.map((e) => e.name)).toEqual(['prerelease']);
  });

  it('refuses to run with an unsafe prefix', () => {
    for (const prefix of ['', 'default', 'kube-system']) {
      expect(() => selectForGc([ns('kube-system')], { project: 'shop', prefix, now })).toThrow(DevenvError);
    }
  });
});

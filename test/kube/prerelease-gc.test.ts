// gc and refusals on the REAL test cluster: gc deletes only expired namespaces that carry
// devenv's prerelease labels for the project AND the configured prefix; an unlabelled
// namespace with the prefix, a labelled unexpired one, another project's, and a labelled
// expired one outside the prefix all survive. `down` refuses a prefixed namespace devenv
// did not create; `up` refuses outside the quiet window and with a foreign context,
// before creating anything.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { DevenvError } from '../../src/errors.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { readObject } from '../../src/kube/objects.ts';
import { prereleaseDown, prereleaseGc } from '../../src/prerelease/lifecycle.ts';
import { prereleaseLabels } from '../../src/prerelease/metadata.ts';
import { prereleaseUp } from '../../src/prerelease/up.ts';

const kubeconfig = inject('kubeconfig');
const fixture = join(import.meta.dirname, '..', 'fixtures', 'prerelease');
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const prefix = `prgc${runId}`;
const project = `prgc-${runId}`;

const loaded = (prerelease: Record<string, unknown> = {}, services: unknown[] = []): LoadedConfig => ({
  config: configSchema.parse({
    apiVersion: 'devenv.dev/v1alpha1',
    project,
    services,
    prerelease: { context: 'devenv-test', namespacePrefix: prefix, ttl: '1h', ...prerelease },
  }),
  file: join(fixture, 'devenv.yaml'),
  root: fixture,
});

const past = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
const future = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');

describe.skipIf(!kubeconfig)('prerelease gc and refusals on the real test cluster', () => {
  let client: KubeClient;
  const events: ProgressEvent[] = [];
  const onEvent = (e: ProgressEvent) => events.push(e);
  const names = {
    expired: `${prefix}-expired`,
    expired2: `${prefix}-expired-too`,
    fresh: `${prefix}-fresh`,
    unlabelled: `${prefix}-unlabelled`,
    otherProject: `${prefix}-other`,
    outside: `x${prefix}-outside`,
  };

  const create = (name: string, labels: Record<string, string>, expires?: string) =>
    client.request('POST', '/api/v1/namespaces', {
      body: {
        metadata: { name, labels, ...(expires ? { annotations: { 'dev.devenv/expires-at': expires } } : {}) },
      },
    });
  const exists = async (name: string) =>
    (await readObject(client, { apiVersion: 'v1', kind: 'Namespace', name })) !== undefined;

  beforeAll(async () => {
    client = connect({ kubeconfig: kubeconfig as string, context: 'devenv-test' });
    await create(names.expired, prereleaseLabels(project), past);
    await create(names.expired2, prereleaseLabels(project), past);
    await create(names.fresh, prereleaseLabels(project), future);
    await create(names.unlabelled, {}, past);
    await create(names.otherProject, prereleaseLabels(`${project}-other`), past);
    await create(names.outside, prereleaseLabels(project), past);
  }, 60_000);

  afterAll(async () => {
    for (const n of Object.values(names)) {
      await client?.request('DELETE', `/api/v1/namespaces/${n}`).catch(() => undefined);
    }
  }, 60_000);

  it('gc --dry-run lists only the expired devenv namespaces of the project inside the prefix', async () => {
    const r = await prereleaseGc({
      loaded: loaded(),
      kubeconfig: kubeconfig as string,
      dryRun: true,
      onEvent,
    });
    expect(r.expired.map((e) => e.name)).toEqual([names.expired2, names.expired].sort());
    expect(r.deleted).toEqual([]);
    for (const n of Object.values(names)) expect(await exists(n), n).toBe(true);
    // The unlabelled one is not even listed (selected by label); the others are kept with reasons.
    const kept = Object.fromEntries(r.kept.map((k) => [k.name, k.reason]));
    expect(kept[names.fresh]).toMatch(/^expires in /);
    expect(kept[names.otherProject]).toBe(`belongs to project "${project}-other"`);
    expect(kept[names.outside]).toBe(`outside the prefix "${prefix}-"`);
    expect(kept[names.unlabelled]).toBeUndefined();
  });

  it('gc deletes exactly those; everything else survives', async () => {
    const r = await prereleaseGc({ loaded: loaded(), kubeconfig: kubeconfig as string, onEvent });
    expect(r.deleted.sort()).toEqual([names.expired2, names.expired].sort());
    expect(await exists(names.expired)).toBe(false);
    expect(await exists(names.expired2)).toBe(false);
    for (const n of [names.fresh, names.unlabelled, names.otherProject, names.outside]) {
      expect(await exists(n), n).toBe(true);
    }
  });

  it('down refuses a prefixed namespace without devenv labels (exit 2), leaving it', async () => {
    const err = await prereleaseDown({
      loaded: loaded(),
      kubeconfig: kubeconfig as string,
      name: 'unlabelled',
      onEvent,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).exitCode).toBe(2);
    expect((err as DevenvError).message).toContain(`refusing to delete namespace ${names.unlabelled}`);
    expect(await exists(names.unlabelled)).toBe(true);
    // Another project's prerelease namespace: refused too.
    const other = await prereleaseDown({
      loaded: loaded(),
      kubeconfig: kubeconfig as string,
      name: 'other',
      onEvent,
    }).catch((e: unknown) => e);
    expect((other as DevenvError).exitCode).toBe(2);
    expect(await exists(names.otherProject)).toBe(true);
  });

  it('up refuses outside the quiet window (exit 2) and creates nothing; --force overrides the window only', async () => {
    const now = new Date('2026-01-15T11:00:00Z'); // noon in Warsaw
    const web = [{ name: 'web', context: 'app', manifests: ['k8s/web.yaml'] }];
    const err = await prereleaseUp({
      loaded: loaded({ window: '22:00-06:00 Europe/Warsaw' }, web),
      kubeconfig: kubeconfig as string,
      name: 'window',
      imageTag: 'never-pushed',
      registry: '127.0.0.1:5001',
      now,
      onEvent,
    }).catch((e: unknown) => e);
    expect((err as DevenvError).exitCode).toBe(2);
    expect((err as DevenvError).message).toContain('outside the quiet window 22:00-06:00 Europe/Warsaw');
    expect(await exists(`${prefix}-window`)).toBe(false);
  });

  it('up refuses a context other than prerelease.context, and the k3d one, before connecting', async () => {
    for (const context of ['some-other-cluster', `k3d-${project}`]) {
      const err = await prereleaseUp({
        loaded: loaded(),
        context,
        kubeconfig: kubeconfig as string,
        name: 'ctx',
        imageTag: 'x',
        registry: 'r',
        onEvent,
      }).catch((e: unknown) => e);
      expect((err as DevenvError).exitCode, context).toBe(2);
      expect((err as DevenvError).message).toContain(`refusing kube context "${context}"`);
    }
    expect(events.some((e) => e.type === 'step' && e.id === 'cluster' && e.phase === 'start')).toBe(true); // from gc
    expect(await exists(`${prefix}-ctx`)).toBe(false);
  });

  it('gc refuses to run with a prefix that reaches system namespaces', async () => {
    for (const p of ['kube-system', 'default']) {
      const err = await prereleaseGc({
        loaded: loaded({ namespacePrefix: p }),
        kubeconfig: kubeconfig as string,
        onEvent,
      }).catch((e: unknown) => e);
      expect((err as DevenvError).exitCode).toBe(2);
    }
    expect(await exists('kube-system')).toBe(true);
  });
});

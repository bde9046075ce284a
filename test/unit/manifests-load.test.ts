// biome-ignore-all lint/suspicious/noExplicitAny: the tests walk into rendered JSON objects, whose shape the assertions check
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { loadManifests } from '../../src/manifests/load.ts';
import { parseManifestText } from '../../src/manifests/parse.ts';
import { testKubectl } from '../support/helm.ts';

let root: string;
const write = (rel: string, text: string) => {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
};

async function loadError(paths: string[], kubectl?: string): Promise<DevenvError> {
  try {
    await loadManifests(paths, kubectl ? { root, kubectl } : { root });
  } catch (e) {
    expect(e).toBeInstanceOf(DevenvError);
    return e as DevenvError;
  }
  throw new Error('expected loadManifests to fail');
}

const hasKubectl = testKubectl('manifests-load');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'devenv-manifests-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('parseManifestText', () => {
  it('reports invalid YAML at file:line:col', () => {
    const r = parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [a\n', 'k8s/cm.yaml');
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems[0]).toMatchObject({ file: 'k8s/cm.yaml', line: expect.any(Number) });
    expect(r.problems[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('reports a missing kind at the document, naming the object', () => {
    const r = parseManifestText(
      '---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# b\napiVersion: v1\nmetadata:\n  name: b\n',
      'x.yaml',
    );
    expect(r.docs).toHaveLength(1);
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 7, col: 1, message: 'object "b": missing kind' }),
    ]);
  });

  it('reports a missing or empty metadata.name where it belongs', () => {
    const r = parseManifestText(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {a: b}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: ""\n---\napiVersion: v1\nkind: Pod\n',
      'x.yaml',
    );
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '4:3 Deployment: missing metadata.name',
      '9:9 Secret: metadata.name must be a non-empty string',
      '11:1 Pod: missing metadata.name',
    ]);
  });

  it('rejects generateName, non-string kinds, non-mappings and duplicate keys', () => {
    const text = [
      'apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n',
      'apiVersion: v1\nkind: 12\nmetadata: {name: x}\n',
      '- just\n- a list\n',
      'apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: y}\n',
    ].join('---\n');
    const r = parseManifestText(text, 'x.yaml');
    const msgs = r.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
    expect(msgs[0]).toMatch(/^3:11 Job: metadata.generateName is not supported/);
    expect(msgs[1]).toBe('6:7 object "x": kind must be a non-empty string');
    expect(msgs[2]).toBe('9:1 a manifest must be a mapping with apiVersion, kind and metadata');
    expect(msgs[3]).toMatch(/^14:1 invalid YAML: Map keys must be unique/);
    expect(r.docs).toHaveLength(0);
  });

  it('skips empty documents and expands Lists', () => {
    const r = parseManifestText(
      '# only a comment\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n',
      'x.yaml',
    );
    expect(r.problems).toEqual([]);
    expect(r.docs.map((d) => [d.index, d.line, (d.doc as any).toJS().metadata.name])).toEqual([
      [0, 7, 'a'],
      [1, 10, 'b'],
    ]);
  });

  it('reads JSON', () => {
    const r = parseManifestText(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"},"data":{"a":"0644"}}',
      'x.json',
    );
    expect(r.problems).toEqual([]);
    expect((r.docs[0]!.doc as any).toJS()).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'j' },
      data: { a: '0644' },
    });
  });
});

describe('loadManifests', () => {
  it('refuses a YAML alias bomb as bad input at file:line:col, not as an internal error', async () => {
    const nine = (x: string) => `[${Array(9).fill(x).join(', ')}]`;
    write(
      'bomb/cm.yaml',
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: bomb}',
        `x-a: &a ${nine('"lol"')}`,
        `x-b: &b ${nine('*a')}`,
        `x-c: &c ${nine('*b')}`,
        `x-d: &d ${nine('*c')}`,
        `data: {k: ${nine('*d')}}`,
        '',
      ].join('\n'),
    );
    const err = await loadError(['bomb']);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual([
      expect.stringMatching(/^bomb\/cm\.yaml:7:10: invalid YAML: the aliases here expand to too many nodes/),
    ]);
  });

  it('refuses an alias without an anchor at its file:line:col', async () => {
    write('noanchor/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: *missing\n');
    const err = await loadError(['noanchor']);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual([
      'noanchor/cm.yaml:4:7: invalid YAML: alias "*missing" has no anchor "&missing" before it',
    ]);
  });

  it('reads files and folders recursively, sorted, manifests only', async () => {
    write(
      'app/k8s/b-service.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n',
    );
    write('app/k8s/a-deploy.yml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
    write('app/k8s/sub/c.json', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}}');
    write('app/k8s/README.md', '# not a manifest');
    write('app/k8s/.hidden.yaml', 'not: [valid');
    write('app/extra.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: extra}\n');
    const docs = await loadManifests(['app/k8s', 'app/extra.yaml', 'app/k8s/a-deploy.yml'], { root });
    expect(docs.map((d) => `${d.file}#${d.index}`)).toEqual([
      'app/k8s/a-deploy.yml#0',
      'app/k8s/b-service.yaml#0',
      'app/k8s/sub/c.json#0',
      'app/extra.yaml#0',
    ]);
  });

  it('reports every problem of every file as file:line:col, exit 2', async () => {
    write(
      'bad/k8s/1.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nmetadata: {name: nokind}\n',
    );
    write('bad/k8s/2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n');
    const err = await loadError(['bad/k8s', 'bad/missing']);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/problems in the manifests; nothing was applied/);
    expect(err.details[0]).toBe('bad/k8s/1.yaml:6:1: object "nokind": missing kind');
    expect(err.details[1]).toMatch(/^bad\/k8s\/2\.yaml:\d+:\d+: invalid YAML: /);
    expect(err.details).toContain('bad/missing: not found (listed in "manifests")');
  });

  it('rejects the same object in two files, naming both', async () => {
    write('dup/k8s/a.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: back}\n');
    write(
      'dup/k8s/b.yaml',
      '# again\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: back\n  name: api\n',
    );
    const err = await loadError(['dup/k8s']);
    expect(err.exitCode).toBe(2);
    expect(err.details).toEqual([
      'dup/k8s/b.yaml:2:1: Service back/api is defined twice: first in dup/k8s/a.yaml:1:1, again in dup/k8s/b.yaml',
    ]);
  });

  it('does not mistake same names of other kinds or namespaces for duplicates', async () => {
    write('nodup/a.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: back}\n');
    write(
      'nodup/b.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: front}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: back}\n',
    );
    expect(await loadManifests(['nodup'], { root })).toHaveLength(3);
  });

  it('refuses a kustomization folder nested in a listed folder, and an empty folder', async () => {
    write('nested/k8s/base/kustomization.yaml', 'resources: []\n');
    write('nested/k8s/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    mkdirSync(join(root, 'empty'), { recursive: true });
    const err = await loadError(['nested/k8s', 'empty']);
    expect(err.details).toEqual([
      'nested/k8s/base: is a kustomization folder inside nested/k8s; list it in "manifests" on its own (devenv runs kustomize only on folders listed there)',
      'empty/: no *.yaml, *.yml or *.json manifests in this folder',
    ]);
  });

  it('says clearly that a kustomization needs kubectl when it is missing', async () => {
    write('kz/k8s/kustomization.yaml', 'resources: [cm.yaml]\n');
    write('kz/k8s/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    const err = await loadError(['kz/k8s'], join(root, 'no-such-kubectl'));
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(
      'kz/k8s/ is a kustomization folder, and rendering it needs kubectl, which is not installed (or not on PATH).',
    );
  });

  it.skipIf(!hasKubectl)('renders a kustomization folder with kubectl kustomize', async () => {
    write(
      'kz2/overlay/kustomization.yaml',
      'resources: [../base]\nnamespace: back\ncommonLabels: {team: b2b}\n',
    );
    write('kz2/base/kustomization.yaml', 'resources: [cm.yaml, svc.yaml]\n');
    write('kz2/base/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {mode: "0644"}\n');
    write(
      'kz2/base/svc.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n',
    );
    const docs = await loadManifests(['kz2/overlay'], { root });
    const objs = docs.map((d) => (d.doc as any).toJS());
    expect(docs.map((d) => d.file)).toEqual(['kz2/overlay/ (kustomize)', 'kz2/overlay/ (kustomize)']);
    expect(
      objs
        .map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}/${o.metadata.labels.team}`)
        .sort(),
    ).toEqual(['ConfigMap/back/c/b2b', 'Service/back/s/b2b']);
    expect(objs.find((o) => o.kind === 'ConfigMap').data).toEqual({ mode: '0644' });
  });

  it.skipIf(!hasKubectl)('reports a broken kustomization as bad input', async () => {
    write('kz3/kustomization.yaml', 'resources: [missing.yaml]\n');
    const err = await loadError(['kz3']);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('kz3/: kubectl kustomize failed; nothing was applied.');
    expect(err.details.join('\n')).toMatch(/missing\.yaml/);
  });
});

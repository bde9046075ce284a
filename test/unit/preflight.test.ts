// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile and compose ${VAR} syntax
// Pre-flight planning (pure): which images a run needs, where each is set (file:line:col)
// and how to override it. The I/O half (present / pullable, k3d) runs in the docker tier.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { OBJECT_STORE_ENGINES } from '../../src/config/engines.ts';
import { configSchema } from '../../src/config/schema.ts';
import { generateCredentials } from '../../src/data/credentials.ts';
import { planData } from '../../src/data/plan.ts';
import {
  baseImages,
  clusterImages,
  dataImages,
  problemLine,
  uniqueImages,
  yamlWhere,
} from '../../src/engine/preflight-images.ts';

const ROOT = join(import.meta.dirname, '../..');
const compose = (name: string) => ({
  text: readFileSync(join(ROOT, 'compose', `${name}.yaml`), 'utf8'),
  file: `compose/${name}.yaml`,
  dir: join(ROOT, 'compose'),
});

function data(yaml: string[], objectStoreCompose = 'minio') {
  const configText = ['apiVersion: devenv.dev/v1alpha1', 'project: shop', ...yaml, ''].join('\n');
  const config = configSchema.parse(YAML.parse(configText));
  const db = config.database
    ? compose(config.database.engine === 'postgres' ? 'postgres' : 'mysql')
    : undefined;
  const os = config.objectStore ? compose(objectStoreCompose) : undefined;
  const plan = planData({
    config,
    root: '/p',
    credentials: generateCredentials(),
    ...(db ? { database: db } : {}),
    ...(os ? { objectStore: os } : {}),
    env: {},
  });
  const composeTexts: Record<string, string> = {};
  for (const s of [db, os]) if (s) composeTexts[s.file] = s.text;
  return dataImages({ config, configFile: 'devenv.yaml', configText, plan, composeTexts });
}

describe('pre-flight planning', () => {
  it('yamlWhere points at the value of a key path (1-based line:col)', () => {
    const text = 'a:\n  b:\n    - x: 1\n    - x: two\n';
    expect(yamlWhere(text, 'f.yaml', ['a', 'b', 1, 'x'])).toBe('f.yaml:4:10');
    // a missing key: its nearest ancestor
    expect(yamlWhere(text, 'f.yaml', ['a', 'nope'])).toBe('f.yaml:2:3');
  });

  it('data images: the pinned default names the engine key; an override names objectStore.image at its line:col', () => {
    const [db, os] = data(['database:', '  engine: postgres', 'objectStore:', '  engine: minio']);
    expect(db).toMatchObject({ ref: 'postgres:16', what: 'database (postgres)' });
    expect(db!.where).toContain("devenv's default for database.engine postgres (devenv.yaml:4:11)");
    expect(db!.where).toMatch(/used by compose\/postgres\.yaml:\d+:\d+/);
    expect(os!.ref).toBe(OBJECT_STORE_ENGINES.minio.image);
    expect(os!.where).toContain('objectStore.engine minio (devenv.yaml:6:11)');
    expect(os!.override).toBe(
      'set objectStore.image in devenv.yaml to an image you can pull (a mirror, another tag)',
    );

    const [over] = data(['objectStore:', '  engine: seaweedfs', '  image: nowhere/nothing:1'], 'seaweedfs');
    expect(over).toMatchObject({
      ref: 'nowhere/nothing:1',
      what: 'object store (SeaweedFS)',
      where: 'devenv.yaml:5:10 (objectStore.image)',
      override: 'change objectStore.image in devenv.yaml',
    });
    expect(problemLine(over!, 'not found')).toBe(
      'image "nowhere/nothing:1" (object store (SeaweedFS)) is not on this machine and cannot be pulled (not found); set at devenv.yaml:5:10 (objectStore.image); to use another: change objectStore.image in devenv.yaml.',
    );
  });

  it('base images: ARG defaults, buildArgs from devenv.yaml, stages and scratch skipped, target stops', () => {
    const configText = [
      'services:',
      '  - name: api',
      '    buildArgs:',
      '      BASE_IMAGE: devenv-test/python:3.11',
      '',
    ].join('\n');
    const text = [
      'ARG BASE_IMAGE=python:3.12-slim',
      'ARG TOOLS=golang:1.26',
      'FROM ${TOOLS} AS tools',
      'FROM --platform=linux/amd64 ${BASE_IMAGE} AS app',
      'COPY --from=tools /x /x',
      'FROM app AS test',
      'FROM scratch',
      'FROM debian:bookworm-slim AS late',
    ].join('\n');
    const input = {
      service: 'api',
      index: 0,
      file: 'api/Dockerfile',
      text,
      buildArgs: { BASE_IMAGE: 'devenv-test/python:3.11' },
    };
    const all = baseImages(input, 'devenv.yaml', configText);
    expect(all.map((n) => n.ref)).toEqual(['golang:1.26', 'devenv-test/python:3.11', 'debian:bookworm-slim']);
    expect(all[0]).toMatchObject({
      where: 'api/Dockerfile:2:5 (ARG TOOLS), used at api/Dockerfile:3:6',
      override: 'set services[0].buildArgs.TOOLS in devenv.yaml',
    });
    expect(all[1]).toMatchObject({
      where: 'devenv.yaml:4:19 (services[0].buildArgs.BASE_IMAGE)',
      override: 'change services[0].buildArgs.BASE_IMAGE in devenv.yaml',
    });
    expect(all[2]).toMatchObject({ where: 'api/Dockerfile:8:6' });
    expect(baseImages({ ...input, target: 'app' }, 'devenv.yaml', configText).map((n) => n.ref)).toEqual([
      'golang:1.26',
      'devenv-test/python:3.11',
    ]);
  });

  it("cluster images: the node image at its line in the k3d config; k3d's helpers by version or K3D_IMAGE_*", () => {
    const k3dText = readFileSync(join(ROOT, 'k3d/cluster.yaml'), 'utf8');
    const line = k3dText.split('\n').findIndex((l) => l.startsWith('image:')) + 1;
    const needs = clusterImages({ k3dFile: 'k3d/cluster.yaml', k3dText, k3dVersion: 'v5.8.3', env: {} });
    expect(needs.map((n) => n.ref)).toEqual([
      'docker.io/rancher/k3s:v1.35.5-k3s1',
      'ghcr.io/k3d-io/k3d-proxy:5.8.3',
      'ghcr.io/k3d-io/k3d-tools:5.8.3',
      'docker.io/library/registry:2',
    ]);
    expect(needs[0]!.where).toBe(`k3d/cluster.yaml:${line}:8`);
    const env = clusterImages({
      k3dFile: 'k.yaml',
      k3dText: 'image: a/node:1\nregistries:\n  create:\n    image: a/reg:1\n',
      k3dVersion: 'v5.8.3',
      env: { K3D_IMAGE_LOADBALANCER: 'a/lb:1', K3D_IMAGE_TOOLS: 'a/tools:1' },
    });
    expect(env.map((n) => [n.ref, n.where])).toEqual([
      ['a/node:1', 'k.yaml:1:8'],
      ['a/lb:1', 'environment variable K3D_IMAGE_LOADBALANCER'],
      ['a/tools:1', 'environment variable K3D_IMAGE_TOOLS'],
      ['a/reg:1', 'k.yaml:4:12'],
    ]);
    expect(uniqueImages([...env, ...env])).toHaveLength(4);
  });
});

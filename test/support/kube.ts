/**
 * Pieces the kube-tier tests share: a test image built and pushed to the test registry,
 * a Deployment manifest of one container, and manifests rendered as devenv renders them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { reconcile } from '../../src/kube/apply.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { readObject } from '../../src/kube/objects.ts';
import { loadManifests } from '../../src/manifests/load.ts';
import { parseManifestText } from '../../src/manifests/parse.ts';
import { renderManifests } from '../../src/manifests/render.ts';
import type { RenderedObject } from '../../src/manifests/types.ts';
import { writeTree } from './tree.ts';

const run = promisify(execFile);

/** The test cluster's registry, and the local test images (test/images/build.sh). */
export const TEST_REGISTRY = process.env.DEVENV_TEST_REGISTRY ?? '127.0.0.1:5001';
export const PYTHON_IMAGE = process.env.DEVENV_TEST_PYTHON_IMAGE ?? 'devenv-test/python:3.11';
export const BASE_IMAGE = process.env.DEVENV_TEST_BASE_IMAGE ?? 'devenv-test/base:bookworm';

/** A suffix for this run's names (projects, namespaces, tags), so runs never collide. */
export const newRunId = () => `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;

/** An image built from files in a temp dir and pushed; `remove` deletes the local image and the dir. */
export interface PushedImage {
  dir: string;
  remove: () => Promise<void>;
}

/** Builds `image` from `files` (path → content, a Dockerfile among them) and pushes it. */
export async function pushTestImage(
  image: string,
  files: Record<string, string>,
  prefix: string,
): Promise<PushedImage> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const remove = async () => {
    await run('docker', ['rmi', image]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  await writeTree(dir, files);
  await run('docker', ['build', '-q', '-t', image, dir]);
  await run('docker', ['push', image]);
  return { dir, remove };
}

/**
 * A Deployment `name` (pods labelled app=<name>, one container `app` of `image`, 1 s to
 * terminate): `cmd` runs under sh -c; `podLines`/`containerLines` are more YAML lines of the
 * pod spec and of the container, indented as they go.
 */
export const deploymentYaml = (
  name: string,
  o: { image: string; replicas?: number; cmd?: string; podLines?: string; containerLines?: string },
) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${o.replicas ?? 1}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
${o.podLines ?? ''}      containers:
      - name: app
        image: ${o.image}
${o.cmd !== undefined ? `        command: [sh, -c, '${o.cmd}']\n` : ''}${o.containerLines ?? ''}`;

/** Parses `text` as the manifest file `file` (no problems expected) and renders it for the dev env. */
export function renderText(
  text: string,
  file: string,
  o: { project: string; namespace: string; images: Record<string, string>; dataSecret?: string },
): RenderedObject[] {
  const parsed = parseManifestText(text, file);
  expect(parsed.problems).toEqual([]);
  return renderManifests({
    docs: parsed.docs,
    project: o.project,
    env: 'dev',
    defaultNamespace: o.namespace,
    images: o.images,
    ...(o.dataSecret ? { dataSecret: o.dataSecret } : {}),
  }).objects;
}

/** The base test image pushed to the test registry as `image` (the workloads of the watch tests run it). */
export function pushBaseImageAs(image: string): void {
  execFileSync('docker', ['tag', BASE_IMAGE, image]);
  execFileSync('docker', ['push', '-q', image], { stdio: 'ignore' });
}

/**
 * A project of manifest-only services in `dir`: a Dockerfile FROM the base image, a
 * devenv.yaml listing `services` (in that order, each with its manifests in k8s/<name>/,
 * created empty) and allowing `context`.
 */
export async function writeManifestProject(
  dir: string,
  project: string,
  context: string,
  services: string[],
): Promise<void> {
  for (const s of services) await mkdir(join(dir, 'k8s', s), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), `FROM ${BASE_IMAGE}\n`);
  await writeFile(
    join(dir, 'devenv.yaml'),
    [
      'apiVersion: devenv.dev/v1alpha1',
      `project: ${project}`,
      'services:',
      ...services.flatMap((s) => [`  - name: ${s}`, `    manifests: [k8s/${s}]`]),
      'cluster:',
      `  allowContexts: [${context}]`,
      '',
    ].join('\n'),
  );
}

/** Loads the manifest folders `paths` under `root`, renders them for the dev env and reconciles them on the cluster. */
export async function applyManifestDirs(
  client: KubeClient,
  root: string,
  paths: string[],
  o: { project: string; namespace: string; images: Record<string, string> },
) {
  const docs = await loadManifests(paths, { root });
  const { objects } = renderManifests({
    docs,
    project: o.project,
    env: 'dev',
    defaultNamespace: o.namespace,
    images: o.images,
  });
  const reconciled = await reconcile({ client, objects, project: o.project, env: 'dev' });
  return { objects, reconciled };
}

/** The watch tests' workload image: the base image in the test registry, under the name their manifests use. */
export const WATCH_IMAGE = `${TEST_REGISTRY}/devenv-watch-test/base:bookworm`;
export const WATCH_IMAGES: Record<string, string> = { 'devenv-watch-test/base': WATCH_IMAGE };

/** A Deployment of the watch tests' image running `cmd` under sh -c. */
export const watchDeployment = (name: string, cmd: string, replicas = 1) =>
  deploymentYaml(name, { image: 'devenv-watch-test/base', replicas, cmd });

/** The live object `kind` `name` in `namespace` (of `apiVersion`), or undefined when there is none. */
export const readLive = (
  client: KubeClient,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
) => readObject(client, { apiVersion, kind, namespace, name });

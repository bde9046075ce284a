/**
 * Pieces the kube-tier tests share: a test image built and pushed to the test registry,
 * a Deployment manifest of one container, and manifests rendered as devenv renders them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
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

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile ${VAR} syntax
// Pre-flight against the real engine: images present locally pass with no network at all;
// an image that exists nowhere, or a missing k3d, is ONE error naming it, where it is set
// (file:line:col) and how to override it, and `devenv up` creates nothing (no network, no
// container, no volume). A real distribution registry (the program behind registry:2, built
// by test/cluster/build.sh) answers the manifest request for "pullable" without a pull.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { listContainers } from '../../src/docker/containers.ts';
import { docker } from '../../src/docker/engine.ts';
import { pushImage, removeImage, tagImage } from '../../src/docker/images.ts';
import { networkExists } from '../../src/docker/networks.ts';
import { imageAvailability } from '../../src/docker/pull.ts';
import { listVolumes } from '../../src/docker/volumes.ts';
import { checkPreflight } from '../../src/engine/preflight.ts';
import { projectLabels } from '../../src/labels.ts';
import { toolMissing } from '../setup/tier.ts';
import { cleanEnv, runCli } from '../support/cli.ts';
import { freePort } from '../support/fixture.ts';
import { until } from '../support/poll.ts';

const ok = inject('dockerAvailable');
const PROJECT = `t-pre-${Math.random().toString(36).slice(2, 8)}`;
const PG_IMAGE = process.env.DEVENV_TEST_PG_IMAGE ?? 'devenv-test/postgres:15';
const MINIO_IMAGE = process.env.DEVENV_TEST_MINIO_IMAGE ?? 'devenv-test/minio:latest';
const BASE_IMAGE = process.env.DEVENV_TEST_BASE_IMAGE ?? 'devenv-test/base:bookworm';
const PY_IMAGE = process.env.DEVENV_TEST_PYTHON_IMAGE ?? 'devenv-test/python:3.11';
const NOWHERE = `devenv-test/no-such-image-${Math.random().toString(36).slice(2, 8)}:1`;

const cache = process.env.DEVENV_TEST_CACHE ?? '/var/cache/devenv-test';
const cached = (prefix: string, bin: string) =>
  existsSync(cache)
    ? readdirSync(cache)
        .filter((d) => d.startsWith(prefix))
        .map((d) => join(cache, d, 'bin', bin))
        .find((p) => existsSync(p))
    : undefined;
const K3D = cached('k3d-', 'k3d');
const REGISTRY = cached('registry-', 'registry');
if (!K3D) toolMissing('preflight', 'k3d binary missing: run test/cluster/build.sh');
if (!REGISTRY) toolMissing('preflight', 'registry binary missing: run test/cluster/build.sh');

let dir: string;

async function project(name: string, lines: string[], files: Record<string, string> = {}): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(
    join(d, 'devenv.yaml'),
    ['apiVersion: devenv.dev/v1alpha1', `project: ${PROJECT}`, ...lines, ''].join('\n'),
  );
  for (const [f, text] of Object.entries(files)) {
    await mkdir(join(d, f, '..'), { recursive: true });
    await writeFile(join(d, f), text);
  }
  return d;
}

const cli = (cwd: string, args: string[], env: Record<string, string | undefined>) =>
  runCli(args, { cwd, env: cleanEnv({ ...process.env, NO_COLOR: '1', ...env }), timeoutMs: 90_000 });

const SERVICE = {
  'api/Dockerfile':
    'ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\nCMD ["python3", "-c", "print(1)"]\n',
  'k8s/api.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\ndata: {}\n',
};

describe.skipIf(!ok)('pre-flight: images and tools, before anything is created', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devenv-pre-'));
    process.env.DEVENV_STATE_DIR = join(dir, '.state');
  });
  afterAll(async () => {
    delete process.env.DEVENV_STATE_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an image present locally is "present" with no registry request; one that exists nowhere is "missing" with the reason', async () => {
    expect(await imageAvailability(BASE_IMAGE)).toEqual({ state: 'present' });
    const missing = await imageAvailability(NOWHERE);
    expect(missing.state).toBe('missing');
    expect(missing.state === 'missing' && missing.reason.length).toBeGreaterThan(0);
  });

  it.skipIf(!K3D)(
    'offline with everything present: every image the run needs is found locally (cluster, data, base images), k3d version read',
    async () => {
      // k3d's helper images and node image named through configuration, as the e2e tier does.
      const d = await project(
        'present',
        [
          'cluster:',
          '  config: k3d.yaml',
          'services:',
          '  - name: api',
          '    context: api',
          '    manifests: [k8s/api.yaml]',
          '    buildArgs:',
          `      BASE_IMAGE: ${PY_IMAGE}`,
          'database:',
          '  engine: postgres',
          `  image: ${PG_IMAGE}`,
          'objectStore:',
          `  image: ${MINIO_IMAGE}`,
        ],
        {
          ...SERVICE,
          'k3d.yaml': `apiVersion: k3d.io/v1alpha5\nkind: Simple\nimage: ${BASE_IMAGE}\nregistries:\n  create:\n    name: r\n    image: ${BASE_IMAGE}\n`,
        },
      );
      const saved = {
        lb: process.env.K3D_IMAGE_LOADBALANCER,
        tools: process.env.K3D_IMAGE_TOOLS,
        k3d: process.env.DEVENV_K3D,
      };
      Object.assign(process.env, {
        K3D_IMAGE_LOADBALANCER: BASE_IMAGE,
        K3D_IMAGE_TOOLS: PY_IMAGE,
        DEVENV_K3D: K3D,
      });
      try {
        const loaded = loadConfig(join(d, 'devenv.yaml'));
        const r = await checkPreflight({ loaded, k3dConfigFile: join(d, 'k3d.yaml') });
        expect(r.toolProblems).toEqual([]);
        expect(r.imageProblems).toEqual([]);
        expect(r.k3d).toMatch(/^\d+\.\d+\.\d+/);
        expect(r.images.map((i) => [i.ref, i.state]).sort()).toEqual(
          [
            [BASE_IMAGE, 'present'],
            [PY_IMAGE, 'present'],
            [PG_IMAGE, 'present'],
            [MINIO_IMAGE, 'present'],
          ].sort(),
        );
      } finally {
        for (const [k, v] of [
          ['K3D_IMAGE_LOADBALANCER', saved.lb],
          ['K3D_IMAGE_TOOLS', saved.tools],
          ['DEVENV_K3D', saved.k3d],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    },
  );

  it('`devenv up` with an image that exists nowhere and no k3d: exit 2, one error naming both, devenv.yaml:line:col, the override; nothing created', async () => {
    const d = await project('nowhere', [
      'database:',
      '  engine: postgres',
      `  image: ${PG_IMAGE}`,
      'objectStore:',
      '  engine: minio',
      `  image: ${NOWHERE}`,
      `  port: ${await freePort()}`,
      `  consolePort: ${await freePort()}`,
    ]);
    // PATH without k3d (node is run by its absolute path; the data services need no tool);
    // devenv's pinned k3d is fetched from a mirror nothing answers on (never the internet).
    const r = await cli(d, ['up', '--no-tui', '--no-watch'], {
      PATH: '/usr/bin:/bin',
      DEVENV_K3D: undefined,
      DEVENV_TOOLS_MIRROR: 'http://127.0.0.1:9',
      DEVENV_CACHE_DIR: join(dir, '.cache'),
    });
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(2);
    expect(out).toContain('pre-flight: 2 problems; nothing was created.');
    expect(out).toContain('k3d not found on PATH');
    expect(out).toContain(
      `image "${NOWHERE}" (object store (MinIO)) is not on this machine and cannot be pulled (`,
    );
    expect(out).toContain(
      'set at devenv.yaml:8:10 (objectStore.image); to use another: change objectStore.image in devenv.yaml.',
    );
    expect(out).not.toContain(PG_IMAGE); // present: not a problem
    // Nothing of the project exists: no cluster network, no container, no volume.
    expect(await networkExists(`k3d-${PROJECT}`)).toBe(false);
    expect(await listContainers(projectLabels(PROJECT))).toEqual([]);
    expect(await listVolumes(projectLabels(PROJECT))).toEqual([]);
  });

  describe.skipIf(!REGISTRY)('through a real registry (distribution, on 127.0.0.1)', () => {
    let reg: ChildProcess | undefined;
    let port = 0;
    let ref = '';
    beforeAll(async () => {
      port = await freePort();
      const conf = join(dir, 'registry.yml');
      await writeFile(
        conf,
        `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
      );
      reg = spawn(REGISTRY!, ['serve', conf], { stdio: 'ignore' });
      await until('the registry to answer', async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, {
        timeoutMs: 20_000,
        intervalMs: 200,
        accept: (ok) => ok,
        retryOnError: true,
      });
      ref = `127.0.0.1:${port}/preflight/base:1`;
      await tagImage(BASE_IMAGE, ref);
      await pushImage(ref);
      await removeImage(ref); // only the tag goes: the manifest stays in the registry
    });
    afterAll(async () => {
      reg?.kill();
      if (ref) await removeImage(ref).catch(() => false);
    });

    it('an image only in the registry is "pullable" (manifest request, no pull); an unknown tag there is "missing"', async () => {
      expect(await imageAvailability(ref)).toEqual({ state: 'pullable' });
      // No pull happened: the tag is still absent from the engine.
      await expect((await docker()).getImage(ref).inspect()).rejects.toMatchObject({ statusCode: 404 });
      const gone = await imageAvailability(`127.0.0.1:${port}/preflight/base:nope`);
      expect(gone.state).toBe('missing');
    });
  });
});

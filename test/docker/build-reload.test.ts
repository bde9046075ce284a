// Image builds and hot reload against the real Docker engine and a real registry
// (distribution's `registry`, the program behind k3d's registry, on a free 127.0.0.1
// port). Builds are counted from the `build:<svc>` step events: `done` = a build ran,
// `skip` = the content tag already existed.
//
// Needs: the docker tier (a running engine), devenv-test/base:bookworm (test/images/build.sh
// base), and the registry binary under $DEVENV_TEST_CACHE/registry-*/[bin/]registry
// (test/cluster/build.sh builds it; or DEVENV_TEST_REGISTRY_BIN). Without the binary this
// file is skipped with the reason printed; under CI=true that is a failure.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COLLECT_QUIET_MS, ensureImage } from '../../src/build/builder.ts';
import { contextTar, HashCache, scanContext } from '../../src/build/context.ts';
import { registryHasManifest } from '../../src/build/registry.ts';
import { planSync, syncToPods } from '../../src/build/sync.ts';
import { createContainer, removeContainer, startContainer } from '../../src/docker/containers.ts';
import { engineInfo } from '../../src/docker/engine.ts';
import { execRun } from '../../src/docker/exec.ts';
import {
  buildImage,
  defaultBuilder,
  imageExists,
  inspectImage,
  removeImage,
} from '../../src/docker/images.ts';
import type { ProgressEvent, StepEvent } from '../../src/events.ts';
import { projectLabels } from '../../src/labels.ts';
import { classifyChangeSet } from '../../src/watch/changeset.ts';
import { startWatchLoop, type WatchLoop } from '../../src/watch/loop.ts';
import { toolMissing } from '../setup/tier.ts';
import { findRegistryBinary, startRegistry, TEST_CACHE } from '../support/registry.ts';
import { eventLog, serviceConfig, writeIn } from '../support/tree.ts';

const BASE_IMAGE = process.env.DEVENV_TEST_BASE_IMAGE ?? 'devenv-test/base:bookworm';

const dockerAvailable = inject('dockerAvailable');
const registryBin = findRegistryBinary();
if (dockerAvailable && !registryBin) {
  toolMissing(
    'docker tier: build-reload',
    `no registry binary under ${TEST_CACHE}/registry-*/ (run test/cluster/build.sh, or GOBIN=${TEST_CACHE}/registry-v3.0.0 go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0)`,
  );
}

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const project = `bt${Date.now().toString(36)}`;
let root: string;
let stopRegistry: (() => Promise<void>) | undefined;
let registry = '';
const refs = new Set<string>();
const cache = new HashCache();

const service = serviceConfig;
const write = (rel: string, content: string) => writeIn(root, rel, content);

function collector() {
  const log = eventLog();
  const steps = (id: string, phase: StepEvent['phase']) =>
    log.events.filter((e): e is StepEvent => e.type === 'step' && e.id === id && e.phase === phase);
  return {
    ...log,
    builds: (svc = 'api') => steps(`build:${svc}`, 'done').length,
    buildSkips: (svc = 'api') => steps(`build:${svc}`, 'skip').length,
    pushes: (svc = 'api') => steps(`load:${svc}`, 'done').length,
    steps,
  };
}

/** Runs `cmd` in a throwaway container of `image` and returns its stdout. */
async function execRunOnce(image: string, cmd: string[]): Promise<string> {
  const name = `${project}-once-${Math.random().toString(36).slice(2, 8)}`;
  await createContainer({
    name,
    image,
    env: [],
    cmd: ['sleep', 'infinity'],
    ports: [],
    mounts: [],
    labels: projectLabels(project, { 'dev.devenv/component': 'test' }),
  });
  try {
    await startContainer(name);
    return (await execRun(name, cmd)).stdout;
  } finally {
    await removeContainer(name);
  }
}

describe.skipIf(!dockerAvailable || !registryBin)(
  'image builds and hot reload (real engine + registry)',
  () => {
    beforeAll(async () => {
      if (!(await imageExists(BASE_IMAGE))) {
        throw new Error(`${BASE_IMAGE} is missing: run "bash test/images/build.sh base"`);
      }
      root = await mkdtemp(join(tmpdir(), 'devenv-build-'));
      ({ registry, stop: stopRegistry } = await startRegistry(registryBin as string, root));

      await write('api/Dockerfile', `FROM ${BASE_IMAGE}\nCOPY app/ /app/\nCMD ["sleep", "infinity"]\n`);
      await write('api/.dockerignore', '*.log\ntmp/\n');
      await write('api/app/main.txt', 'v0\n');
      await write('api/app/util.txt', 'util\n');
    });

    afterAll(async () => {
      for (const ref of refs) await removeImage(ref, { force: true }).catch(() => {});
      await stopRegistry?.();
      if (root) await rm(root, { recursive: true, force: true });
    });

    const ensure = async (sink: (e: ProgressEvent) => void, svc = service()) => {
      const r = await ensureImage(svc, { project, root, registry, onEvent: sink, cache });
      await r.collected; // the old-image collection, left running by ensureImage
      refs.add(r.ref);
      return r;
    };

    it('builds, pushes and verifies; a second run does nothing', async () => {
      const c = collector();
      const first = await ensure(c.sink);
      expect(first.ref).toBe(`${registry}/${project}/api:${first.tag}`);
      expect(first).toMatchObject({ built: true, pushed: true });
      expect(await registryHasManifest(registry, `${project}/api`, first.tag)).toBe(true);
      const img = await inspectImage(first.ref);
      expect(img?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'devenv',
        'dev.devenv/project': project,
        'dev.devenv/service': 'api',
      });
      expect(c.builds()).toBe(1);
      expect(c.pushes()).toBe(1);
      expect(c.steps('build:api', 'progress').length).toBeGreaterThan(0); // build output lines
      const done = c.steps('build:api', 'done')[0];
      expect(done?.ms).toBeGreaterThan(0);

      const c2 = collector();
      const second = await ensure(c2.sink);
      expect(second).toMatchObject({ ref: first.ref, built: false, pushed: false });
      expect(c2.builds()).toBe(0);
      expect(c2.buildSkips()).toBe(1);
      expect(c2.steps('load:api', 'skip')).toHaveLength(1);
    });

    it('rebuilds when the image is gone locally, and skips the push the registry already has', async () => {
      const c = collector();
      const r = await ensure(c.sink);
      await removeImage(r.ref, { force: true });
      const again = await ensure(c.sink);
      expect(again).toMatchObject({ ref: r.ref, built: true, pushed: false });
    });

    it('labels the target stage of a multi-stage build, and falls back to API labels', async () => {
      await write(
        'multi/Dockerfile',
        `FROM ${BASE_IMAGE} AS dev\nRUN echo dev > /stage\nFROM ${BASE_IMAGE} AS prod\nRUN echo prod > /stage\n`,
      );
      const c = collector();
      const r = await ensure(c.sink, service({ name: 'multi', context: 'multi', target: 'dev' }));
      expect((await inspectImage(r.ref))?.labels).toMatchObject({ 'dev.devenv/service': 'multi' });
      const out = await execRunOnce(r.ref, ['cat', '/stage']);
      expect(out).toBe('dev\n');
      // a FROM continued on the next line cannot take the inline LABEL: the API adds them
      await write('continued/Dockerfile', `FROM \\\n  ${BASE_IMAGE}\nRUN true\n`);
      const r2 = await ensure(c.sink, service({ name: 'continued', context: 'continued' }));
      expect((await inspectImage(r2.ref))?.labels).toMatchObject({ 'dev.devenv/service': 'continued' });
      // The classic builder shows the API's labels as a LABEL step; BuildKit writes them
      // into the image config without one.
      if ((await defaultBuilder()) === 'classic')
        expect(c.steps('build:continued', 'progress').some((e) => e.detail?.includes('LABEL'))).toBe(true);
    });

    it('builds with BuildKit where the engine has it, and with the classic builder on request', async () => {
      const info = await engineInfo();
      const [major = 0, minor = 0] = info.apiVersion.split('.').map(Number);
      if (major === 1 && minor >= 39 && !process.env.DEVENV_BUILDER)
        expect(await defaultBuilder()).toBe('buildkit');
      await write(
        'both/Dockerfile',
        `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\nENV MODE=test\nCMD ["sleep", "infinity"]\n`,
      );
      await write('both/a.txt', 'a\n');
      const ctx = await scanContext(service({ name: 'both', context: 'both' }), root, { cache });
      for (const builder of ['buildkit', 'classic'] as const) {
        const ref = `${registry}/${project}/both:${builder}`;
        refs.add(ref);
        const lines: string[] = [];
        const r = await buildImage({
          contextTar: () => contextTar(ctx),
          dockerfile: 'Dockerfile',
          tags: [ref],
          labels: { 'dev.devenv/builder-test': builder },
          builder,
          onLine: (l) => lines.push(l),
        });
        expect(r.builder).toBe(builder);
        expect(r.imageId).toMatch(/^sha256:/);
        expect(lines.some((l) => l.includes('COPY a.txt /a.txt'))).toBe(true);
        expect((await inspectImage(ref))?.labels).toMatchObject({ 'dev.devenv/builder-test': builder });
        expect(await execRunOnce(ref, ['sh', '-c', 'cat /a.txt; echo $MODE'])).toBe('a\ntest\n');
      }
      // A failed build carries the compiler's stderr in its details with either builder; with
      // BuildKit it comes through the protobuf progress as the step's output (`#N <line>`),
      // followed by the step's ERROR line.
      await write('both/Dockerfile', `FROM ${BASE_IMAGE}\nRUN echo "lib.rs:7: error[E0308]" >&2; exit 2\n`);
      const broken = await scanContext(service({ name: 'both', context: 'both' }), root, { cache });
      const failed = async (builder: 'buildkit' | 'classic') => {
        const err = await buildImage({
          contextTar: contextTar(broken), // a stream, not a factory: no classic retry behind BuildKit
          dockerfile: 'Dockerfile',
          tags: [`${registry}/${project}/both:broken-${builder}`],
          builder,
        }).then(
          () => undefined,
          (e: unknown) => e as { message: string; details?: string[] },
        );
        expect(err?.message).toMatch(/^docker build failed: .*2$/);
        return err?.details ?? [];
      };
      expect(await failed('classic')).toContainEqual(expect.stringContaining('lib.rs:7: error[E0308]'));
      const details = await failed('buildkit');
      const at = details.findIndex((l) => /^#\d+ lib\.rs:7: error\[E0308\]$/.test(l));
      expect(at, details.join('\n')).toBeGreaterThanOrEqual(0);
      const step = details[at]?.split(' ')[0];
      expect(details.slice(at + 1)).toContainEqual(
        expect.stringMatching(new RegExp(`^${step} ERROR: .*exit code: 2`)),
      );
    });

    it('DEVENV_BUILDER=classic forces the classic builder; unset, the engine decides (one process each)', async () => {
      // defaultBuilder() asks once per process, so each choice is made in a child process
      // that builds through src/docker/images.ts against the same engine.
      await write('choice/Dockerfile', `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\n`);
      await write('choice/a.txt', 'choice\n');
      const ctx = await scanContext(service({ name: 'choice', context: 'choice' }), root, { cache });
      const tarPath = join(root, 'choice.tar');
      await pipeline(contextTar(ctx), createWriteStream(tarPath));
      const script = join(root, 'choose-builder.mjs');
      await writeFile(
        script,
        `import { createReadStream } from 'node:fs';
const [imagesUrl, tar, ref] = process.argv.slice(2);
const { buildImage, defaultBuilder } = await import(imagesUrl);
const lines = [];
try {
  const r = await buildImage({ contextTar: () => createReadStream(tar), dockerfile: 'Dockerfile', tags: [ref], onLine: (l) => lines.push(l) });
  process.stdout.write(JSON.stringify({ chosen: await defaultBuilder(), builder: r.builder, lines }));
  process.exit(0);
} catch (err) {
  process.stderr.write(String(err?.stack ?? err) + '\\n' + lines.join('\\n'));
  process.exit(1);
}
`,
      );
      const imagesUrl = new URL('../../src/docker/images.ts', import.meta.url).href;
      const run = async (forced: string | undefined) => {
        const ref = `${registry}/${project}/choice:${forced ?? 'default'}`;
        refs.add(ref);
        const { DEVENV_BUILDER: _, ...env } = process.env;
        const { stdout } = await execFileP(process.execPath, [script, imagesUrl, tarPath, ref], {
          env: forced ? { ...env, DEVENV_BUILDER: forced } : env,
          timeout: 120_000,
        });
        expect(await execRunOnce(ref, ['cat', '/a.txt'])).toBe('choice\n');
        return JSON.parse(stdout) as { chosen: string; builder: string; lines: string[] };
      };
      const classic = await run('classic');
      expect(classic).toMatchObject({ chosen: 'classic', builder: 'classic' });
      expect(classic.lines).toContainEqual(expect.stringMatching(/^Step 1\/2 : FROM /));
      expect(classic.lines.some((l) => /^#\d+ /.test(l))).toBe(false);

      const info = await engineInfo();
      const [major = 0, minor = 0] = info.apiVersion.split('.').map(Number);
      const expected = major === 1 && minor >= 39 ? 'buildkit' : 'classic';
      const chosen = await run(undefined);
      expect(chosen).toMatchObject({ chosen: expected, builder: expected });
      if (expected === 'buildkit') {
        expect(chosen.lines).toContainEqual(expect.stringMatching(/^#\d+ \[2\/2\] COPY a\.txt \/a\.txt$/));
        expect(chosen.lines.some((l) => l.startsWith('Step 1/2'))).toBe(false);
      }
    });

    it('uses service.image as the repository', async () => {
      const c = collector();
      const r = await ensure(c.sink, service({ image: `${project}/custom-name` }));
      expect(r.ref).toBe(`${registry}/${project}/custom-name:${r.tag}`);
      expect(await registryHasManifest(registry, `${project}/custom-name`, r.tag)).toBe(true);
    });

    it('keeps the 3 newest images of a service; `destroy` removes the rest of what it built, and only that', async () => {
      const gc = service({ name: 'gcsvc', context: 'gcsvc' });
      await write('gcsvc/Dockerfile', `FROM ${BASE_IMAGE}\nCOPY v.txt /v.txt\n`);
      const built: string[] = [];
      const version = async (v: number) => {
        await write('gcsvc/v.txt', `${v}\n`);
        const r = await ensure(collector().sink, gc);
        expect(r.built).toBe(true);
        return r.ref;
      };
      const userTag = `${project}-mine/keep:v1`;
      const repoOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'));
      const manual = `${repoOf(`${registry}/${project}/gcsvc:x`)}:manual`; // same repo, no devenv labels
      const holder = `${project}-holder`;
      try {
        built.push(await version(1));
        await execFileP('docker', ['tag', built[0]!, userTag]); // the user's tag on a devenv image
        await execFileP('docker', ['tag', BASE_IMAGE, manual]);
        built.push(await version(2));
        await execFileP('docker', ['create', '--name', holder, built[1]!]); // a container uses v2
        for (const v of [3, 4, 5]) built.push(await version(v));
        const [r1, r2, r3, r4, r5] = built as [string, string, string, string, string];
        // v1's devenv tag went (its image stays, under the user's tag); v2 stays (in use).
        expect(await imageExists(r1)).toBe(false);
        expect(await imageExists(userTag)).toBe(true);
        expect(await imageExists(r2)).toBe(true);
        for (const r of [r3, r4, r5]) expect(await imageExists(r)).toBe(true);
        expect(await imageExists(manual)).toBe(true);

        // Reverting to v1's content rebuilds its tag (from the build cache: possibly with
        // v1's old creation time); the image just built is never collected.
        await write('gcsvc/v.txt', '1\n');
        const again = await ensure(collector().sink, gc);
        expect(again.ref).toBe(r1);
        expect(await imageExists(r1)).toBe(true);

        // `devenv destroy`: every image it built for the project goes, but not the user's
        // tag, the unlabelled image in its repository, or the image a container uses.
        await write(
          'devenv.yaml',
          `apiVersion: devenv.dev/v1alpha1\nproject: ${project}\nservices:\n  - name: gcsvc\n    context: gcsvc\n    manifests: [gcsvc]\n`,
        );
        const out = await execFileP(
          process.execPath,
          [
            join(import.meta.dirname, '..', '..', 'devenv'),
            '-c',
            join(root, 'devenv.yaml'),
            'destroy',
            '--yes',
          ],
          { env: { ...process.env, DEVENV_STATE_DIR: join(root, '.state'), NO_COLOR: '1' } },
        );
        expect(out.stdout).toMatch(/removed \d+ image\(s\) devenv built/);
        expect(out.stdout).toContain(`kept image ${r2}:`);
        for (const r of [r1, r3, r4, r5]) expect(await imageExists(r)).toBe(false);
        expect(await imageExists(r2)).toBe(true);
        expect(await imageExists(userTag)).toBe(true);
        expect(await imageExists(manual)).toBe(true);
      } finally {
        await execFileP('docker', ['rm', '-f', '-v', holder]).catch(() => undefined);
        for (const r of [...built, userTag, manual]) await removeImage(r, { force: true }).catch(() => false);
      }
    });

    it('deferred collection (the reload loop): old images stay while builds follow each other, and go once the service is quiet', async () => {
      const svc = service({ name: 'quietsvc', context: 'quietsvc' });
      await write('quietsvc/Dockerfile', `FROM ${BASE_IMAGE}\nCOPY v.txt /v.txt\n`);
      const built: string[] = [];
      const pending: Array<Promise<void>> = [];
      try {
        for (const v of [1, 2, 3, 4, 5]) {
          await write('quietsvc/v.txt', `${v}\n`);
          const t = performance.now();
          const r = await ensureImage(svc, { project, root, registry, cache, deferCollection: true });
          built.push(r.ref);
          pending.push(r.collected);
          // Nothing is collected during or right after the builds (each resets the wait)...
          expect(performance.now() - t).toBeLessThan(COLLECT_QUIET_MS);
        }
        for (const r of built) expect(await imageExists(r)).toBe(true);
        // ...the superseded collections settle at once, the last one once the service is quiet.
        await Promise.all(pending);
        expect(await imageExists(built[0]!)).toBe(false);
        expect(await imageExists(built[1]!)).toBe(false);
        for (const r of built.slice(2)) expect(await imageExists(r)).toBe(true);
      } finally {
        for (const r of built) await removeImage(r, { force: true }).catch(() => false);
      }
    });

    it('a failing build reports the build output lines', async () => {
      await write(
        'broken/Dockerfile',
        `FROM ${BASE_IMAGE}\nRUN echo "main.c:3:1: error: expected ';' before '}' token" >&2; exit 3\n`,
      );
      const c = collector();
      await expect(ensure(c.sink, service({ name: 'broken', context: 'broken' }))).rejects.toMatchObject({
        message: expect.stringMatching(/docker build failed/),
        details: expect.arrayContaining([expect.stringContaining("main.c:3:1: error: expected ';'")]),
      });
      const fail = c.steps('build:broken', 'fail')[0];
      expect(fail?.lines?.some((l) => l.includes('main.c:3:1'))).toBe(true);
    });

    describe('reload loop with ensureImage as the action', () => {
      let loop: WatchLoop | undefined;
      const c = collector();
      beforeAll(async () => {
        await ensure(() => {}); // start from a built, pushed image
        loop = await startWatchLoop({
          root,
          services: [service()],
          debounceMs: 150,
          onEvent: c.sink,
          onChangeSet: async (svc) => {
            const r = await ensure(c.sink, svc);
            return {
              result: r.built || r.pushed ? 'ok' : 'unchanged',
              tag: r.tag,
              timings: { buildMs: r.buildMs, loadMs: r.loadMs },
            };
          },
        });
      });
      afterAll(async () => {
        await loop?.close();
      });
      const settle = async () => {
        await sleep(600);
        await loop?.idle();
      };

      it('edit a file → exactly one build', async () => {
        const before = c.builds();
        await write('api/app/main.txt', 'v1\n');
        await settle();
        expect(c.builds() - before).toBe(1);
        const last = c.reloads().at(-1);
        expect(last).toMatchObject({ service: 'api', result: 'ok' });
        expect(last?.timings.buildMs).toBeGreaterThan(0);
      });

      it('20 rapid edits → at most two builds', async () => {
        const before = c.builds();
        for (let i = 0; i < 20; i++) {
          await write('api/app/main.txt', `rapid ${i}\n`);
          await sleep(15);
        }
        await settle();
        const n = c.builds() - before;
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(2);
      });

      it('an ignored file → no build (not even a change set)', async () => {
        const before = c.builds();
        const reloads = c.reloads().length;
        await write('api/debug.log', 'noise\n');
        await write('api/tmp/scratch', 'noise\n');
        await settle();
        expect(c.builds() - before).toBe(0);
        expect(c.reloads().length).toBe(reloads);
      });

      it('unchanged content (touch / same bytes re-saved) → no build', async () => {
        const before = c.builds();
        const skips = c.buildSkips();
        await write('api/app/util.txt', 'util\n'); // same bytes
        await settle();
        expect(c.builds() - before).toBe(0);
        expect(c.buildSkips() - skips).toBe(1);
        expect(c.reloads().at(-1)).toMatchObject({ result: 'unchanged' });
      });
    });

    it('sync: files land in a running container through `tar -x` (docker exec standing in for kube exec)', async () => {
      const svc = service({
        sync: [{ src: 'app/**', dest: '/', run: ['sh', '-c', 'echo synced > /tmp/ran'] }],
      });
      const r = await ensure(() => {}, svc);
      const name = `${project}-sync`;
      await createContainer({
        name,
        image: r.ref,
        env: [],
        ports: [],
        mounts: [],
        labels: projectLabels(project, { 'dev.devenv/component': 'test' }),
      });
      try {
        await startContainer(name);
        await write('api/app/main.txt', 'synced content\n');
        await write('api/app/new/deep.txt', 'deep\n');
        const plan = classifyChangeSet(
          {
            files: [
              { abs: join(root, 'api/app/main.txt'), rel: 'app/main.txt', kind: 'change' },
              { abs: join(root, 'api/app/new/deep.txt'), rel: 'app/new/deep.txt', kind: 'add' },
              { abs: join(root, 'api/app/util.txt'), rel: 'app/util.txt', kind: 'unlink' },
            ],
          },
          svc,
          'Dockerfile',
        );
        expect(plan.kind).toBe('sync');
        if (plan.kind !== 'sync') return;
        await syncToPods({
          service: 'api',
          plan: planSync(plan.files, svc.sync),
          targets: [{ namespace: 'docker', pod: name, container: 'main' }],
          execInPod: async (_ns, pod, _c, cmd, stdin) => {
            const x = await execRun(pod, cmd, stdin ? { stdin } : {});
            return { code: x.exitCode, stdout: x.stdout, stderr: x.stderr };
          },
        });
        const cat = await execRun(name, [
          'sh',
          '-c',
          'cat /app/main.txt /app/new/deep.txt /tmp/ran; ls /app',
        ]);
        expect(cat.stdout).toBe('synced content\ndeep\nsynced\nmain.txt\nnew\n');
      } finally {
        await removeContainer(name);
      }
    });
  },
);

/**
 * bench:up — `devenv up` on the pyapp fixture against a real cluster: the kube tier's test
 * cluster (default) or, with BENCH_TARGET=k3d, a k3d cluster devenv creates (test/bench/
 * target.ts). Reports:
 *   - cold up: wall time, each step's time, and the critical-path ratio
 *     wall / (slowest parallel branch + apply + slowest rollout) (goal <= 1.1);
 *   - k3d only: the same steps done by hand in the same run (k3d cluster create, the
 *     database container, docker build + push, kubectl apply, kubectl rollout status),
 *     with the same parallelism a careful script would use, and devenv / raw (goal <= 1.1);
 *   - warm up (nothing changed): wall time over 5 runs and writes (goal <= 2 s, 0 writes).
 * Prints figures; asserts nothing.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as YAML from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { up } from '../../src/engine/up.ts';
import type { ProgressEvent } from '../../src/events.ts';
import { freePort } from '../support/fixture.ts';
import { benchTarget } from './target.ts';

const run = promisify(execFile);
const stamp = Date.now().toString(36).slice(-5);
const target = await benchTarget('pyapp', `bench${stamp}`);
const { dir, file, context } = target;
// A fresh version so the cold run really builds.
writeFileSync(join(dir, 'app', 'version.py'), `VERSION = "bench-${Date.now()}"\n`);

const steps = new Map<string, number>();
const onEvent = (e: ProgressEvent) => {
  if (e.type === 'step' && e.ms !== undefined && e.phase !== 'start' && e.phase !== 'progress')
    steps.set(e.id, e.ms);
};

const loaded = loadConfig(file);
const t0 = performance.now();
await up({ loaded, ...(context ? { context } : {}), onEvent });
const cold = performance.now() - t0;
// The parallel branches: cluster (+ its registry), data services, builds (build + push; on
// k3d the push waits for the registry, so this branch ends when the image is in it); then
// apply and the rollouts.
const total = (ids: string[]) => ids.reduce((s, id) => s + (steps.get(id) ?? 0), 0);
const cluster = total(['preflight', 'network', 'cluster', 'registry']);
const data = total(['database', 'objectStore']);
const build = total([...steps.keys()].filter((k) => k.startsWith('build:') || k.startsWith('load:')));
const slowestRollout = [...steps.entries()]
  .filter(([k]) => k.startsWith('rollout:'))
  .reduce((m, [, v]) => Math.max(m, v), 0);
const slowestParallel = Math.max(cluster, data, build);
const criticalPath = slowestParallel + (steps.get('apply') ?? 0) + slowestRollout;

console.log(`bench:up pyapp on ${target.label} (node ${process.versions.node})`);
console.log(`  cold up: ${(cold / 1000).toFixed(2)} s`);
console.log(
  `    cluster ${cluster} ms (k3d ${steps.get('cluster') ?? 0}, registry ${steps.get('registry') ?? 0}) | data ${data} ms | build+push ${build} ms  -> slowest parallel branch ${slowestParallel} ms`,
);
console.log(
  `    apply ${steps.get('apply') ?? 0} ms, slowest rollout ${slowestRollout} ms, critical path ${criticalPath} ms`,
);
console.log(
  `    critical-path ratio (wall / critical path): ${(cold / criticalPath).toFixed(2)}  (goal <= 1.1)`,
);

if (target.kind === 'k3d') {
  const raw = await rawColdUp();
  console.log(
    `  the same by hand (k3d create ∥ database ∥ build, then push, apply, rollout status): ${(raw.wall / 1000).toFixed(2)} s`,
  );
  console.log(
    `    k3d create ${raw.cluster} ms | database ${raw.database} ms | build (and wait for the registry) ${raw.build} ms | push ${raw.push} ms | apply ${raw.apply} ms | rollout ${raw.rollout} ms`,
  );
  console.log(`    devenv / raw: ${(cold / raw.wall).toFixed(2)}  (goal <= 1.1)`);
}

const warm: number[] = [];
let writes = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const r = await up({ loaded, ...(context ? { context } : {}), onEvent: () => {} });
  warm.push(performance.now() - t);
  writes += r.reconcile.writes;
}
warm.sort((a, b) => a - b);
console.log(
  `  warm up (no change), 5 runs: median ${(warm[2]! / 1000).toFixed(2)} s, max ${(warm[4]! / 1000).toFixed(2)} s, ${writes} writes  (goal <= 2 s, 0 writes)`,
);

await target.cleanup();
process.exit(0);

/**
 * k3d: what a user would script without devenv, on a second cluster of the same shape: the
 * rendered k3d config under another name and ports, the offline Postgres image beside it,
 * the service's image built with the same builder and pushed, the fixture's manifests
 * applied with kubectl (image and the database Secret filled in), then rollout status.
 */
async function rawColdUp() {
  const k3d = target.k3d!;
  const name = `${target.project}raw`;
  const times = { cluster: 0, database: 0, build: 0, push: 0, apply: 0, rollout: 0, wall: 0 };
  const { renderK3dConfig } = await import('../../src/cluster/k3dconfig.ts');
  const { buildImage, pushImage } = await import('../../src/docker/images.ts');
  const { scanContext, contextTar } = await import('../../src/build/context.ts');
  const ports = { httpPort: await freePort(), httpsPort: await freePort(), registryPort: await freePort() };
  const rawConfig = { ...loaded.config, project: name, cluster: { ...loaded.config.cluster, ...ports } };
  const k3dFile = join(dir, 'k3d-raw.yaml');
  writeFileSync(
    k3dFile,
    renderK3dConfig(readFileSync(join(dir, 'k3d', 'cluster.yaml'), 'utf8'), 'k3d/cluster.yaml', rawConfig),
  );
  const env = k3d.env;
  const sh = (cmd: string, args: string[], input?: string) => {
    const child = run(cmd, args, { env, maxBuffer: 16 << 20 });
    if (input !== undefined) child.child.stdin?.end(input);
    return child;
  };
  const timed = async (key: keyof typeof times, f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    times[key] = Math.round(performance.now() - t);
  };
  const ref = `localhost:${ports.registryPort}/pyapp/web:raw-${stamp}`;
  const db = `${name}-db`;
  const t = performance.now();
  const clusterUp = timed('cluster', () =>
    sh(env.DEVENV_K3D ?? 'k3d', ['cluster', 'create', '--config', k3dFile]),
  );
  await Promise.all([
    clusterUp,
    timed('database', async () => {
      // The network k3d creates; the database joins it once it exists (as devenv's does).
      await sh('docker', [
        'run',
        '-d',
        '--name',
        db,
        '-p',
        '127.0.0.1::5432',
        '-e',
        'POSTGRES_PASSWORD=raw',
        '-e',
        'POSTGRES_DB=pyapp',
        'devenv-test/postgres:15',
      ]);
      for (;;) {
        const ok = await sh('docker', ['exec', db, 'pg_isready', '-U', 'postgres']).then(
          () => true,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }),
    timed('build', async () => {
      const svc = loaded.config.services[0]!;
      const scanned = await scanContext(svc, loaded.root);
      await buildImage({
        contextTar: () => contextTar(scanned),
        dockerfile: scanned.dockerfile,
        tags: [ref],
        buildArgs: scanned.buildArgs,
      } as Parameters<typeof buildImage>[0]);
      await clusterUp;
      const p = performance.now();
      await pushImage(ref);
      times.push = Math.round(performance.now() - p);
    }),
  ]);
  times.build -= times.push;
  const kc = ['--kubeconfig', k3d.kubeconfig, '--context', `k3d-${name}`];
  await timed('apply', async () => {
    await sh('docker', ['network', 'connect', `k3d-${name}`, db]);
    const docs = ['deployment.yaml', 'service.yaml', 'ingress.yaml'].map((f) =>
      YAML.parse(readFileSync(join(dir, 'k8s', f), 'utf8')),
    );
    const c = docs[0].spec.template.spec.containers[0];
    c.image = ref;
    c.envFrom = [{ secretRef: { name: 'app-db' } }];
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-db' },
      stringData: { DATABASE_URL: `postgres://postgres:raw@${db}:5432/pyapp` },
    };
    const text = [secret, ...docs].map((d) => YAML.stringify(d)).join('---\n');
    await sh('kubectl', [...kc, 'apply', '-f', '-'], text);
  });
  await timed('rollout', () =>
    sh('kubectl', [...kc, 'rollout', 'status', 'deployment/web', '--timeout=300s']),
  );
  times.wall = Math.round(performance.now() - t);
  // The database first: while it is attached to k3d's network, `k3d cluster delete` leaves
  // that network behind.
  await sh('docker', ['rm', '-f', '-v', db]);
  await sh(env.DEVENV_K3D ?? 'k3d', ['cluster', 'delete', name]);
  await sh('docker', ['rmi', ref]).catch(() => undefined);
  return times;
}

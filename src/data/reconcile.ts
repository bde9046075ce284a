/**
 * One data service's reconcile: `prepare` decides (image present, volumes ours, keep /
 * start / recreate / create by the spec-hash label) without changing anything; `apply`
 * does it, waits until the service answers, then brings its contents up to date (the
 * database: databases and init scripts; the object store: buckets and the seed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OBJECT_STORE_ENGINES } from '../config/engines.ts';
import {
  type ContainerState,
  createContainer,
  inspectManaged,
  removeContainer,
  startContainer,
  stopContainer,
  waitHealthy,
} from '../docker/containers.ts';
import { isManaged } from '../docker/labels.ts';
import { connectNetwork } from '../docker/networks.ts';
import { ensureImage } from '../docker/pull.ts';
import { ensureVolume, inspectVolume } from '../docker/volumes.ts';
import { badInput, DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { LABEL_SPEC_HASH } from '../labels.ts';
import { waitUntil } from '../wait.ts';
import { credentialsPath } from './credentials.ts';
import { applyInitScripts, createDatabases } from './database.ts';
import { endpointsOf } from './endpoints.ts';
import {
  completeSpec,
  type DatabasePlan,
  type DataPlan,
  type ObjectStorePlan,
  type ServicePlan,
} from './plan.ts';
import { databaseAnswers, objectStoreAnswers } from './readiness.ts';
import { dbTarget } from './resolve.ts';
import { ObjectStore } from './s3.ts';
import { type DataEndpoints, type DataRole, SNAPSHOT_BUCKET } from './types.ts';

type Action = 'keep' | 'start' | 'recreate' | 'create';

/** The object in the seed bucket that says the seed folder was uploaded (once). */
const SEED_MARKER = '.devenv-seed';

export interface Prepared {
  plan: ServicePlan;
  action: Action;
  existing?: ContainerState;
  spec: ReturnType<typeof completeSpec>['spec'];
  volumes: ServicePlan['volumes'];
}

/** The progress step of each role (the engine and the dashboard know these ids). */
export const STEP_ID: Record<DataRole, string> = { database: 'database', objectStore: 'objectStore' };

/** "database" / "object store", in messages. */
export const roleName = (role: DataRole): string => (role === 'database' ? 'database' : 'object store');

/** Ensures the image, checks the volumes are the project's, and decides the action. Changes nothing. */
export async function prepare(s: ServicePlan, emit: EventSink): Promise<Prepared> {
  const image = await ensureImage(s.spec.image, s.imageKey, (ref) =>
    emit({ type: 'step', id: STEP_ID[s.role], phase: 'progress', detail: `pulling ${ref}` }),
  );
  const { spec, volumes, hash } = completeSpec(s, image);
  const existing = await inspectManaged(s.containerName, s.project);
  for (const v of volumes) {
    const have = await inspectVolume(v.name);
    if (have && !isManaged(have.labels, s.project)) {
      throw badInput(
        `volume "${v.name}" exists but was not created by devenv for project "${s.project}"; devenv will not use or change it. ` +
          `Rename or remove it ("docker volume rm ${v.name}"), or change "project" in devenv.yaml.`,
      );
    }
  }
  let action: Action;
  if (!existing) action = 'create';
  else if (existing.labels[LABEL_SPEC_HASH] !== hash) action = 'recreate';
  else action = existing.running ? 'keep' : 'start';
  return { plan: s, action, ...(existing ? { existing } : {}), spec, volumes };
}

async function createAndStart(p: Prepared, network: string | undefined): Promise<void> {
  for (const v of p.volumes) await ensureVolume(v.name, v.labels);
  await createContainer(p.spec);
  try {
    if (network) await connectNetwork(network, p.plan.containerName, [p.plan.alias]);
    await startContainer(p.plan.containerName);
  } catch (err) {
    // A container that cannot start is removed (its labelled volumes stay): nothing half-made remains.
    await removeContainer(p.plan.containerName).catch(() => {});
    throw new DevenvError(`cannot start ${p.plan.containerName}: ${(err as Error).message}`, { cause: err });
  }
}

/** Does the prepared action to the container; returns what changed, for the step's detail. */
async function reconcileContainer(
  p: Prepared,
  network: string | undefined,
  progress: (detail: string) => void,
): Promise<string[]> {
  const s = p.plan;
  switch (p.action) {
    case 'create':
      progress('creating container');
      await createAndStart(p, network);
      return ['created'];
    case 'recreate':
      progress('configuration changed: recreating the container on the same volumes');
      await stopContainer(s.containerName);
      await removeContainer(s.containerName);
      await createAndStart(p, network);
      return ['recreated (configuration changed)'];
    case 'start':
      progress('starting the stopped container');
      try {
        if (network) await connectNetwork(network, s.containerName, [s.alias]);
        await startContainer(s.containerName);
      } catch (err) {
        // Typically a network it was attached to (an earlier cluster) is gone: recreate.
        if (!/network/i.test((err as Error).message)) throw err;
        await removeContainer(s.containerName);
        await createAndStart(p, network);
      }
      return ['started'];
    case 'keep':
      if (network && (await connectNetwork(network, s.containerName, [s.alias])))
        return [`joined ${network}`];
      return [];
  }
}

export interface Applied {
  state: ContainerState;
  changed: boolean;
  detail: string;
}

/** Applies one prepared service, waits until it answers, and brings its contents up to date. */
export async function apply(
  p: Prepared,
  plan: DataPlan,
  network: string | undefined,
  timeoutMs: number,
  emit: EventSink,
): Promise<Applied> {
  const s = p.plan;
  const progress = (detail: string) => emit({ type: 'step', id: STEP_ID[s.role], phase: 'progress', detail });
  const notes = await reconcileContainer(p, network, progress);
  const changedContainer = p.action !== 'keep' || notes.length > 0;

  const what = `the ${roleName(s.role)} container "${s.containerName}"`;
  if (s.spec.healthcheck && s.spec.healthcheck.test[0] !== 'NONE') {
    progress('waiting for the healthcheck');
    await waitHealthy(s.containerName, {
      timeoutMs,
      what: `${what} (healthcheck: ${s.spec.healthcheck.test.slice(1).join(' ')})`,
    });
  }
  const state = (await inspectManaged(s.containerName, s.project))!;
  const endpoints = endpointsOf(plan, { [s.role]: state });
  const ctx: SetupContext = { plan, endpoints, timeoutMs, what, progress };
  const setup =
    s.role === 'database'
      ? await setupDatabase(s as DatabasePlan, ctx)
      : await setupObjectStore(s as ObjectStorePlan, ctx);
  notes.push(...setup.notes);
  return {
    state,
    changed: changedContainer || setup.notes.length > 0,
    detail: `${setup.ready}${notes.length ? ` (${notes.join('; ')})` : ' (unchanged)'}`,
  };
}

interface SetupContext {
  plan: DataPlan;
  endpoints: DataEndpoints;
  timeoutMs: number;
  what: string;
  progress: (detail: string) => void;
}

/** What a setup changed (`notes`) and where the service is ready (`ready`). */
interface Setup {
  notes: string[];
  ready: string;
}

async function setupDatabase(db: DatabasePlan, ctx: SetupContext): Promise<Setup> {
  const { plan } = ctx;
  const t = dbTarget(db, plan.credentials);
  const hb = ctx.endpoints.host.database;
  ctx.progress('waiting for a query to answer');
  await waitUntil(databaseAnswers(t, hb, ctx.what, credentialsPath(plan.project)), {
    timeoutMs: ctx.timeoutMs,
  });
  const notes: string[] = [];
  const created = await createDatabases(t, db.databases);
  if (created.length) notes.push(`databases created: ${created.join(', ')}`);
  const scripts = db.initScripts.map((name) => ({ name, sql: readFileSync(join(plan.root, name), 'utf8') }));
  if (scripts.length) {
    const r = await applyInitScripts(t, scripts);
    if (r.applied.length) notes.push(`init scripts run: ${r.applied.join(', ')}`);
  }
  return { notes, ready: `${db.engine} ready on ${hb ? `${hb.host}:${hb.port}` : 'no host port'}` };
}

async function setupObjectStore(os: ObjectStorePlan, ctx: SetupContext): Promise<Setup> {
  const access = ctx.endpoints.host.objectStore;
  if (!access)
    throw new DevenvError(
      `${ctx.what} publishes no S3 port; its compose file must map port ${os.containerPort}.`,
    );
  ctx.progress('waiting for the S3 API to answer');
  const store = await ObjectStore.connect(access);
  try {
    await waitUntil(objectStoreAnswers(store, access, ctx.what), { timeoutMs: ctx.timeoutMs });
    const notes: string[] = [];
    const created: string[] = [];
    for (const b of new Set([...os.buckets, SNAPSHOT_BUCKET, ...(os.seed ? [os.seed.bucket] : [])])) {
      if (await store.ensureBucket(b)) created.push(b);
    }
    if (created.length) notes.push(`buckets created: ${created.join(', ')}`);
    if (os.seed && !(await store.exists(os.seed.bucket, SEED_MARKER))) {
      const n = await store.uploadFolder(os.seed.bucket, join(ctx.plan.root, os.seed.folder));
      await store.put(
        os.seed.bucket,
        SEED_MARKER,
        `${JSON.stringify({ folder: os.seed.folder, files: n, at: new Date().toISOString() })}\n`,
        { contentType: 'application/json' },
      );
      notes.push(`seeded ${n} file${n === 1 ? '' : 's'} into ${os.seed.bucket}`);
    }
    return {
      notes,
      ready: `${OBJECT_STORE_ENGINES[os.engine].title} ready on ${access.endpoint}${access.consoleUrl ? `, console ${access.consoleUrl}` : ''}`,
    };
  } finally {
    store.close();
  }
}

/**
 * `devenv prerelease down` and `devenv prerelease gc`: removing prerelease namespaces
 * (and everything in them), with their per-prerelease database, user and buckets.
 *
 * Deletion rests on three independent checks, all required:
 *   1. the namespace name is `<prefix>-<name>` for a configured, safe prefix;
 *   2. the namespace carries devenv's prerelease labels for this project (checked here,
 *      and again by kube/namespaces.ts deleteNamespace just before the DELETE);
 *   3. for gc: its `dev.devenv/expires-at` is readable and past (gc.ts).
 * Database and user names are derived from the namespace and must lie inside the prefix;
 * buckets must start with `<namespace>-`. When a namespace records a database but
 * DEVENV_PRERELEASE_DATABASE_URL is missing, nothing is deleted (bad input): deleting the
 * namespace alone would orphan the database.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { badInput } from '../errors.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { listPrereleaseNamespaces, readNamespace } from './cluster.ts';
import {
  DATABASE_URL_ENV,
  databaseNames,
  namesInPrefix,
  parseAdminUrl,
  prereleaseBuckets,
} from './database-plan.ts';
import { type GcDecision, selectForGc } from './gc.ts';
import { ANNOTATION_BUCKETS, ANNOTATION_DATABASE, isPrereleaseOf } from './metadata.ts';
import { assertInPrefix, assertSafePrefix } from './naming.ts';
import { resolvePrereleaseContext } from './safety.ts';
import { connectSession, resolveSession } from './session.ts';
import { sharedS3FromEnv } from './shared-s3.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface DownOptions {
  loaded: LoadedConfig;
  context?: string;
  kubeconfig?: string;
  name?: string;
  now?: Date;
  env?: Env;
  onEvent: EventSink;
}

export interface RemovedData {
  database?: string;
  user?: string;
  buckets: string[];
  notes: string[];
}

export interface DownResult {
  namespace: string;
  deleted: boolean;
  data: RemovedData;
}

export async function prereleaseDown(opts: DownOptions): Promise<DownResult> {
  const env = opts.env ?? process.env;
  const emit = opts.onEvent;
  const session = resolveSession(opts.loaded, opts, opts.now ?? new Date());
  const { config, namespace, prefix } = session;
  assertInPrefix(namespace, prefix);
  const client = await connectSession(session, emit);
  const live = await readNamespace(client, namespace);
  if (live && !isPrereleaseOf(live.metadata.labels, config.project)) {
    throw badInput(
      `refusing to delete namespace ${namespace}: it does not carry devenv's prerelease labels for project ${config.project}.`,
    );
  }
  const annotations = live?.metadata.annotations ?? {};
  assertDataCredentials(config, [annotations], env);
  const deleted = await deleteOne(client, config, namespace, emit);
  const data = await removeData(config, prefix, namespace, annotations, env, emit);
  return { namespace, deleted, data };
}

export interface GcOptions {
  loaded: LoadedConfig;
  context?: string;
  kubeconfig?: string;
  dryRun?: boolean;
  now?: Date;
  env?: Env;
  onEvent: EventSink;
}

export interface GcResult {
  expired: GcDecision[];
  kept: GcDecision[];
  deleted: string[];
  data: Record<string, RemovedData>;
  dryRun: boolean;
}

export async function prereleaseGc(opts: GcOptions): Promise<GcResult> {
  const env = opts.env ?? process.env;
  const emit = opts.onEvent;
  const { config } = opts.loaded;
  const prefix = assertSafePrefix(config.prerelease.namespacePrefix);
  const context = resolvePrereleaseContext(config, opts.context);
  const session = {
    config,
    root: opts.loaded.root,
    prefix,
    context,
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    name: '',
    namespace: '',
  };
  const client = await connectSession(session, emit);
  const all = await listPrereleaseNamespaces(client);
  const selection = selectForGc(all, { project: config.project, prefix, now: opts.now ?? new Date() });
  const result: GcResult = { ...selection, deleted: [], data: {}, dryRun: opts.dryRun === true };
  if (opts.dryRun) return result;
  const byName = new Map(all.map((n) => [n.name, n]));
  assertDataCredentials(
    config,
    selection.expired.map((e) => byName.get(e.name)?.annotations ?? {}),
    env,
  );
  for (const e of selection.expired) {
    const annotations = byName.get(e.name)?.annotations ?? {};
    if (await deleteOne(client, config, e.name, emit)) result.deleted.push(e.name);
    result.data[e.name] = await removeData(config, prefix, e.name, annotations, env, emit);
  }
  return result;
}

/** Bad input when a namespace about to go records a database but no admin URL is set. */
function assertDataCredentials(config: Config, annotations: Array<Record<string, string>>, env: Env): void {
  const needs = annotations.some((a) => a[ANNOTATION_DATABASE]);
  if (needs && !env[DATABASE_URL_ENV]) {
    throw badInput(
      `${DATABASE_URL_ENV} is not set, so the prerelease database cannot be dropped; nothing was deleted.`,
      [`Set it to the shared ${config.database?.engine ?? 'database'} server's admin URL and run again.`],
    );
  }
}

async function deleteOne(
  client: KubeClient,
  config: Config,
  namespace: string,
  emit: EventSink,
): Promise<boolean> {
  const { deleteNamespace } = await import('../kube/namespaces.ts');
  return step(emit, `delete:${namespace}`, `delete namespace ${namespace}`, async () => {
    const gone = await deleteNamespace(client, namespace, {
      project: config.project,
      env: 'prerelease',
      wait: true,
      timeoutMs: 300_000,
    });
    return gone ? true : skipped(false, `namespace ${namespace} does not exist`);
  });
}

async function removeData(
  config: Config,
  prefix: string,
  namespace: string,
  annotations: Record<string, string>,
  env: Env,
  emit: EventSink,
): Promise<RemovedData> {
  const out: RemovedData = { buckets: [], notes: [] };
  const url = env[DATABASE_URL_ENV];
  // An ephemeral server lives in the namespace and goes with it: nothing to drop elsewhere.
  const shared = Boolean(config.database) && config.prerelease.database === 'shared';
  if ((annotations[ANNOTATION_DATABASE] || shared) && url) {
    const admin = parseAdminUrl(url);
    const names = databaseNames(admin.engine, namespace);
    if (!namesInPrefix(names, prefix)) {
      out.notes.push(`database ${names.database} is outside the prefix; left alone`);
    } else {
      const { dropPrereleaseDatabase } = await import('./shared-db.ts');
      const r = await step(
        emit,
        `database:${namespace}`,
        `drop database ${names.database} and user ${names.user}`,
        async () => {
          const d = await dropPrereleaseDatabase(admin, names, namespace);
          return d.database === 'dropped' || d.user === 'dropped'
            ? d
            : skipped(d, d.reason ?? `database ${names.database} and user ${names.user} do not exist`);
        },
      );
      if (r.database === 'dropped') out.database = names.database;
      if (r.user === 'dropped') out.user = names.user;
      if (r.reason) out.notes.push(r.reason);
    }
  } else if (shared && !url) {
    out.notes.push(`${DATABASE_URL_ENV} not set: no database dropped`);
  }
  const recorded = (annotations[ANNOTATION_BUCKETS] ?? '').split(',').filter(Boolean);
  const buckets = [
    ...new Set([...recorded, ...prereleaseBuckets(namespace, config.objectStore?.buckets ?? [])]),
  ].filter((b) => b.startsWith(`${namespace}-`));
  if (buckets.length > 0) {
    const s3 = sharedS3FromEnv(env);
    if (!s3)
      out.notes.push('no shared object store configured (DEVENV_PRERELEASE_S3_*): buckets not removed');
    else {
      const { removeBuckets } = await import('./shared-s3.ts');
      out.buckets = await step(
        emit,
        `objectStore:${namespace}`,
        `remove buckets ${buckets.join(', ')}`,
        async () => {
          const removed = await removeBuckets(s3, namespace, buckets);
          return removed.length > 0 ? removed : skipped(removed, 'no buckets to remove');
        },
      );
    }
  }
  return out;
}

/**
 * `devenv prerelease up`: the project's SAME manifests, rendered with env "prerelease"
 * into ONE fresh namespace `<prefix>-<name>` on the shared cluster, deployed through the
 * same reconcile + rollout wait as `devenv up` (engine/deploy.ts).
 *
 *   1. refuse bad input before anything is created: prefix, context, name, quiet window,
 *      image source, data settings, manifests (rendered once as a probe);
 *   2. the namespace, labelled (managed-by, project, env=prerelease, prerelease=true) and
 *      annotated (owner, commit, created-at, expires-at, images, data names); then,
 *      when devenv lacks deploy rights in it, a RoleBinding to itself (access.ts);
 *   3. in parallel: images (given tag, or built and pushed), the per-prerelease database
 *      and user on the shared server, prefixed buckets on the shared object store;
 *   4. render manifests + devenv's own objects (isolation, the devenv-data Secret) and
 *      deploy; wait for every rollout except the test Job (`dev.devenv/role: test`),
 *      which is not applied here: `prerelease test` runs it.
 * Running it again for the same name changes only what differs (created-at and the
 * database password are kept).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { randomSecret } from '../data/credentials.ts';
import { DATA_SECRET_NAME as DATA_SECRET } from '../data/secret.ts';
import type { DataAccess } from '../data/types.ts';
import { type DeployResult, deploy, reportRender } from '../engine/deploy.ts';
import { buildServices, deployServices } from '../engine/pipeline.ts';
import { renderEnvironment, renderOwn } from '../engine/render.ts';
import { badInput } from '../errors.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { ReconcileResult } from '../kube/apply.ts';
import type { KubeClient } from '../kube/client.ts';
import { FIELD_MANAGER, serverSideApply, waitGone } from '../kube/objects.ts';
import { hasLabels } from '../labels.ts';
import { type KubeObject, ownerLabels, type SourceDoc } from '../manifests/types.ts';
import { ensureDeployAccess } from './access.ts';
import { readNamespace, readSecretData } from './cluster.ts';
import {
  type PrereleaseDataPlan,
  planPrereleaseData,
  prereleaseDataSecret,
  sharedDatabaseAccess,
} from './data.ts';
import { type EphemeralDatabase, planEphemeralDatabase } from './ephemeral-db.ts';
import { expiresAt, parseDuration, timestamp } from './expiry.ts';
import { isolationObjects, wideningPolicies } from './isolation.ts';
import {
  ANNOTATION_CREATED_AT,
  commitFromEnv,
  imagesOf,
  isPrereleaseOf,
  namespaceObject,
  ownerFromEnv,
} from './metadata.ts';
import { connectSession, type PrereleaseSession, resolveSession } from './session.ts';
import { assertInWindow } from './window.ts';

export interface PrereleaseUpOptions {
  loaded: LoadedConfig;
  context?: string;
  kubeconfig?: string;
  name?: string;
  /** Deploy `<registry>/<repo>:<imageTag>` for every service. */
  imageTag?: string;
  /** Build every service and push to `registry`. */
  build?: boolean;
  registry?: string;
  /** Deploy outside prerelease.window. */
  force?: boolean;
  rolloutTimeoutMs?: number;
  /** Clock and environment (CI variables, data URLs); default: the real ones. */
  now?: Date;
  env?: Readonly<Record<string, string | undefined>>;
  onEvent: EventSink;
}

export interface PrereleaseUpResult {
  namespace: string;
  context: string;
  images: Record<string, string>;
  reconcile: ReconcileResult;
  ready: string[];
  expiresAt: string;
  /** shared: on the shared server; ephemeral: a server in the namespace (Service devenv-db). */
  database?: { mode: 'shared' | 'ephemeral'; database: string; user: string; created: boolean };
  buckets?: string[];
  notes: string[];
  ms: number;
}

/** Everything `up` checks before it creates anything (no I/O beyond reading the checkout). */
export async function planPrereleaseUp(opts: PrereleaseUpOptions) {
  const now = opts.now ?? new Date();
  const env = opts.env ?? process.env;
  const session = resolveSession(opts.loaded, opts, now);
  const { config } = session;
  assertInWindow(config.prerelease.window, now, opts.force === true);
  parseDuration(config.prerelease.ttl);
  if (opts.imageTag && opts.build) throw badInput('pass either --image-tag or --build, not both.');
  if (!opts.imageTag && !opts.build && config.services.length > 0)
    throw badInput(
      'say which images to deploy: --image-tag TAG (already pushed) or --build (build and push).',
    );
  if ((opts.imageTag || opts.build) && !opts.registry)
    throw badInput('--registry is needed with --image-tag and --build (e.g. registry.example.com/team).');
  if (opts.imageTag && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(opts.imageTag))
    throw badInput(`--image-tag "${opts.imageTag}" is not a valid image tag.`);
  const data = planPrereleaseData(
    config,
    session.namespace,
    env,
    config.database && config.prerelease.database === 'ephemeral'
      ? {
          compose: (await import('../data/resolve.ts')).databaseComposeSource(config, session.root),
          root: session.root,
        }
      : undefined,
  );
  const { loadServices } = await import('../engine/pipeline.ts');
  const where = { env: 'prerelease', namespace: session.namespace } as const;
  const docs = await loadServices(config, session.root, where, opts.onEvent);
  return { session, data, docs, now, env, where };
}

export async function prereleaseUp(opts: PrereleaseUpOptions): Promise<PrereleaseUpResult> {
  const t0 = performance.now();
  const emit = opts.onEvent;
  const plan = await planPrereleaseUp(opts);
  const { session, data } = plan;
  const client = await connectSession(session, emit);
  // Images are known up front with --image-tag; built ones only after the build.
  const tagged = opts.imageTag ? taggedImages(session.config, opts.registry!, opts.imageTag) : undefined;
  const ns = await ensureNamespace(client, plan, tagged, emit);
  // devenv's own rights inside the namespace (a RoleBinding to itself, when it lacks them).
  await ensureDeployAccess(client, session.namespace, session.config.project, emit);

  const [images, provisioned] = await Promise.all([
    tagged ?? buildServices(session.config, session.root, opts.registry!, emit),
    provisionData(client, session, data, emit),
  ]);
  if (!tagged) await serverSideApply(client, ns.object(images), FIELD_MANAGER);
  const result = await renderAndDeploy(client, plan, images, provisioned, opts);
  return {
    namespace: session.namespace,
    context: session.context,
    images,
    reconcile: result.reconcile,
    ready: result.ready,
    expiresAt: ns.expiry,
    ...(provisioned.database ? { database: provisioned.database } : {}),
    ...(data.objectStore ? { buckets: data.objectStore.buckets } : {}),
    notes: data.notes,
    ms: Math.round(performance.now() - t0),
  };
}

type Plan = Awaited<ReturnType<typeof planPrereleaseUp>>;

/**
 * The namespace: created labelled and annotated (owner, commit, created-at, expires-at,
 * images, data names), or reused only if devenv made it for this project; one being
 * deleted is waited for first. Returns its expiry and how to write it again with the
 * images once they are built.
 */
async function ensureNamespace(
  client: KubeClient,
  { session, data, now, env }: Plan,
  tagged: Record<string, string> | undefined,
  emit: EventSink,
): Promise<{ expiry: string; object: (images: Record<string, string>) => KubeObject }> {
  const { config, namespace } = session;
  const live = await readNamespace(client, namespace);
  if (live && !isPrereleaseOf(live.metadata.labels, config.project)) {
    throw badInput(
      `namespace ${namespace} exists and was not created by devenv's prerelease for project ${config.project}; devenv leaves it alone.`,
      ['Pick another --name.'],
    );
  }
  const createdAt =
    (!live?.metadata.deletionTimestamp && live?.metadata.annotations?.[ANNOTATION_CREATED_AT]) ||
    timestamp(now);
  const expiry = timestamp(expiresAt(new Date(createdAt), config.prerelease.ttl));
  const commit = commitFromEnv(env) ?? (await gitCommit(session.root));
  const owner = ownerFromEnv(env);
  const object = (images: Record<string, string>) =>
    namespaceObject({
      name: namespace,
      project: config.project,
      owner,
      ...(commit ? { commit } : {}),
      createdAt,
      expiresAt: expiry,
      images,
      ...(data.database?.mode === 'shared' ? { database: data.database.names } : {}),
      ...(data.objectStore ? { buckets: data.objectStore.buckets } : {}),
    });
  await step(emit, `namespace:${namespace}`, `namespace ${namespace} (expires ${expiry})`, async () => {
    if (live?.metadata.deletionTimestamp)
      await waitGone(
        client,
        { apiVersion: 'v1', kind: 'Namespace', name: namespace },
        180_000,
        live.metadata.uid,
      );
    // Until a build finishes, the namespace keeps naming the images it runs now.
    await serverSideApply(client, object(tagged ?? imagesOf(live?.metadata.annotations)), FIELD_MANAGER);
    return live && !live.metadata.deletionTimestamp
      ? skipped(undefined, `namespace ${namespace} exists (expires ${expiry})`)
      : undefined;
  });
  return { expiry, object };
}

/**
 * Renders the project's manifests and devenv's own objects (isolation, the devenv-data
 * Secret, an ephemeral database server) and deploys all but the test Job. An ephemeral
 * database server goes first, Ready before the apps start (an app that needs its database
 * at startup must not crash-loop while the server initialises).
 */
async function renderAndDeploy(
  client: KubeClient,
  { session, data, docs, where }: Plan,
  images: Record<string, string>,
  provisioned: Provisioned,
  opts: PrereleaseUpOptions,
): Promise<DeployResult> {
  const { config, namespace } = session;
  const emit = opts.onEvent;
  const app = await renderEnvironment(config, where, docs, images);
  const own: SourceDoc[] = isolationObjects({ namespace }).map((doc, index) => ({
    file: '<devenv:isolation>',
    index,
    doc: { ...doc },
  }));
  const secret = prereleaseDataSecret(config.project, namespace, data, provisioned.access);
  if (secret) own.push({ file: '<devenv:data-secret>', index: 0, doc: { ...secret } });
  const serverDocs = (provisioned.ephemeral?.objects ?? []).map((doc, index) => ({
    file: '<devenv:ephemeral-db>',
    index,
    doc: { ...doc },
  }));
  reportRender(app, emit);
  for (const note of wideningPolicies(app.objects.map((o) => o.object)))
    emit({ type: 'step', id: 'isolation', phase: 'skip', detail: note });
  const deployOpts = {
    client,
    namespaces: [namespace],
    target: `${session.context}, namespace ${namespace}`,
    ...(opts.rolloutTimeoutMs !== undefined ? { rolloutTimeoutMs: opts.rolloutTimeoutMs } : {}),
    onEvent: emit,
  };
  const first = serverDocs.length
    ? await deploy({
        ...deployOpts,
        objects: await renderOwn(config, where, serverDocs),
        project: config.project,
        env: 'prerelease',
        prune: false,
      })
    : undefined;
  const result = await deployServices({
    ...deployOpts,
    config,
    where,
    docs,
    app,
    own: await renderOwn(config, where, [...own, ...serverDocs]),
  });
  if (first) {
    result.reconcile.created += first.reconcile.created;
    result.reconcile.updated += first.reconcile.updated;
    result.reconcile.unchanged -= first.reconcile.created + first.reconcile.updated;
  }
  return result;
}

function taggedImages(config: Config, registry: string, tag: string): Record<string, string> {
  const images: Record<string, string> = {};
  for (const svc of config.services) {
    const repo = svc.image ?? `${config.project}/${svc.name}`;
    images[repo] = `${registry.replace(/\/+$/, '')}/${repo}:${tag}`;
  }
  return images;
}

interface Provisioned {
  /** The database as pods reach it, for the devenv-data Secret. */
  access?: NonNullable<DataAccess['database']>;
  database?: PrereleaseUpResult['database'];
  /** The server's objects, for prerelease.database: ephemeral. */
  ephemeral?: EphemeralDatabase;
}

async function provisionData(
  client: KubeClient,
  s: PrereleaseSession,
  data: PrereleaseDataPlan,
  emit: EventSink,
): Promise<Provisioned> {
  const out: Provisioned = {};
  for (const note of data.notes) emit({ type: 'step', id: 'objectStore', phase: 'skip', detail: note });
  if (data.database) {
    // Keep the password pods already got (envFrom is read at container start) and the one
    // an ephemeral server was initialised with.
    const existing = await readSecretData(client, s.namespace, DATA_SECRET).catch(() => undefined);
    const owned = existing && isOwnedSecret(existing.labels, s.config.project) ? existing.data : undefined;
    if (data.database.mode === 'shared') {
      const { admin, names } = data.database;
      const password = (owned?.DB_USER === names.user && owned.DB_PASSWORD) || randomSecret();
      const { ensurePrereleaseDatabase, runInitScripts } = await import('./shared-db.ts');
      const scripts = initScripts(s);
      const created = await step(
        emit,
        'database',
        `database ${names.database} (user ${names.user}) on ${admin.engine}://${admin.host}:${admin.port}${scripts.length ? `, init scripts ${scripts.map((x) => x.name).join(', ')}` : ''}`,
        async () => {
          const isNew = await ensurePrereleaseDatabase(admin, names, password, s.namespace);
          if (isNew) await runInitScripts(admin, names, password, s.namespace, scripts);
          return isNew ? true : skipped(false, `database ${names.database} exists on ${admin.host}`);
        },
      );
      out.access = sharedDatabaseAccess(data.database, password);
      out.database = { mode: 'shared', ...names, created };
    } else {
      const user = 'devenv';
      const password = (owned?.DB_USER === user && owned.DB_PASSWORD) || randomSecret();
      const db = planEphemeralDatabase(
        s.config,
        data.database.root,
        data.database.compose,
        {
          user,
          password,
          // Derived, so that running `up` again renders the same server Secret.
          rootPassword: createHash('sha256').update(`root:${password}`).digest('base64url').slice(0, 32),
        },
        initScripts(s),
      );
      emit({
        type: 'step',
        id: 'database',
        phase: 'skip',
        detail: `database ${db.database} (user ${db.user}) on an ephemeral ${db.engine} server in ${s.namespace} (${db.image})`,
      });
      out.ephemeral = db;
      out.access = db.access;
      out.database = { mode: 'ephemeral', database: db.database, user: db.user, created: !owned };
    }
  }
  if (data.objectStore) {
    const { s3, buckets } = data.objectStore;
    const { ensureBuckets } = await import('./shared-s3.ts');
    await step(emit, 'objectStore', `buckets ${buckets.join(', ')} on ${s3.endpoint}`, async () => {
      const created = await ensureBuckets(s3, buckets);
      return created.length === 0 ? skipped(undefined, `buckets exist on ${s3.endpoint}`) : undefined;
    });
  }
  return out;
}

/** database.initScripts, read from the checkout (names as written in devenv.yaml). */
function initScripts(s: PrereleaseSession): Array<{ name: string; sql: string }> {
  return (s.config.database?.initScripts ?? []).map((name) => ({
    name,
    sql: readFileSync(resolve(s.root, name), 'utf8'),
  }));
}

function isOwnedSecret(labels: Record<string, string>, project: string): boolean {
  return hasLabels(labels, ownerLabels(project, 'prerelease'));
}

const run = promisify(execFile);

/** HEAD of the checkout, or undefined when it is not a git work tree. */
async function gitCommit(root: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { cwd: root, timeout: 10_000 });
    const sha = stdout.trim();
    return /^[0-9a-f]{7,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

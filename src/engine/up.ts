/**
 * The `up` engine: computes the desired state, reads the actual state, does only the
 * difference. Independent steps run in parallel — cluster ∥ data services ∥ image builds —
 * and the apply waits for all three. Every step reports through typed progress events.
 *
 * Targets:
 *  - the devenv-owned k3d cluster (default): created / started through the k3d binary;
 *  - an existing cluster named by --context, only if devenv.yaml allow-lists it
 *    (cluster.allowContexts). This is the path CI's test cluster takes, like a user with
 *    an existing dev cluster: no test-only code path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { Config, ServiceConfig } from '../config/schema.ts';
import type { DataEndpoints } from '../data/types.ts';
import { type EventSink, skipped, step } from '../events.ts';
import type { ReconcileResult } from '../kube/apply.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderResult } from '../manifests/render.ts';
import type { RenderedObject, SourceDoc } from '../manifests/types.ts';
import { ensureDir, projectStateDir } from '../state/paths.ts';
import type { ForwardPlan } from './forwards.ts';
import { acquireLock } from './lock.ts';
import { DEV, namespaceOf, renderEnvironment, renderOwn, toPlain } from './render.ts';
import { resolveTarget, type Target } from './target.ts';

export interface UpOptions {
  loaded: LoadedConfig;
  /** Existing cluster context (must be allow-listed); default: the devenv-owned k3d cluster. */
  context?: string;
  /** Explicit kubeconfig file (default: $KUBECONFIG, ~/.kube/config). */
  kubeconfig?: string;
  /** Start objectStore.engine even though another engine's volumes hold data (kept). */
  switchObjectStore?: boolean;
  /**
   * The caller opens `services[].forwards` once up returns (it watches): resolve them
   * against the rendered manifests and check their local ports are free, before anything
   * is created.
   */
  forwards?: boolean;
  onEvent: EventSink;
}

export interface UpResult {
  target: Target;
  images: Record<string, string>;
  data?: DataEndpoints;
  reconcile: ReconcileResult;
  /** The client of the target cluster, for the reload loop and the dashboard. */
  client: KubeClient;
  /** Loaded manifests per service, kept for re-rendering on reload. */
  docs: Map<string, SourceDoc[]>;
  /** The forwards to open (resolved when `forwards` was asked for, else empty). */
  forwards: ForwardPlan[];
  ms: number;
}

/** The address pods of a non-k3d cluster use to reach data services published on this machine. */
export function defaultDataHost(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const t0 = performance.now();
  const { config, root } = opts.loaded;
  const emit = opts.onEvent;
  const lock = acquireLock(config.project);
  try {
    // 1. Everything that can reject bad input does so before anything is created.
    const target = resolveTarget(config, opts.context, opts.kubeconfig);
    const { buildServices, loadServices } = await import('./pipeline.ts');
    const docs = await loadServices(config, root, DEV, emit);
    // Each forward names a Service and port the rendered manifests have (forwards.ts).
    const forwards = opts.forwards
      ? await (await import('./forwards.ts')).resolveForwards(opts.loaded, docs)
      : [];

    await preflightChecks(opts, target, forwards);

    // 2. Cluster ∥ data services ∥ builds.
    const network = target.kind === 'k3d' ? await ensureClusterNetwork(config, emit) : undefined;
    const { registryHost } = await import('../cluster/k3dconfig.ts');
    //    Builds start at once; their pushes wait for the registry the cluster step
    //    creates or starts (k3d), which is ready only once it answers on its host port.
    const cluster = ensureCluster(target, opts.loaded, emit);
    const registryReady = target.kind === 'k3d' ? cluster.then(() => registryUp(config, emit)) : undefined;
    const [client, data, images] = await Promise.all([
      cluster,
      ensureData(config, root, network, emit, target, opts.switchObjectStore),
      // Every service's image, pushed to the k3d registry (or the one devenv.yaml names).
      buildServices(config, root, registryHost(config), emit, registryReady),
    ]);

    // 3. Render with the images just built, plus devenv's own objects, and reconcile.
    //    The services render through the SAME function as reload (render.ts), so a reload
    //    applies what the next up would and that up writes nothing.
    const app = await renderEnvironment(config, DEV, docs, images);
    const own = await renderOwn(config, DEV, await generatedDocs(config, target, data, docs, app));
    const { reportRender } = await import('./deploy.ts');
    reportRender(app, emit);
    await reportIngress(config, target, app.objects, emit);
    const { deployServices } = await import('./pipeline.ts');
    const { reconcile: result } = await deployServices({
      client,
      config,
      where: DEV,
      docs,
      app,
      own,
      target: target.context,
      onEvent: emit,
    });
    return {
      target,
      images,
      ...(data ? { data } : {}),
      reconcile: result,
      client,
      docs,
      forwards,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    lock.release();
  }
}

/**
 * Before anything is created: every image the run needs is present or pullable and k3d is
 * installed in a supported version (preflight.ts); the host ports a cluster to create or
 * start needs are free, and so are the forwards' local ports (else: who holds them).
 */
async function preflightChecks(
  opts: UpOptions,
  target: Target,
  forwards: readonly ForwardPlan[],
): Promise<void> {
  const { config, root } = opts.loaded;
  const { preflight } = await import('./preflight.ts');
  const k3dConfig = target.kind === 'k3d' ? k3dConfigFile(root, config.cluster.config) : undefined;
  await preflight({
    loaded: opts.loaded,
    ...(k3dConfig ? { k3dConfigFile: k3dConfig } : {}),
    ...(opts.switchObjectStore ? { switchObjectStore: true } : {}),
    onEvent: opts.onEvent,
  });
  if (target.kind === 'k3d') await checkClusterPorts(config);
  if (forwards.length > 0) {
    const { assertPortsFree } = await import('./ports.ts');
    const { forwardPortNeeds } = await import('./forwards.ts');
    await assertPortsFree(forwardPortNeeds(forwards));
  }
}

/**
 * Where devenv installs its Traefik: every ingress-nginx annotation of the project's
 * rendered Ingresses that it does not honour, named by object and annotation (the route
 * still works, without that behaviour), never silently ignored.
 */
async function reportIngress(
  config: Config,
  target: Target,
  objects: readonly RenderedObject[],
  emit: EventSink,
): Promise<void> {
  const { plannedIngress, unsupportedAnnotations } = await import('../cluster/ingress.ts');
  const planned = plannedIngress(config.cluster, target.kind);
  if (!planned) return;
  for (const f of unsupportedAnnotations(
    objects.map((o) => o.object as unknown as Record<string, unknown>),
    planned.image,
  ))
    emit({
      type: 'step',
      id: `ingress:${f.object}:${f.annotation}`,
      phase: 'skip',
      detail: `${f.object}: annotation ${f.annotation} ${f.why}`,
    });
}

/** Before a k3d cluster is created or started: its host ports must be free. */
async function checkClusterPorts(config: Config): Promise<void> {
  const k3d = await import('../cluster/k3d.ts');
  const { clusterName } = await import('../cluster/k3dconfig.ts');
  const existing = await k3d.getCluster(clusterName(config.project));
  if (existing && k3d.isRunning(existing)) return;
  const { assertPortsFree, clusterHostPorts } = await import('./ports.ts');
  await assertPortsFree(clusterHostPorts(config));
}

async function ensureClusterNetwork(config: Config, emit: EventSink): Promise<string> {
  const { ensureNetwork, networkExists } = await import('../docker/networks.ts');
  const { ownerLabels } = await import('../manifests/types.ts');
  const name = `k3d-${config.project}`;
  // Created by devenv (labelled) before k3d, so data containers can join it while the
  // cluster is still being created; k3d uses an existing network of that name.
  await step(emit, 'network', `docker network ${name}`, async () => {
    if (await networkExists(name)) return skipped(undefined, `docker network ${name} exists`);
    await ensureNetwork(name, ownerLabels(config.project, 'dev'));
    return undefined;
  });
  return name;
}

async function ensureCluster(target: Target, loaded: LoadedConfig, emit: EventSink): Promise<KubeClient> {
  const { connect } = await import('../kube/client.ts');
  const { serverVersion } = await import('../kube/reads.ts');
  if (target.kind === 'existing') {
    return step(emit, 'cluster', `use existing cluster, context ${target.context}`, async () => {
      const client = connect({
        ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
        context: target.context,
      });
      await serverVersion(client);
      return skipped(client, `context ${target.context} (${client.server()}) answers`);
    });
  }
  const { config, root } = loaded;
  const k3d = await import('../cluster/k3d.ts');
  const { renderK3dConfig, clusterName } = await import('../cluster/k3dconfig.ts');
  const name = clusterName(config.project);
  await step(emit, 'cluster', `k3d cluster ${name}`, async () => {
    await k3d.k3dVersion();
    const existing = await k3d.getCluster(name);
    if (existing && k3d.isRunning(existing))
      return skipped(undefined, `k3d cluster ${name} is running (context ${target.context})`);
    if (existing) {
      await k3d.startCluster(name);
      return undefined;
    }
    // A create that was interrupted (up killed) leaves k3d's containers without a cluster.
    const left = await k3d.clearInterruptedCreate(name);
    if (left.length)
      emit({
        type: 'step',
        id: 'cluster',
        phase: 'progress',
        detail: `removed what an interrupted create left: ${left.join(', ')}`,
      });
    const file = k3dConfigFile(root, config.cluster.config);
    const rendered = renderK3dConfig(readFileSync(file, 'utf8'), config.cluster.config, config);
    const out = join(ensureDir(projectStateDir(config.project)), 'k3d-cluster.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(out, rendered);
    await k3d.createCluster(out);
    return undefined;
  });
  // Where the cluster listens on this machine; loud for expose: lan or wider bindings.
  await (await import('./exposure.ts')).reportExposure(config, emit);
  return connect({ context: target.context });
}

/**
 * The project's k3d config, or devenv's own k3d/cluster.yaml when the project keeps the
 * default path and has no file there (most projects need nothing else).
 */
export function k3dConfigFile(root: string, configured: string): string {
  const own = join(root, configured);
  if (existsSync(own) || configured !== 'k3d/cluster.yaml') return own;
  return join(import.meta.dirname, '..', '..', 'k3d', 'cluster.yaml');
}

async function ensureData(
  config: Config,
  root: string,
  network: string | undefined,
  emit: EventSink,
  target: Target,
  switchObjectStore?: boolean,
) {
  if (!config.database && !config.objectStore) return undefined;
  const { ensureDataServices } = await import('../data/lifecycle.ts');
  // Pods of an existing cluster reach the data services on cluster.dataHost: publish there too.
  const { dataPublishAddress } = await import('../data/publish.ts');
  const dataHost = config.cluster.dataHost ?? defaultDataHost();
  const publishOn = dataPublishAddress(target, dataHost);
  if (target.kind === 'existing') {
    const line = publishOn
      ? `data ports published on 127.0.0.1 and ${publishOn} (cluster.dataHost): pods of context ${target.context} connect there, and so can anything else that reaches that address`
      : `pods of context ${target.context} are told to use ${dataHost} (cluster.dataHost), which devenv does not bind: the data ports stay on 127.0.0.1`;
    await step(emit, 'data-host', line, async () => ({
      skipped: true as const,
      detail: line,
      value: undefined,
    }));
  }
  return ensureDataServices({
    config,
    root,
    ...(network ? { network } : {}),
    ...(publishOn ? { publishOn } : {}),
    ...(switchObjectStore ? { switchObjectStore } : {}),
    onEvent: emit,
  });
}

/** The k3d registry answers on its host port: the step the pushes wait for. */
async function registryUp(config: Config, emit: EventSink): Promise<void> {
  const { waitForRegistry } = await import('../build/registry.ts');
  const { registryHost } = await import('../cluster/k3dconfig.ts');
  const registry = registryHost(config);
  await step(emit, 'registry', `registry ${registry}`, async () => {
    const ms = await waitForRegistry(registry);
    return ms < 50 ? skipped(undefined, `registry ${registry} answers`) : undefined;
  });
}

/**
 * devenv's own objects, to render like the project's manifests (same labels, hash, apply
 * and prune): the data-services Secret in every app namespace and, on k3d, the TLS
 * passthrough Service and the ingress controller. (The TLS Secret and CA ConfigMap are
 * rendered with the TLS service itself, by render.ts, so reload applies them too.)
 */
async function generatedDocs(
  config: Config,
  target: Target,
  data: DataEndpoints | undefined,
  docs: Map<string, SourceDoc[]>,
  app: RenderResult,
): Promise<SourceDoc[]> {
  const namespaces = app.namespaces.length ? app.namespaces : [config.project];
  const out: SourceDoc[] = [];
  if (data) {
    const { buildDataSecret } = await import('../data/secret.ts');
    let cluster = data.cluster;
    if (target.kind === 'existing')
      cluster = reachableFromPods(data, config.cluster.dataHost ?? defaultDataHost());
    for (const ns of namespaces)
      out.push({
        file: '<devenv:data-secret>',
        index: out.length,
        doc: { ...buildDataSecret(config.project, cluster, ns) },
      });
  }
  if (config.tls) {
    const ns = namespaceOf(docs.get(config.tls.service) ?? [], config.project);
    const selector = serviceSelector(
      config.services.find((s) => s.name === config.tls?.service),
      docs,
    );
    if (target.kind === 'k3d' && selector) {
      const { tlsPassthroughService } = await import('../cluster/addons.ts');
      out.push({
        file: '<devenv:tls>',
        index: out.length,
        doc: tlsPassthroughService(config.tls, ns, selector),
      });
    }
  }
  // The ingress controller (cluster/ingress.ts): applied, pruned and waited for like the
  // project's own workloads, so `up` does not succeed while it is not running; with the
  // Gateway API CRDs, GatewayClass and Gateways where the manifests use Gateway API
  // (cluster/gateway.ts).
  const { plannedIngress } = await import('../cluster/ingress.ts');
  const ingress = plannedIngress(config.cluster, target.kind);
  if (ingress) {
    const { ingressObjects } = await import('../cluster/gateway.ts');
    for (const doc of ingressObjects(
      ingress,
      app.objects.map((o) => o.object as unknown as Record<string, unknown>),
    ))
      out.push({ file: '<devenv:ingress>', index: out.length, doc });
  }
  return out;
}

/** In-cluster endpoints for a cluster outside Docker's network: the host address and published ports. */
function reachableFromPods(data: DataEndpoints, host: string) {
  const { database, objectStore } = data.host;
  return {
    ...(database ? { database: { ...database, host } } : {}),
    ...(objectStore
      ? { objectStore: { ...objectStore, endpoint: objectStore.endpoint.replace(/\/\/[^:/]+/, `//${host}`) } }
      : {}),
  };
}

/** The selector of the first Service in a service's manifests: its pods. */
function serviceSelector(
  svc: ServiceConfig | undefined,
  docs: Map<string, SourceDoc[]>,
): Record<string, string> | undefined {
  for (const d of (svc && docs.get(svc.name)) ?? []) {
    const obj = toPlain(d) as { kind?: string; spec?: { selector?: Record<string, string> } };
    if (obj?.kind === 'Service' && obj.spec?.selector) return obj.spec.selector;
  }
  return undefined;
}

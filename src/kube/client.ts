/**
 * The connection to a Kubernetes API server: kubeconfig loading and context selection
 * through @kubernetes/client-node (which also does every kind of authentication:
 * certificates, tokens, exec plugins), and a small JSON request function on top of it.
 *
 * Why raw JSON requests rather than client-node's typed KubernetesObjectApi: that class
 * serializes built-in kinds through its generated models, which silently DROPS every
 * field the model does not know (a misspelt `imagePullPolicyy`, or a field newer than
 * the client). Sending the rendered manifest as written lets the API server validate it
 * and reject what it does not know, as `kubectl apply --server-side` would.
 *
 * src/kube/ is the only place that talks to Kubernetes.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { badInput, DevenvError } from '../errors.ts';

export interface ConnectOptions {
  /** Explicit kubeconfig file; default: $KUBECONFIG (":"-separated list), then ~/.kube/config. */
  kubeconfig?: string;
  /** Context to use; default: the kubeconfig's current context. */
  context?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** An error answer of the API server, with its HTTP status and the Status reason. */
export class KubeApiError extends Error {
  readonly status: number;
  /** Status.reason, e.g. "NotFound", "AlreadyExists", "Invalid", "Conflict", "Forbidden". */
  readonly reason: string;
  readonly body: unknown;
  constructor(status: number, reason: string, message: string, body: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
}

/** What API discovery says about a kind. */
export interface ResourceInfo {
  /** The plural resource name used in URLs, e.g. "deployments". */
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

/** A reference to an object (or, without a name, to a collection). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
}

export interface KubeClient {
  /** Name of the context in use. */
  contextName(): string;
  /** The API server URL of that context. */
  server(): string;
  /** client-node's KubeConfig, for the parts of src/kube that use client-node's helpers (watches). */
  readonly kubeConfig: k8s.KubeConfig;
  /** A JSON request; throws KubeApiError for non-2xx answers. */
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** A request whose answer is text (pod logs). */
  requestText(method: string, path: string, opts?: RequestOptions): Promise<string>;
  /** A long-lived GET (followed logs): `onData` gets each chunk until the server ends it or stop(). */
  stream(
    path: string,
    opts: RequestOptions,
    onData: (chunk: Buffer) => void,
  ): Promise<{ stop(): void; done: Promise<void> }>;
  /** Discovery: the resource of a kind (cached; refreshed once when a kind is unknown, e.g. a new CRD). */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo>;
  /** URL path of an object (or of its collection when `name` is absent). */
  pathOf(ref: ObjectRef): Promise<string>;
}

/** Loads a kubeconfig and selects a context; a missing file or context is bad input (exit 2). */
export function loadKubeConfig(opts: Pick<ConnectOptions, 'kubeconfig' | 'context'> = {}): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw badInput(
      `cannot read the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(err as Error).message}`,
    );
  }
  const contexts = kc.getContexts().map((c) => c.name);
  if (opts.context) {
    if (!contexts.includes(opts.context)) {
      throw badInput(
        `kube context "${opts.context}" is not in the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}.`,
        contexts.length > 0 ? [`contexts there: ${contexts.join(', ')}`] : ['it has no contexts'],
      );
    }
    kc.setCurrentContext(opts.context);
  } else if (!kc.getCurrentContext() || !contexts.includes(kc.getCurrentContext())) {
    throw badInput(
      `no kube context selected${opts.kubeconfig ? ` in ${opts.kubeconfig}` : ''}; pass one explicitly.`,
      contexts.length > 0 ? [`contexts there: ${contexts.join(', ')}`] : [],
    );
  }
  if (!kc.getCurrentCluster()) {
    throw badInput(`kube context "${kc.getCurrentContext()}" names no cluster.`);
  }
  return kc;
}

/** API groups of Kubernetes itself with a dot in their name: a missing one is a typo or a removed version, not a missing CRD. */
const BUILTIN_GROUPS: ReadonlySet<string> = new Set([
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/** Who provides an extension API group, as the fix of a "kind not served" failure. */
export function providerOf(group: string): string {
  const known: Array<[RegExp, string]> = [
    [
      /^helm\.cattle\.io$/,
      "HelmChart comes with k3s (its Helm controller): devenv's k3d clusters run k3s; on another cluster install k3s's helm-controller, or leave the chart out",
    ],
    [
      /^gateway\.networking\.k8s\.io$/,
      'install the Gateway API CRDs (https://gateway-api.sigs.k8s.io/guides/)',
    ],
    [
      /(^|\.)traefik\.(io|containo\.us)$/,
      "install Traefik's CRDs (its Helm chart or https://doc.traefik.io)",
    ],
    [/(^|\.)cert-manager\.io$/, 'install cert-manager (https://cert-manager.io)'],
    [/^monitoring\.coreos\.com$/, 'install the Prometheus Operator CRDs (https://prometheus-operator.dev)'],
    [/(^|\.)istio\.io$/, 'install Istio (https://istio.io)'],
    [/^argoproj\.io$/, 'install Argo CD or Argo Rollouts (https://argoproj.github.io)'],
  ];
  const hit = known.find(([re]) => re.test(group));
  return hit
    ? hit[1]
    : `install the operator or chart that defines the ${group} API group (its CRDs) first, or leave those objects out`;
}

export function connect(opts: ConnectOptions = {}): KubeClient {
  const kc = loadKubeConfig(opts);
  const cluster = kc.getCurrentCluster()!;
  const base = new URL(cluster.server);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sender = requestSender(kc, base, keepAliveAgents(cluster));
  const send = async (
    method: string,
    path: string,
    ro: RequestOptions,
    accept: string,
  ): Promise<{ status: number; text: string }> => {
    const { res } = await sender(method, path, ro, accept, timeoutMs);
    return { status: res.statusCode ?? 0, text: await readAll(res) };
  };

  const client: KubeClient = {
    contextName: () => kc.getCurrentContext(),
    server: () => cluster.server,
    kubeConfig: kc,
    async request<T>(method: string, path: string, ro: RequestOptions = {}): Promise<T> {
      const r = await send(method, path, ro, 'application/json');
      if (r.status < 200 || r.status > 299) throw apiError(method, path, r.status, r.text);
      return (r.text ? JSON.parse(r.text) : undefined) as T;
    },
    async requestText(method: string, path: string, ro: RequestOptions = {}): Promise<string> {
      const r = await send(method, path, ro, '*/*');
      if (r.status < 200 || r.status > 299) throw apiError(method, path, r.status, r.text);
      return r.text;
    },
    async stream(path, ro, onData) {
      // No timeout: a followed log may stay quiet for hours.
      const { req, res } = await sender('GET', path, ro, '*/*', 0);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) throw apiError('GET', path, status, await readAll(res));
      return followed(req, res, onData);
    },
    resource: (apiVersion, kind) => discovery(apiVersion, kind),
    async pathOf(ref) {
      const res = await discovery(ref.apiVersion, ref.kind);
      const prefix = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
      const ns = res.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
      const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
      return `${prefix}${ns}/${res.name}${name}`;
    },
  };
  const discovery = discoveryOf(client);
  return client;
}

type SendRequest = (
  method: string,
  path: string,
  ro: RequestOptions,
  accept: string,
  timeout: number,
) => Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>;

/**
 * Connections are kept alive and reused. client-node's agent (cached per cluster and user)
 * has keep-alive off: every request paid a TCP connect, a TLS handshake and a new TLS
 * context on both ends (the API server shares the machine). A warm `up` of 40 services
 * opened 395 connections in 1.4 s; reusing them: ~98 (the rest are the rollout watches,
 * which hold theirs), 0.95 s, 40 % less CPU. One agent per client and TLS identity (a
 * client certificate an exec plugin renews gets a new agent); proxies keep client-node's.
 * Returns the function that puts that agent into a request's options.
 */
function keepAliveAgents(cluster: k8s.Cluster): (o: https.RequestOptions) => void {
  let keepAlive: { key: string; agent: https.Agent } | undefined;
  return (o) => {
    if (!(o.agent instanceof https.Agent) || cluster.proxyUrl) return;
    const tlsOptions = {
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      pfx: o.pfx,
      passphrase: o.passphrase,
      servername: o.servername,
      ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    };
    const key = JSON.stringify(tlsOptions);
    if (keepAlive?.key !== key) {
      keepAlive?.agent.destroy();
      keepAlive = { key, agent: new https.Agent({ ...tlsOptions, keepAlive: true }) };
    }
    o.agent = keepAlive.agent;
  };
}

/** Sends a request; resolves once the answer's headers arrived (the body is the caller's to read). */
function requestSender(
  kc: k8s.KubeConfig,
  base: URL,
  reuseConnections: (o: https.RequestOptions) => void,
): SendRequest {
  return async (method, path, ro, accept, timeout) => {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(ro.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const body =
      ro.body === undefined ? undefined : typeof ro.body === 'string' ? ro.body : JSON.stringify(ro.body);
    const options: https.RequestOptions = { method, headers: {} };
    // Certificates, tokens, exec plugins; also the agent (with the context's proxy, if any).
    await kc.applyToHTTPSOptions(options);
    reuseConnections(options);
    const headers = options.headers as Record<string, string>;
    headers.Accept = accept;
    if (body !== undefined) {
      headers['Content-Type'] = ro.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const mod = url.protocol === 'http:' ? http : https;
    const attempt = (retry: boolean) =>
      new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
        const req = mod.request(url, options, (res) => resolve({ req, res }));
        if (timeout > 0) {
          req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout / 1000} s`)));
        }
        req.on('error', (err) => {
          // A kept-alive connection the server closed as this request went out: send it once
          // more, on a new connection (what Node's documentation advises for reused sockets).
          if (retry && req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
            resolve(attempt(false));
            return;
          }
          reject(
            new DevenvError(`cannot reach the Kubernetes API at ${base.origin} (${err.message})`, {
              cause: err,
              details: [`context: ${kc.getCurrentContext()}`],
            }),
          );
        });
        if (body !== undefined) req.write(body);
        req.end();
      });
    return attempt(true);
  };
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** A long-lived answer: each chunk to `onData` until the server ends it or stop(). */
function followed(
  req: http.ClientRequest,
  res: http.IncomingMessage,
  onData: (chunk: Buffer) => void,
): { stop(): void; done: Promise<void> } {
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    res.on('data', (c: Buffer) => {
      if (!stopped) onData(c);
    });
    res.on('end', () => resolve());
    res.on('close', () => resolve());
    res.on('error', () => resolve());
    req.on('error', () => resolve());
  });
  return {
    stop() {
      stopped = true;
      req.destroy();
    },
    done,
  };
}

/** A non-2xx answer as a KubeApiError, with the Status' reason and message when it is one. */
function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  let body: unknown = text;
  let reason = '';
  let message = text.trim() || `HTTP ${status}`;
  try {
    body = JSON.parse(text);
    const s = body as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return new KubeApiError(status, reason, `${method} ${path.split('?')[0]}: ${message}`, body);
}

/**
 * API discovery: the resource of a kind. apiVersion → its resources, cached; undefined: the
 * cluster does not serve that apiVersion at all. A kind not found is looked up once more
 * (a CRD just installed).
 */
function discoveryOf(client: KubeClient): (apiVersion: string, kind: string) => Promise<ResourceInfo> {
  const cache = new Map<string, ResourceInfo[] | undefined>();
  return async (apiVersion, kind) => {
    let list: ResourceInfo[] | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      list = cache.get(apiVersion);
      if (!cache.has(apiVersion) || attempt > 0) {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        try {
          const r = await client.request<{ resources: ResourceInfo[] }>('GET', path);
          list = r.resources.filter((x) => !x.name.includes('/'));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          list = undefined;
        }
        cache.set(apiVersion, list);
      }
      const found = list?.find((x) => x.kind === kind);
      if (found) return found;
    }
    throw await notServed(client, apiVersion, kind, list);
  };
}

/** Why a kind is not served: an extension's missing CRD (exit 1), or a mistake in the manifests (exit 2). */
async function notServed(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  list: ResourceInfo[] | undefined,
): Promise<DevenvError> {
  const where = `the cluster (context ${client.contextName()})`;
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  if (list === undefined && group.includes('.') && !BUILTIN_GROUPS.has(group)) {
    // A whole API group of an extension is missing: the manifests are fine, the cluster
    // lacks what defines them. An environment failure (exit 1), not bad input.
    const versions = await client
      .request<{ versions?: Array<{ groupVersion: string }> }>('GET', `/apis/${group}`)
      .then((g) => (g.versions ?? []).map((v) => v.groupVersion))
      .catch(() => [] as string[]);
    return new DevenvError(
      `${where} does not serve kind ${kind} (apiVersion ${apiVersion}): ${
        versions.length
          ? `the CustomResourceDefinition installed for ${group} serves ${versions.join(', ')} only`
          : `no CustomResourceDefinition for ${group} is installed`
      }; ${providerOf(group)}.`,
    );
  }
  return badInput(
    list === undefined
      ? `${where} does not serve apiVersion ${apiVersion} (kind ${kind}); check the apiVersion (is it one this Kubernetes version still serves?).`
      : `${where} has no kind ${kind} in apiVersion ${apiVersion}; check the kind (${apiVersion} has ${[...new Set(list.map((x) => x.kind))].sort().join(', ') || 'no kinds'}).`,
  );
}

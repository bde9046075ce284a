/**
 * The devenv.yaml schema: the ONE source of truth for the project config.
 *
 * The validator (config/validate.ts), the TypeScript types (`Config`), the JSON Schema
 * printed by `devenv config schema`, and the README's config reference are all derived
 * from the zod schema below, so they cannot drift apart. Every object is strict: an
 * unknown key is an error (with a "did you mean" computed from this schema's keys).
 *
 * Pure module: no I/O.
 */

import { z } from 'zod';
import { certHostProblem } from './dns.ts';
import {
  DEFAULT_OBJECT_STORE_ENGINE,
  OBJECT_STORE_ENGINE_NAMES,
  OBJECT_STORE_ENGINES,
  TRAEFIK_DEFAULT_IMAGE,
} from './engines.ts';

export const API_VERSION = 'devenv.dev/v1alpha1';

/** DNS-1123 label: what Kubernetes accepts for namespaces, labels values and k3d names. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-"')
  .max(63, 'must be at most 63 characters');

const hostPort = z.number().int().min(1).max(65535);

/** A relative path inside the project (resolved against the directory of devenv.yaml). */
const relPath = z.string().min(1, 'must not be empty');

/** Go-style durations like "12h", "90m", "1h30m", "45s". */
export const DURATION_RE = /^(\d+h)?(\d+m)?(\d+s)?$/;
const duration = z
  .string()
  .regex(DURATION_RE, 'must be a duration such as "12h", "90m" or "1h30m"')
  .refine((s) => s.length > 0, 'must not be empty');

const syncRule = z
  .strictObject({
    src: relPath.describe('Glob (relative to the build context) of files copied into the running container.'),
    dest: z
      .string()
      .startsWith('/', 'must be an absolute path inside the container')
      .describe('Absolute directory inside the container that mirrors the build context root for `src`.'),
    run: z
      .array(z.string())
      .optional()
      .describe('Command run in the container after files were copied (e.g. to restart the process).'),
  })
  .describe(
    'Live-update rule: changed files matching `src` are copied into the container, with no image build.',
  );

/**
 * A port-forward: a port on 127.0.0.1 → a port of a Service in the service's rendered
 * manifests, by name or number. Written as `"LOCAL:PORT"`, `"LOCAL:SERVICE:PORT"` (when the
 * manifests hold several Services), a bare `"PORT"` or number (the same port locally), or
 * the object `{ local, service, port }`. Parsed here into one shape; which Service and
 * port exist is checked against the rendered manifests before anything is created
 * (engine/forwards.ts).
 */
export const FORWARD_RE =
  /^(?:(\d{1,5}):)?(?:([a-z0-9](?:[-a-z0-9]*[a-z0-9])?):)?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)$/;
const FORWARD_FORMS =
  'must be a port forward such as "8080:http", "8080:web:http", "9229" or { local: 8080, port: http }';
const servicePort = z.union(
  [hostPort, z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Service port name or number')],
  { error: 'must be a Service port name (such as "http") or number' },
);
export const forwardEntry = z
  .union(
    [
      z
        .string()
        .regex(FORWARD_RE, FORWARD_FORMS)
        .superRefine((s, ctx) => {
          const m = FORWARD_RE.exec(s);
          if (!m) return;
          const [, local, svc, port] = m;
          if (local === undefined && (svc !== undefined || !/^\d+$/.test(port as string)))
            ctx.addIssue({
              code: 'custom',
              message: `needs a local port when it names a port or a Service (such as "8080:${s}")`,
            });
          for (const n of [local, /^\d+$/.test(port as string) ? port : undefined])
            if (n !== undefined && (Number(n) < 1 || Number(n) > 65535))
              ctx.addIssue({ code: 'custom', message: `port ${n} is out of range; must be 1-65535` });
        }),
      hostPort,
      z
        .strictObject({
          local: hostPort.optional().describe('Port on 127.0.0.1 (default: `port`, when that is a number).'),
          service: dnsLabel
            .optional()
            .describe("Name of the Service (default: the service's only Service in its manifests)."),
          port: servicePort.describe('The Service port: its name or number.'),
        })
        .refine((o) => o.local !== undefined || typeof o.port === 'number', {
          message: 'needs "local" (the port on 127.0.0.1) when "port" is a name',
        }),
    ],
    { error: FORWARD_FORMS },
  )
  .transform((f): ForwardConfig => {
    if (typeof f === 'number') return { local: f, port: f };
    if (typeof f === 'object') {
      return {
        local: f.local ?? (f.port as number),
        ...(f.service ? { service: f.service } : {}),
        port: f.port,
      };
    }
    const [, local, svc, port] = FORWARD_RE.exec(f) as RegExpExecArray;
    const p = /^\d+$/.test(port as string) ? Number(port) : (port as string);
    return { local: Number(local ?? port), ...(svc ? { service: svc } : {}), port: p };
  });

/** A forward as parsed, whatever form it was written in. */
export interface ForwardConfig {
  local: number;
  /** The Service's name; absent: the service's only Service. */
  service?: string;
  /** The Service port, by name or number. */
  port: string | number;
}

/**
 * A Helm chart as a manifest source: rendered by `helm template` (manifests/load.ts), then
 * through devenv's own render and apply like any manifest file. Local (a folder), or from
 * a chart repository (`repo`) or an OCI registry (`oci://`), then pinned by `version`.
 */
export const chartSource = z
  .strictObject({
    chart: relPath.describe(
      'Local chart folder (the one holding Chart.yaml); with `repo`, the chart name in that repository; or an OCI reference (oci://registry/path/chart).',
    ),
    repo: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'must be a chart repository URL (http:// or https://)')
      .optional()
      .describe('Chart repository URL (`helm template --repo`); `chart` is then the chart name in it.'),
    version: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Chart version (`helm template --version`), required for a chart from a repository or OCI registry, so every machine renders the same chart; not for a local chart (its Chart.yaml says).',
      ),
    values: z
      .array(relPath)
      .default([])
      .describe(
        "Values files passed to helm in order (`-f`), later ones winning: production's values first, then the dev overrides.",
      ),
    release: dnsLabel
      .optional()
      .describe("Release name (`.Release.Name` in the templates). Default: the chart folder's name."),
    namespace: dnsLabel
      .optional()
      .describe(
        'Namespace of the release (`helm template --namespace`, `.Release.Namespace`); namespaced objects the chart leaves without one go there. Default: "default".',
      ),
  })
  .superRefine((c, ctx) => {
    const remote = c.repo !== undefined || c.chart.startsWith('oci://');
    if (remote && c.version === undefined)
      ctx.addIssue({
        code: 'custom',
        message: `has no "version": a chart from ${c.repo !== undefined ? 'a repository' : 'an OCI registry'} needs one (the same chart on every machine)`,
      });
    if (!remote && c.version !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['version'],
        message:
          "is only for a chart from a repository (repo) or OCI registry (oci://); a local chart's version is in its Chart.yaml",
      });
  })
  .describe(
    'A Helm chart (local, from a repository or an OCI registry) rendered with `helm template` (hooks included: pre-install/pre-upgrade Jobs are kept, other hooks are reported by name and left out).',
  );
export type ChartSource = z.output<typeof chartSource>;

/** One entry of `services[].manifests`: a file, a folder, a kustomization folder, or a chart. */
const manifestSource = z.union([relPath, chartSource]);
export type ManifestSource = string | ChartSource;

const service = z
  .strictObject({
    name: dnsLabel.describe('Service name, unique in the project.'),
    context: relPath.default('.').describe('Docker build context directory.'),
    dockerfile: relPath.default('Dockerfile').describe('Dockerfile path, relative to the build context.'),
    image: z
      .string()
      .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, 'must be an image repository name such as "shop/api" (no tag)')
      .optional()
      .describe(
        'Image repository name used in the manifests; devenv replaces its tag with the one it builds. Default: <project>/<name>.',
      ),
    buildArgs: z.record(z.string(), z.string()).default({}).describe('Docker build arguments.'),
    target: z.string().optional().describe('Multi-stage build target.'),
    manifests: z
      .array(manifestSource)
      .min(1, 'needs at least one manifest file or folder')
      .describe(
        'Kubernetes manifests: files, folders, a kustomization directory, or a Helm chart ({ chart, values, release }). The SAME files serve production.',
      ),
    watch: z.array(relPath).default([]).describe('Extra paths whose changes rebuild this service.'),
    ignore: z
      .array(z.string())
      .default([])
      .describe('Globs ignored by the watcher, on top of .dockerignore.'),
    sync: z
      .array(syncRule)
      .default([])
      .describe('Live-update rules (copy files into the running container).'),
    forwards: z
      .array(forwardEntry)
      .optional()
      .describe(
        'Port-forwards opened by `up` while it watches (and by `devenv forward`): a port on 127.0.0.1 → a Service port of this service\'s manifests, by name or number: "8080:http", "9229" (the same port), "8080:web:http" or { local, service, port } to name the Service when there are several. Each connection goes to a ready pod at that moment, so forwards survive pod restarts, rollouts and reloads.',
      ),
    dependsOn: z
      .array(dnsLabel)
      .optional()
      .describe(
        'Services (by name) that must be ready before this one rolls out: their workloads rolled out and their pre-deploy Jobs completed. On up and prerelease up; services that depend on nothing deploy in parallel. A cycle is an error.',
      ),
  })
  .describe('A service built from source and deployed from its manifests.');

const cluster = z
  .strictObject({
    config: relPath
      .default('k3d/cluster.yaml')
      .describe('Path to the k3d config (k3d.io/v1alpha5, kind Simple).'),
    servers: z.number().int().min(1).max(3).default(1).describe('k3s servers (production: 1).'),
    agents: z.number().int().min(0).max(5).default(2).describe('k3s agents (production: 2).'),
    httpPort: hostPort.default(80).describe('Host port of the ingress (HTTP).'),
    httpsPort: hostPort.default(443).describe('Host port of the ingress (HTTPS).'),
    registryPort: hostPort.default(5001).describe('Host port of the local image registry.'),
    ingress: z
      .enum(['traefik', 'none'])
      .default('traefik')
      .describe(
        "Ingress controller devenv installs in its k3d cluster: traefik (Traefik v3, serving class nginx through its ingress-nginx annotations provider, and class traefik), or none (the project's manifests bring their own). Not installed into an allow-listed existing cluster unless cluster.ingressOnExistingCluster.",
      ),
    ingressImage: z
      .string()
      .min(1)
      .default(TRAEFIK_DEFAULT_IMAGE)
      .describe(
        'Image of the Traefik ingress controller (a mirror, an offline copy, another v3 release; v3.6 or later for the ingress-nginx provider).',
      ),
    ingressOnExistingCluster: z
      .boolean()
      .default(false)
      .describe(
        "Also install the ingress controller (cluster.ingress) into an allow-listed existing cluster (--context), listening on its nodes' cluster.httpPort and cluster.httpsPort. Off by default: an existing cluster's ingress is its owner's to choose.",
      ),
    expose: z
      .enum(['localhost', 'lan'])
      .default('localhost')
      .describe(
        'Where the cluster publishes its ingress (HTTP, HTTPS, TLS passthrough) on this machine. localhost: 127.0.0.1 only; lan: every interface, so another device on the network (a phone testing the site) reaches the dev apps, and so does anyone else on that network. The registry and the Kubernetes API stay on 127.0.0.1 either way. k3d fixes the bindings when it creates the cluster: after a change, recreate it (k3d cluster delete <project>, then up; data volumes stay).',
      ),
    dataHost: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Address pods of an allow-listed (non-k3d) cluster use to reach the data services published on this machine. Default: its first non-loopback IPv4.',
      ),
    allowContexts: z
      .array(z.string().min(1))
      .default([])
      .describe('Kube contexts other than the devenv-owned k3d one that dev deploys may target.'),
  })
  .describe('The local k3d cluster.');

const database = z
  .strictObject({
    engine: z.enum(['postgres', 'mysql']).describe('Database engine, as in production.'),
    version: z
      .union([z.string(), z.number()])
      .transform(String)
      .optional()
      .describe('Engine version (image tag). Default: 16 for postgres, 8.4 for mysql.'),
    image: z
      .string()
      .optional()
      .describe('Image override (e.g. a mirror). Default: the official image for engine+version.'),
    compose: relPath
      .optional()
      .describe("A project's own compose file for the database (default: devenv's compose/<engine>.yaml)."),
    port: hostPort.optional().describe('Host port. Default: 5432 for postgres, 3306 for mysql.'),
    databases: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier'))
      .default([]),
    initScripts: z
      .array(relPath)
      .default([])
      .describe('SQL files run once, in order (tracked; never re-run).'),
  })
  .describe('The database that runs OUTSIDE the cluster, as in production.');

const objectStore = z
  .strictObject({
    engine: z
      .enum(OBJECT_STORE_ENGINE_NAMES)
      .default(DEFAULT_OBJECT_STORE_ENGINE)
      .describe(
        `S3-compatible server. ${OBJECT_STORE_ENGINE_NAMES.map((e) => `${e}: ${OBJECT_STORE_ENGINES[e].status}`).join('; ')}. Switching a project that has data needs \`devenv up --switch-object-store\`.`,
      ),
    image: z
      .string()
      .optional()
      .describe(
        `Image override (e.g. a mirror). Default, pinned: ${OBJECT_STORE_ENGINE_NAMES.map((e) => `${e}: ${OBJECT_STORE_ENGINES[e].image}`).join('; ')}.`,
      ),
    compose: relPath
      .optional()
      .describe(
        "A project's own compose file for the object store (default: devenv's compose/<engine>.yaml).",
      ),
    port: hostPort.default(9000).describe('Host port of the S3 API.'),
    consolePort: hostPort
      .default(9001)
      .describe('Host port of the web console (MinIO console, SeaweedFS admin UI).'),
    buckets: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'))
      .default([]),
    seed: z
      .strictObject({ folder: relPath, bucket: z.string().min(3) })
      .optional()
      .describe('A folder uploaded once into a bucket.'),
  })
  .describe('S3-compatible object storage in place of S3 (MinIO or SeaweedFS).');

const tls = z
  .strictObject({
    hosts: z
      .array(
        z.string().superRefine((host, ctx) => {
          const problem = certHostProblem(host);
          if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid DNS name: ${problem}` });
        }),
      )
      .min(1, 'needs at least one host name')
      .describe('DNS names on the certificate.'),
    service: dnsLabel.describe(
      'The service that terminates TLS itself (ingress passes the connection through).',
    ),
    port: hostPort
      .default(8443)
      .describe('Host port that reaches the service TLS port directly (passthrough).'),
    targetPort: hostPort.default(8443).describe('The TLS port the service listens on inside the cluster.'),
    secretName: dnsLabel.default('devenv-tls').describe('Name of the kubernetes.io/tls Secret.'),
  })
  .describe('Self-signed TLS for a service that terminates TLS itself (e.g. a secure WebSocket chat).');

const prerelease = z
  .strictObject({
    context: z.string().min(1).optional().describe('Kube context of the shared cluster.'),
    namespacePrefix: dnsLabel
      .default('prerelease')
      .describe('Namespaces are <prefix>-<name>; gc only ever touches these.'),
    ttl: duration.default('12h').describe('Lifetime of a prerelease namespace.'),
    window: z
      .string()
      .regex(
        /^\d\d:\d\d-\d\d:\d\d( [A-Za-z_]+(\/[A-Za-z_+-]+)*)?$/,
        'must look like "22:00-06:00 Europe/Warsaw"',
      )
      .optional()
      .describe('Quiet window during which `prerelease up` may run, e.g. "22:00-06:00 Europe/Warsaw".'),
    ingressDomain: z
      .string()
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        'must be a DNS domain such as "prerelease.example.com"',
      )
      .optional()
      .describe(
        'Domain for prerelease Ingress hosts: each host becomes <first label>-<namespace>.<domain> (point a wildcard DNS record at the ingress controller). Unset: Ingresses are not applied, so a prerelease never claims a production host on the shared cluster.',
      ),
    database: z
      .enum(['shared', 'ephemeral'])
      .default('shared')
      .describe(
        'shared: a database + user per prerelease on the server of DEVENV_PRERELEASE_DATABASE_URL; ephemeral: a server from the database compose file, inside the namespace.',
      ),
  })
  .describe('Nightly prerelease namespaces on the shared cluster.');

export const configSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe('Config format version.'),
    project: dnsLabel.describe('Project name: names the cluster, containers, volumes and labels.'),
    cluster: cluster.prefault({}),
    // prefault, not default: the JSON Schema drops a default whose items transform (forwards).
    services: z.array(service).prefault([]),
    database: database.optional(),
    objectStore: objectStore.optional(),
    tls: tls.optional(),
    prerelease: prerelease.prefault({}),
  })
  .describe('devenv project configuration (devenv.yaml).');

export type Config = z.output<typeof configSchema>;
export type ServiceConfig = Config['services'][number];
export type DatabaseConfig = NonNullable<Config['database']>;
export type ObjectStoreConfig = NonNullable<Config['objectStore']>;
export type TlsConfig = NonNullable<Config['tls']>;
export type PrereleaseConfig = Config['prerelease'];

/**
 * Port-forward planning (pure): each `services[].forwards` entry resolved against the
 * service's RENDERED manifests to one Service and one of its ports, before anything is
 * created. A Service or port that is not there is bad input naming the object and the
 * entry's `file:line:col`.
 *
 * Which Service: the one the entry names; else the service's only Service; else, among
 * several, the only one that has the port. Otherwise the entry must name it
 * ("8080:web:http").
 *
 * Pure but for `resolveForwards`, which reads devenv.yaml's text for the positions, and
 * `openForwards`, which opens them through kube/portforward.ts.
 */
import type { LoadedConfig } from '../config/load.ts';
import type { Config, ForwardConfig } from '../config/schema.ts';
import { suggest } from '../config/zod-issues.ts';
import { badInput } from '../errors.ts';
import { type EventSink, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject, SourceDoc } from '../manifests/types.ts';
import type { HostPortNeed } from './ports.ts';

export interface ForwardPlan {
  /** The devenv service whose entry this is. */
  service: string;
  local: number;
  namespace: string;
  /** The Kubernetes Service. */
  serviceName: string;
  /** The Service port: name ('' when unnamed), number, targetPort. */
  port: { name: string; port: number; targetPort: number | string };
  selector?: Record<string, string>;
  /** The config key, e.g. "services[0].forwards[1]". */
  configKey: string;
}

interface ServiceObject extends KubeObject {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>;
  };
}

/**
 * How an entry is named in a message: `file:line:col: services[0].forwards[1]` for
 * devenv.yaml (engine/preflight.ts's yamlWhere), `argument "8080:http"` for the command line.
 */
export type Where = (service: number, entry: number) => string;

/**
 * Every forward of the config, resolved; `objects` are each service's rendered objects.
 * Returns the plans, and one problem line per entry that does not resolve.
 */
export function planForwards(
  config: Config,
  objects: ReadonlyMap<string, readonly KubeObject[]>,
  where: Where,
): { plans: ForwardPlan[]; problems: string[] } {
  const plans: ForwardPlan[] = [];
  const problems: string[] = [];
  config.services.forEach((svc, i) => {
    const services = (objects.get(svc.name) ?? []).filter(
      (o): o is ServiceObject => o.kind === 'Service' && o.apiVersion === 'v1',
    );
    (svc.forwards ?? []).forEach((f, j) => {
      const at = where(i, j);
      const chosen = chooseService(svc.name, services, f, at);
      const r =
        typeof chosen === 'string'
          ? chosen
          : planOnService(config.project, svc.name, chosen, f, at, `services[${i}].forwards[${j}]`);
      if (typeof r === 'string') problems.push(r);
      else plans.push(r);
    });
  });
  return { plans, problems };
}

/** The Service entry `f` of `service` goes to (named; the only one; the only one with the port), or its problem line. */
function chooseService(
  service: string,
  services: readonly ServiceObject[],
  f: ForwardConfig,
  at: string,
): ServiceObject | string {
  if (f.service) {
    const chosen = services.find((s) => s.metadata.name === f.service);
    if (chosen) return chosen;
    const names = services.map((s) => s.metadata.name);
    const guess = suggest(f.service, names);
    return `${at}: service "${service}" renders no Service "${f.service}"${guess ? ` (did you mean "${guess}"?)` : ''}; ${names.length ? `its Services: ${names.join(', ')}` : 'its manifests have no Service'}`;
  }
  if (services.length === 0)
    return `${at}: the manifests of service "${service}" render no Service to forward to (a forward goes to a Service port)`;
  if (services.length === 1) return services[0] as ServiceObject;
  const with_ = services.filter((s) => findPort(s, f.port) !== undefined);
  if (with_.length === 1) return with_[0] as ServiceObject;
  const names = (with_.length ? with_ : services).map((s) => s.metadata.name);
  return `${at}: service "${service}" renders ${with_.length ? `${with_.length} Services with port ${JSON.stringify(f.port)}` : `${services.length} Services`} (${names.join(', ')}); name one, e.g. "${f.local}:${names[0]}:${f.port}"`;
}

/** The plan of entry `f` on Service `s`, or its problem line (no such port, no selector, not TCP). */
function planOnService(
  project: string,
  service: string,
  s: ServiceObject,
  f: ForwardConfig,
  at: string,
  configKey: string,
): ForwardPlan | string {
  const portText = JSON.stringify(f.port);
  const id = `Service ${s.metadata.namespace ?? project}/${s.metadata.name}`;
  const port = findPort(s, f.port);
  if (!port) {
    const ports = (s.spec?.ports ?? []).map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port)));
    const guess =
      typeof f.port === 'string'
        ? suggest(
            f.port,
            (s.spec?.ports ?? []).flatMap((p) => (p.name ? [p.name] : [])),
          )
        : undefined;
    return `${at}: ${id} has no port ${portText}${guess ? ` (did you mean "${guess}"?)` : ''}; its ports: ${ports.join(', ') || 'none'}`;
  }
  if (s.spec?.type === 'ExternalName' || !s.spec?.selector || Object.keys(s.spec.selector).length === 0)
    return `${at}: ${id} has no selector, so no pods to forward to (a forward reaches the pods behind a Service's selector)`;
  if ((port.protocol ?? 'TCP') !== 'TCP')
    return `${at}: ${id} port ${portText} is ${port.protocol}; forwards carry TCP only`;
  return {
    service,
    local: f.local,
    namespace: s.metadata.namespace ?? project,
    serviceName: s.metadata.name,
    port: { name: port.name ?? '', port: port.port, targetPort: port.targetPort ?? port.port },
    selector: s.spec.selector,
    configKey,
  };
}

function findPort(s: ServiceObject, want: string | number) {
  return (s.spec?.ports ?? []).find((p) => (typeof want === 'number' ? p.port === want : p.name === want));
}

/** Throws one bad-input error listing every forward that does not resolve. */
export function assertForwards(result: { plans: ForwardPlan[]; problems: string[] }): ForwardPlan[] {
  const { plans, problems } = result;
  if (problems.length === 1) throw badInput(problems[0] as string);
  if (problems.length > 1) throw badInput(`${problems.length} port-forwards do not resolve:`, problems);
  return plans;
}

/** The local ports the forwards listen on, for the free-port check (engine/ports.ts). */
export function forwardPortNeeds(plans: readonly ForwardPlan[]): HostPortNeed[] {
  return plans.map((p) => ({
    port: p.local,
    what: `forward to ${describeTarget(p)}`,
    configKey: p.configKey,
  }));
}

/** "Service pyapp/web port http (80)". */
export function describeTarget(p: ForwardPlan): string {
  return `Service ${p.namespace}/${p.serviceName} port ${p.port.name ? `${p.port.name} (${p.port.port})` : p.port.port}`;
}

/** One line per forward: "127.0.0.1:8080 → Service pyapp/web port http (80)  (web)". */
export function forwardLine(p: ForwardPlan): string {
  return `127.0.0.1:${p.local} → ${describeTarget(p)}`;
}

/**
 * The project's forwards resolved against its rendered manifests, or a bad-input error
 * naming each entry that does not resolve. The one I/O: devenv.yaml's text, read for the
 * entries' positions. `docs`: each service's loaded manifests (manifests/load.ts).
 */
export async function resolveForwards(
  loaded: LoadedConfig,
  docs: ReadonlyMap<string, SourceDoc[]>,
  opts: {
    /** Only this service's forwards. */
    only?: string;
    /** In place of its configured forwards (`devenv forward SERVICE PORTS`): each with its argument's text. */
    args?: Array<{ text: string; forward: ForwardConfig }>;
  } = {},
): Promise<ForwardPlan[]> {
  const { only, args } = opts;
  const { config } = loaded;
  if (!args && !config.services.some((s) => (s.forwards ?? []).length > 0 && (!only || s.name === only)))
    return [];
  const { DEV, renderEnvironment } = await import('./render.ts');
  const { yamlWhere } = await import('./preflight-images.ts');
  const { displayPath } = await import('../config/load.ts');
  const { readFileSync } = await import('node:fs');
  const objects = new Map<string, KubeObject[]>();
  for (const svc of config.services) {
    if (only && svc.name !== only) continue;
    const one = new Map([[svc.name, docs.get(svc.name) ?? []]]);
    const rendered = await renderEnvironment(config, DEV, one, {}, { dry: true });
    objects.set(
      svc.name,
      rendered.objects.map((o) => o.object),
    );
  }
  const text = readFileSync(loaded.file, 'utf8');
  const file = displayPath(loaded.file);
  if (args) {
    const scoped = {
      ...config,
      services: config.services.map((s) => ({
        ...s,
        forwards: s.name === only ? args.map((a) => a.forward) : [],
      })),
    };
    const name = (j: number) => `argument "${args[j]?.text}"`;
    const plans = assertForwards(planForwards(scoped, objects, (_i, j) => name(j)));
    return plans.map((p, j) => ({ ...p, configKey: name(j) }));
  }
  const scoped = only
    ? { ...config, services: config.services.map((s) => (s.name === only ? s : { ...s, forwards: [] })) }
    : config;
  return assertForwards(
    planForwards(
      scoped,
      objects,
      (i, j) => `${yamlWhere(text, file, ['services', i, 'forwards', j])}: services[${i}].forwards[${j}]`,
    ),
  );
}

export interface OpenForwards {
  forwards: Array<{ plan: ForwardPlan; forward: import('../kube/portforward.ts').Forward }>;
  close(): Promise<void>;
}

/**
 * Opens every planned forward (kube/portforward.ts) and reports each as a step
 * `forward:<local>`: done once it listens, progress for what its connections meet (no
 * ready pod for a while, a failed connection). A taken local port is bad input naming
 * its holder (as engine/ports.ts words it); the forwards already opened are closed then.
 */
export async function openForwards(
  client: KubeClient,
  plans: readonly ForwardPlan[],
  emit: EventSink,
): Promise<OpenForwards> {
  const { openForward } = await import('../kube/portforward.ts');
  const opened: OpenForwards['forwards'] = [];
  const close = async () => {
    await Promise.all(opened.map((o) => o.forward.close()));
  };
  try {
    for (const plan of plans) {
      const id = `forward:${plan.local}`;
      const forward = await step(emit, id, `forward ${forwardLine(plan)}`, async () => {
        try {
          return await openForward(
            client,
            {
              namespace: plan.namespace,
              service: plan.serviceName,
              port: plan.port,
              ...(plan.selector ? { selector: plan.selector } : {}),
              local: plan.local,
            },
            {
              onNotice: (text) => emit({ type: 'step', id, phase: 'progress', detail: text }),
            },
          );
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
          const { describePortHolder } = await import('../net/ports.ts');
          const { publishedPorts } = await import('../docker/engine.ts');
          const holder = describePortHolder(plan.local, await publishedPorts().catch(() => []));
          throw badInput(
            `local port ${plan.local} (${plan.configKey}) is already in use by ${holder.text}: pick another local port, or stop that ${holder.kind}.`,
          );
        }
      });
      opened.push({ plan, forward });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { forwards: opened, close };
}

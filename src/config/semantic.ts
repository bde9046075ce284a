/**
 * Cross-field rules of devenv.yaml that the schema cannot express: unique service names and
 * images, references between services (tls.service, dependsOn, no dependency cycle), files
 * and folders that must exist, host ports used twice, the prerelease window's times and
 * time zone. Each problem names the config path it is about; validate.ts locates it.
 *
 * Pure: the only view of the file system is the injected `probe`.
 */
import { findCycle } from './dependencies.ts';
import { formatPath } from './diagnostics.ts';
import type { Config } from './schema.ts';
import { suggest } from './zod-issues.ts';

export type PathKind = 'file' | 'dir' | 'missing';

/** How validation sees the project's files: the kind of a path relative to the config's directory. */
export interface PathProbe {
  kind(relPath: string): PathKind;
}

export interface Problem {
  path: PropertyKey[];
  /** Point at this key of the object at `path` rather than at its value. */
  key?: string;
  message: string;
}

type Service = Config['services'][number];

/** The problems found so far, and the check every file reference goes through. */
interface Found {
  problems: Problem[];
  probe: PathProbe;
  /** Records a problem unless `rel` exists (and is of `kind`). */
  mustBe(path: PropertyKey[], rel: string, kind: 'file' | 'dir' | 'any', what: string): void;
}

/** Cross-field rules the schema cannot express: uniqueness, references, files that must exist. */
export function semanticProblems(config: Config, probe: PathProbe): Problem[] {
  const problems: Problem[] = [];
  const mustBe: Found['mustBe'] = (path, rel, kind, what) => {
    const k = probe.kind(rel);
    if (k === 'missing')
      problems.push({ path, message: `${what} "${rel}" does not exist (paths are relative to devenv.yaml)` });
    else if (kind !== 'any' && k !== kind)
      problems.push({ path, message: `${what} "${rel}" must be a ${kind === 'dir' ? 'directory' : 'file'}` });
  };
  const found: Found = { problems, probe, mustBe };
  /** The first index of each service name, and of each image repository. */
  const seen = new Map<string, number>();
  const images = new Map<string, number>();
  config.services.forEach((svc, i) => {
    uniqueNames(config, svc, i, seen, images, found);
    serviceFiles(svc, i, found);
  });
  dataFiles(config, found);
  if (config.tls && !seen.has(config.tls.service)) {
    problems.push({
      path: ['tls', 'service'],
      message: `tls.service "${config.tls.service}" is not a service of this project${orOneOf(config.tls.service, [...seen.keys()])}`,
    });
  }
  dependencies(config, seen, found);
  hostPorts(config, found);
  prereleaseWindow(config, found);
  return problems;
}

/** A service name or image repository used before (the later one is the problem). */
function uniqueNames(
  config: Config,
  svc: Service,
  i: number,
  seen: Map<string, number>,
  images: Map<string, number>,
  { problems }: Found,
): void {
  const first = seen.get(svc.name);
  if (first !== undefined) {
    problems.push({
      path: ['services', i, 'name'],
      message: `duplicate service name "${svc.name}" (first defined in services[${first}])`,
    });
  } else seen.set(svc.name, i);
  const image = svc.image ?? `${config.project}/${svc.name}`;
  const firstImage = images.get(image);
  if (firstImage !== undefined) {
    problems.push({
      path: ['services', i, 'image'],
      message: `image "${image}" is already used by services[${firstImage}]`,
    });
  } else images.set(image, i);
}

/** A service's build context and Dockerfile, manifests, charts and values files, watch paths. */
function serviceFiles(svc: Service, i: number, found: Found): void {
  const { problems, probe, mustBe } = found;
  const ctxKind = probe.kind(svc.context);
  if (ctxKind !== 'dir') {
    problems.push({
      path: ['services', i, 'context'],
      message: `build context "${svc.context}" of service "${svc.name}" ${ctxKind === 'missing' ? 'does not exist' : 'is not a directory'} (paths are relative to devenv.yaml)`,
    });
  } else {
    mustBe(
      ['services', i, 'dockerfile'],
      joinRel(svc.context, svc.dockerfile),
      'file',
      `Dockerfile of service "${svc.name}"`,
    );
  }
  for (const [j, m] of svc.manifests.entries()) {
    if (typeof m === 'string') {
      mustBe(['services', i, 'manifests', j], m, 'any', `manifests of service "${svc.name}"`);
      continue;
    }
    const at = ['services', i, 'manifests', j];
    const remote = m.repo !== undefined || m.chart.startsWith('oci://');
    const chartKind = remote ? 'dir' : probe.kind(m.chart);
    if (remote) {
      // Fetched by helm from its repository or registry when rendered.
    } else if (chartKind !== 'dir')
      problems.push({
        path: [...at, 'chart'],
        message: `chart of service "${svc.name}" "${m.chart}" ${chartKind === 'missing' ? 'does not exist' : 'is not a directory'} (paths are relative to devenv.yaml)`,
      });
    else if (probe.kind(joinRel(m.chart, 'Chart.yaml')) !== 'file')
      problems.push({
        path: [...at, 'chart'],
        message: `chart of service "${svc.name}" "${m.chart}" has no Chart.yaml (a local Helm chart folder is expected)`,
      });
    for (const [k, v] of m.values.entries())
      mustBe([...at, 'values', k], v, 'file', `values file of service "${svc.name}"`);
  }
  for (const [j, w] of svc.watch.entries()) mustBe(['services', i, 'watch', j], w, 'any', 'watch path');
}

/** The database's init scripts and compose file, the object store's seed folder and compose file. */
function dataFiles(config: Config, { mustBe }: Found): void {
  if (config.database) {
    for (const [j, s] of config.database.initScripts.entries()) {
      mustBe(['database', 'initScripts', j], s, 'file', 'init script');
    }
    if (config.database.compose)
      mustBe(['database', 'compose'], config.database.compose, 'file', 'compose file');
  }
  if (config.objectStore) {
    if (config.objectStore.seed)
      mustBe(['objectStore', 'seed', 'folder'], config.objectStore.seed.folder, 'dir', 'seed folder');
    if (config.objectStore.compose)
      mustBe(['objectStore', 'compose'], config.objectStore.compose, 'file', 'compose file');
  }
}

/** ` (did you mean "x"?)`, else ` (services: a, b)`, else nothing: the tail of an unknown-service message. */
function orOneOf(name: string, names: readonly string[]): string {
  const guess = suggest(name, names);
  if (guess) return ` (did you mean "${guess}"?)`;
  return names.length ? ` (services: ${names.join(', ')})` : '';
}

/** dependsOn: names of services of this project, and no cycle (deploy order, engine/order.ts). */
function dependencies(config: Config, seen: ReadonlyMap<string, number>, { problems }: Found): void {
  config.services.forEach((svc, i) => {
    for (const [j, d] of (svc.dependsOn ?? []).entries()) {
      if (seen.has(d)) continue;
      const names = [...seen.keys()].filter((n) => n !== svc.name);
      problems.push({
        path: ['services', i, 'dependsOn', j],
        message: `services[${i}].dependsOn: "${d}" is not a service of this project${orOneOf(d, names)}`,
      });
    }
  });
  const cycle = findCycle(config.services.map((s) => ({ name: s.name, dependsOn: s.dependsOn ?? [] })));
  if (cycle) {
    // Pointed at the entry that closes the cycle: the last service's dependency on the first.
    const [last, first] = [cycle.at(-2)!, cycle.at(-1)!];
    const i = config.services.findIndex((s) => s.name === last);
    const j = (config.services[i]!.dependsOn ?? []).indexOf(first);
    problems.push({
      path: ['services', i, 'dependsOn', j],
      message: `services[${i}].dependsOn: dependency cycle ${cycle.join(' → ')} (each waits for the next before it rolls out); remove one of these dependencies`,
    });
  }
}

/** Two things cannot listen on one host port: catch it here, before anything starts. */
function hostPorts(config: Config, { problems }: Found): void {
  const ports: Array<[PropertyKey[], number | undefined]> = [
    [['cluster', 'httpPort'], config.cluster.httpPort],
    [['cluster', 'httpsPort'], config.cluster.httpsPort],
    [['cluster', 'registryPort'], config.cluster.registryPort],
    [['database', 'port'], config.database?.port],
    [['objectStore', 'port'], config.objectStore ? config.objectStore.port : undefined],
    [['objectStore', 'consolePort'], config.objectStore ? config.objectStore.consolePort : undefined],
    [['tls', 'port'], config.tls?.port],
    ...config.services.flatMap((svc, i) =>
      (svc.forwards ?? []).map((f, j): [PropertyKey[], number] => [['services', i, 'forwards', j], f.local]),
    ),
  ];
  const byPort = new Map<number, string>();
  for (const [path, port] of ports) {
    if (port === undefined) continue;
    const other = byPort.get(port);
    if (other) problems.push({ path, message: `host port ${port} is already used by ${other}` });
    else byPort.set(port, formatPath(path));
  }
}

/** prerelease.window "HH:MM-HH:MM [zone]": real times of day and a time zone Intl knows. */
function prereleaseWindow(config: Config, { problems }: Found): void {
  const window = config.prerelease.window;
  if (!window) return;
  const tz = window.split(' ')[1];
  const [from, to] = window.split(' ')[0]!.split('-') as [string, string];
  for (const hm of [from, to]) {
    const [h, m] = hm.split(':').map(Number) as [number, number];
    if (h > 23 || m > 59)
      problems.push({
        path: ['prerelease', 'window'],
        message: `prerelease.window: "${hm}" is not a time of day`,
      });
  }
  if (tz && !isTimeZone(tz))
    problems.push({
      path: ['prerelease', 'window'],
      message: `prerelease.window: unknown time zone "${tz}"`,
    });
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function joinRel(a: string, b: string): string {
  if (a === '.' || a === './') return b;
  return `${a.replace(/\/+$/, '')}/${b}`;
}

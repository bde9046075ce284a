/**
 * The compose subset devenv runs itself: text of a standard compose file in, typed
 * services out, or EVERY problem found as `file:line:col: message` (located through the
 * yaml package's source ranges, like config/validate.ts).
 *
 * devenv honours, per service: image, environment, ports, volumes, command, healthcheck;
 * at top level: name, services, volumes. Any other key is refused rather than silently
 * ignored, so a compose file never means something different to devenv than to
 * `docker compose`. Values are interpolated (`${VAR:-default}`) from the variables the
 * caller passes, before they are interpreted, as compose does.
 *
 * Pure: no I/O (bind-mount sources are resolved against `dir`, not checked).
 */
import * as YAML from 'yaml';
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.ts';
import { badInput } from '../errors.ts';
import { type Checker, checker, fmt, isNull, type Path } from './checker.ts';
import type { Vars } from './interpolate.ts';
import { readPorts, readVolumes } from './ports-volumes.ts';
import { type Mount, num, type PortMapping, parseDuration, shellSplit } from './specs.ts';

export const SERVICE_KEYS = ['image', 'environment', 'ports', 'volumes', 'command', 'healthcheck'] as const;
export const TOP_KEYS = ['name', 'services', 'volumes'] as const;
const HEALTH_KEYS = ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'];

export interface Healthcheck {
  /** Docker's form: ["CMD", ...args] | ["CMD-SHELL", "script"] | ["NONE"]. */
  test: string[];
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  startIntervalNs?: number;
  retries?: number;
}

export interface ComposeService {
  name: string;
  image: string;
  environment: Record<string, string>;
  ports: PortMapping[];
  volumes: Mount[];
  command?: string[];
  healthcheck?: Healthcheck;
  where: string;
}

export interface ComposeFile {
  file: string;
  services: ComposeService[];
  /** Named volumes declared at top level. */
  volumes: string[];
  /** Variables referenced without a default and not set (substituted with ""). */
  missingVars: string[];
}

/** Parses and validates; throws a bad-input DevenvError listing every problem. */
export function parseCompose(text: string, file: string, dir: string, vars: Vars): ComposeFile {
  const r = checkCompose(text, file, dir, vars);
  if (!r.ok) {
    const n = r.diagnostics.length;
    throw badInput(
      `${file}: ${n} problem${n === 1 ? '' : 's'} in the compose file; nothing was created.`,
      r.diagnostics.map(formatDiagnostic),
    );
  }
  return r.compose;
}

export type ComposeResult = { ok: true; compose: ComposeFile } | { ok: false; diagnostics: Diagnostic[] };

export function checkCompose(text: string, file: string, dir: string, vars: Vars): ComposeResult {
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return { file, line: pos.line, col: pos.col, message: `invalid YAML: ${first}`, path: '' };
      }),
    };
  }
  const ck = checker(file, dir, vars, lc);
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    ck.at(root, 'a compose file must be a mapping with a "services" key');
    return { ok: false, diagnostics: ck.diags };
  }
  ck.checkKeys(root, TOP_KEYS, [], 'the compose file');
  const declared = topVolumes(root, ck);
  const services: ComposeService[] = [];
  const svcNode = root.get('services', true);
  if (svcNode === undefined) ck.at(root, 'missing required key "services"');
  else if (!YAML.isMap(svcNode) || svcNode.items.length === 0) {
    ck.at(svcNode as YAML.Node, 'services: must be a mapping with at least one service', ['services']);
  } else {
    for (const pair of svcNode.items) {
      const svc = serviceOf(pair, ck, declared);
      if (svc) services.push(svc);
    }
  }
  if (ck.diags.length > 0) {
    ck.diags.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, diagnostics: ck.diags };
  }
  return { ok: true, compose: { file, services, volumes: declared, missingVars: [...ck.missing] } };
}

/** Top-level named volumes: devenv creates them (labelled); options are not supported. */
function topVolumes(root: YAML.YAMLMap, ck: Checker): string[] {
  const declared: string[] = [];
  const volNode = root.get('volumes', true);
  if (volNode === undefined || (YAML.isScalar(volNode) && volNode.value === null)) return declared;
  if (!YAML.isMap(volNode)) {
    ck.at(volNode as YAML.Node, 'volumes: must be a mapping of volume names', ['volumes']);
    return declared;
  }
  for (const pair of volNode.items) {
    const name = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
      ck.at(pair.key as YAML.Node, `volumes: invalid volume name ${JSON.stringify(name)}`, ['volumes']);
      continue;
    }
    declared.push(name);
    const v = pair.value;
    if (isNull(v)) continue;
    if (YAML.isMap(v)) {
      ck.checkKeys(v, [], ['volumes', name], `volumes.${name}`);
      continue;
    }
    ck.at(v as YAML.Node, `volumes.${name}: must be empty (devenv creates and labels the volume)`, [
      'volumes',
      name,
    ]);
  }
  return declared;
}

/** One service: its keys checked, then each key it may have read in turn. */
function serviceOf(pair: YAML.Pair, ck: Checker, declared: readonly string[]): ComposeService | undefined {
  const name = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
  const base: Path = ['services', name];
  const node = pair.value;
  if (!YAML.isMap(node)) {
    ck.at((node ?? pair.key) as YAML.Node, `services.${name}: must be a mapping`, base);
    return undefined;
  }
  ck.checkKeys(node, SERVICE_KEYS, base, `services.${name}`);
  const svc: ComposeService = {
    name,
    image: '',
    environment: {},
    ports: [],
    volumes: [],
    where: ck.whereOf(pair.key as YAML.Node),
  };
  const image = node.get('image', true);
  if (image === undefined)
    ck.at(pair.key as YAML.Node, `services.${name}: missing required key "image"`, base);
  else {
    const v = ck.str(image, [...base, 'image'], 'image');
    if (v !== undefined && v.trim() === '')
      ck.at(image as YAML.Node, `services.${name}.image: is empty after interpolation`, [...base, 'image']);
    svc.image = v?.trim() ?? '';
  }
  readEnvironment(node.get('environment', true), [...base, 'environment'], svc, ck);
  svc.ports = readPorts(node.get('ports', true), [...base, 'ports'], name, ck);
  svc.volumes = readVolumes(node.get('volumes', true), [...base, 'volumes'], name, ck, declared);
  readCommand(node.get('command', true), [...base, 'command'], svc, ck);
  const hc = node.get('healthcheck', true);
  const hcPath = [...base, 'healthcheck'];
  if (YAML.isMap(hc)) svc.healthcheck = readHealthcheck(hc, hcPath, ck);
  else if (hc !== undefined) ck.at(hc as YAML.Node, `${fmt(hcPath)}: must be a mapping`, hcPath);
  return svc;
}

/** environment: a mapping, or a list of "KEY=value" / "KEY" (KEY alone = from the variables). */
function readEnvironment(env: unknown, envPath: Path, svc: ComposeService, ck: Checker): void {
  if (YAML.isMap(env)) {
    for (const p of env.items) {
      const k = YAML.isScalar(p.key) ? String(p.key.value) : '';
      if (isNull(p.value)) {
        const from = ck.vars[k];
        if (from !== undefined) svc.environment[k] = from;
        continue;
      }
      const v = ck.str(p.value, [...envPath, k], 'an environment value');
      if (v !== undefined) svc.environment[k] = v;
    }
  } else if (YAML.isSeq(env)) {
    env.items.forEach((item, i) => {
      const v = ck.str(item, [...envPath, i], 'an environment entry');
      if (v === undefined) return;
      const eq = v.indexOf('=');
      if (eq < 0) {
        const from = ck.vars[v];
        if (from !== undefined) svc.environment[v] = from;
      } else svc.environment[v.slice(0, eq)] = v.slice(eq + 1);
    });
  } else if (env !== undefined) {
    ck.at(env as YAML.Node, `services.${svc.name}.environment: must be a mapping or a list`, envPath);
  }
}

/** command: a list of arguments, or a string split into words as a shell would. */
function readCommand(cmd: unknown, cmdPath: Path, svc: ComposeService, ck: Checker): void {
  if (YAML.isSeq(cmd)) {
    const out: string[] = [];
    cmd.items.forEach((item, i) => {
      const v = ck.str(item, [...cmdPath, i], 'a command argument');
      if (v !== undefined) out.push(v);
    });
    svc.command = out;
  } else if (cmd !== undefined && !(YAML.isScalar(cmd) && cmd.value === null)) {
    const v = ck.str(cmd, cmdPath, 'command');
    if (v !== undefined) {
      const words = shellSplit(v);
      if (typeof words === 'string') ck.at(cmd as YAML.Node, `${fmt(cmdPath)}: ${words}`, cmdPath);
      else svc.command = words;
    }
  }
}

/** healthcheck: test (list or shell string) or disable, durations, retries. */
function readHealthcheck(hc: YAML.YAMLMap, hcPath: Path, ck: Checker): Healthcheck {
  ck.checkKeys(hc, HEALTH_KEYS, hcPath, fmt(hcPath));
  const h: Healthcheck = { test: [] };
  const test = hc.get('test', true);
  const disable = hc.get('disable', true);
  if (YAML.isScalar(disable) && disable.value === true) h.test = ['NONE'];
  else if (YAML.isSeq(test)) {
    test.items.forEach((item, i) => {
      const v = ck.str(item, [...hcPath, 'test', i], 'a test argument');
      if (v !== undefined) h.test.push(v);
    });
    if (!['CMD', 'CMD-SHELL', 'NONE'].includes(h.test[0] ?? ''))
      ck.at(test, `${fmt(hcPath)}.test: a list must start with "CMD", "CMD-SHELL" or "NONE"`, hcPath);
  } else if (test !== undefined) {
    const v = ck.str(test, [...hcPath, 'test'], 'test');
    if (v !== undefined) h.test = ['CMD-SHELL', v];
  } else ck.at(hc, `${fmt(hcPath)}: missing "test"`, hcPath);
  for (const [key, field] of HEALTH_DURATIONS) {
    const n = hc.get(key, true);
    if (n === undefined) continue;
    const v = ck.str(n, [...hcPath, key], key);
    if (v === undefined) continue;
    const ns = parseDuration(v);
    if (ns === undefined)
      ck.at(
        n as YAML.Node,
        `${fmt([...hcPath, key])}: ${JSON.stringify(v)} is not a duration such as "5s" or "1m30s"`,
        [...hcPath, key],
      );
    else h[field] = ns;
  }
  const retries = hc.get('retries', true);
  if (retries !== undefined) {
    const n = num(ck.str(retries, [...hcPath, 'retries'], 'retries'));
    if (n === undefined || n < 0)
      ck.at(retries as YAML.Node, `${fmt(hcPath)}.retries: must be a whole number`, hcPath);
    else h.retries = n;
  }
  return h;
}

/** The duration keys of a healthcheck and the fields they set. */
const HEALTH_DURATIONS = [
  ['interval', 'intervalNs'],
  ['timeout', 'timeoutNs'],
  ['start_period', 'startPeriodNs'],
  ['start_interval', 'startIntervalNs'],
] as const;

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
import { isAbsolute, resolve } from 'node:path';
import * as YAML from 'yaml';
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.ts';
import { suggest } from '../config/validate.ts';
import { badInput } from '../errors.ts';
import { InterpolationError, interpolate, type Vars } from './interpolate.ts';

export const SERVICE_KEYS = ['image', 'environment', 'ports', 'volumes', 'command', 'healthcheck'] as const;
export const TOP_KEYS = ['name', 'services', 'volumes'] as const;
const HEALTH_KEYS = ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'];
const PORT_KEYS = ['target', 'published', 'host_ip', 'protocol'];
const VOLUME_KEYS = ['type', 'source', 'target', 'read_only'];

export interface PortMapping {
  /** Host address to bind; undefined = all interfaces (compose's default). */
  hostIp?: string;
  /** Host port; undefined = an ephemeral port chosen by the engine. */
  hostPort?: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** `file:line:col` of the mapping, for messages. */
  where: string;
}

export type Mount =
  | { type: 'volume'; source?: string; target: string; readOnly: boolean }
  | { type: 'bind'; source: string; target: string; readOnly: boolean };

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

type Path = (string | number)[];

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
  const diags: Diagnostic[] = [];
  const missing = new Set<string>();
  const at = (node: YAML.Node | null | undefined, message: string, path: Path = []): void => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    diags.push({ file, line: pos.line, col: pos.col, message, path: fmt(path) });
  };
  const whereOf = (node: YAML.Node | null | undefined): string => {
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    return `${file}:${pos.line}:${pos.col}`;
  };

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
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    at(root, 'a compose file must be a mapping with a "services" key');
    return { ok: false, diagnostics: diags };
  }

  /** A scalar's string value, interpolated; undefined (and a diagnostic) otherwise. */
  const str = (node: unknown, path: Path, what: string): string | undefined => {
    if (!YAML.isScalar(node) || node.value === null || typeof node.value === 'object') {
      at(node as YAML.Node, `${fmt(path)}: ${what} must be a string`, path);
      return undefined;
    }
    if (typeof node.value !== 'string') return String(node.value);
    try {
      const r = interpolate(node.value, vars);
      for (const m of r.missing) missing.add(m);
      return r.value;
    } catch (err) {
      if (err instanceof InterpolationError) {
        at(node, `${fmt(path)}: ${err.message}`, path);
        return undefined;
      }
      throw err;
    }
  };

  const checkKeys = (map: YAML.YAMLMap, allowed: readonly string[], path: Path, what: string): void => {
    for (const pair of map.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        at(pair.key as YAML.Node, `${what}: keys must be plain strings`, path);
        continue;
      }
      if (!allowed.includes(key)) {
        const guess = suggest(key, allowed);
        at(
          pair.key as YAML.Node,
          `unsupported key "${key}" in ${what}: devenv honours only ${allowed.join(', ')}${guess ? ` (did you mean "${guess}"?)` : ''}`,
          [...path, key],
        );
      }
    }
  };

  checkKeys(root, TOP_KEYS, [], 'the compose file');

  // Top-level named volumes: devenv creates them (labelled); options are not supported.
  const declared: string[] = [];
  const volNode = root.get('volumes', true);
  if (volNode !== undefined && !(YAML.isScalar(volNode) && volNode.value === null)) {
    if (!YAML.isMap(volNode))
      at(volNode as YAML.Node, 'volumes: must be a mapping of volume names', ['volumes']);
    else {
      for (const pair of volNode.items) {
        const name = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
          at(pair.key as YAML.Node, `volumes: invalid volume name ${JSON.stringify(name)}`, ['volumes']);
          continue;
        }
        declared.push(name);
        const v = pair.value;
        if (v === null || (YAML.isScalar(v) && v.value === null)) continue;
        if (YAML.isMap(v)) {
          checkKeys(v, [], ['volumes', name], `volumes.${name}`);
          continue;
        }
        at(v as YAML.Node, `volumes.${name}: must be empty (devenv creates and labels the volume)`, [
          'volumes',
          name,
        ]);
      }
    }
  }

  const services: ComposeService[] = [];
  const svcNode = root.get('services', true);
  if (svcNode === undefined) at(root, 'missing required key "services"');
  else if (!YAML.isMap(svcNode) || svcNode.items.length === 0) {
    at(svcNode as YAML.Node, 'services: must be a mapping with at least one service', ['services']);
  } else {
    for (const pair of svcNode.items) {
      const name = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
      const base: Path = ['services', name];
      const node = pair.value;
      if (!YAML.isMap(node)) {
        at((node ?? pair.key) as YAML.Node, `services.${name}: must be a mapping`, base);
        continue;
      }
      checkKeys(node, SERVICE_KEYS, base, `services.${name}`);
      const svc: ComposeService = {
        name,
        image: '',
        environment: {},
        ports: [],
        volumes: [],
        where: whereOf(pair.key as YAML.Node),
      };

      const image = node.get('image', true);
      if (image === undefined)
        at(pair.key as YAML.Node, `services.${name}: missing required key "image"`, base);
      else {
        const v = str(image, [...base, 'image'], 'image');
        if (v !== undefined && v.trim() === '')
          at(image as YAML.Node, `services.${name}.image: is empty after interpolation`, [...base, 'image']);
        svc.image = v?.trim() ?? '';
      }

      // environment: a mapping, or a list of "KEY=value" / "KEY" (KEY alone = from the variables).
      const env = node.get('environment', true);
      const envPath = [...base, 'environment'];
      if (YAML.isMap(env)) {
        for (const p of env.items) {
          const k = YAML.isScalar(p.key) ? String(p.key.value) : '';
          if (p.value === null || (YAML.isScalar(p.value) && p.value.value === null)) {
            const from = vars[k];
            if (from !== undefined) svc.environment[k] = from;
            continue;
          }
          const v = str(p.value, [...envPath, k], 'an environment value');
          if (v !== undefined) svc.environment[k] = v;
        }
      } else if (YAML.isSeq(env)) {
        env.items.forEach((item, i) => {
          const v = str(item, [...envPath, i], 'an environment entry');
          if (v === undefined) return;
          const eq = v.indexOf('=');
          if (eq < 0) {
            const from = vars[v];
            if (from !== undefined) svc.environment[v] = from;
          } else svc.environment[v.slice(0, eq)] = v.slice(eq + 1);
        });
      } else if (env !== undefined) {
        at(env as YAML.Node, `services.${name}.environment: must be a mapping or a list`, envPath);
      }

      const ports = node.get('ports', true);
      const portsPath = [...base, 'ports'];
      if (YAML.isSeq(ports)) {
        ports.items.forEach((item, i) => {
          const p = [...portsPath, i];
          if (YAML.isMap(item)) {
            checkKeys(item, PORT_KEYS, p, `${fmt(p)}`);
            const target = num(str(item.get('target', true), [...p, 'target'], 'target'));
            const pub = item.get('published', true);
            const published = pub === undefined ? undefined : num(str(pub, [...p, 'published'], 'published'));
            const ipNode = item.get('host_ip', true);
            const hostIp = ipNode === undefined ? undefined : str(ipNode, [...p, 'host_ip'], 'host_ip');
            const protoNode = item.get('protocol', true);
            const proto = protoNode === undefined ? 'tcp' : str(protoNode, [...p, 'protocol'], 'protocol');
            if (!validPort(target)) at(item, `${fmt(p)}: "target" must be a port number (1-65535)`, p);
            else if (published !== undefined && !validPort(published))
              at(pub as YAML.Node, `${fmt(p)}: "published" must be a port number (1-65535)`, p);
            else if (proto !== 'tcp' && proto !== 'udp')
              at(protoNode as YAML.Node, `${fmt(p)}: protocol must be "tcp" or "udp"`, p);
            else {
              svc.ports.push({
                ...(hostIp ? { hostIp } : {}),
                ...(published !== undefined ? { hostPort: published } : {}),
                containerPort: target,
                protocol: proto,
                where: whereOf(item),
              });
            }
            return;
          }
          const v = str(item, p, 'a port mapping');
          if (v === undefined) return;
          const parsed = parsePortSpec(v);
          if (typeof parsed === 'string') at(item as YAML.Node, `${fmt(p)}: ${parsed}`, p);
          else svc.ports.push({ ...parsed, where: whereOf(item as YAML.Node) });
        });
      } else if (ports !== undefined) {
        at(ports as YAML.Node, `services.${name}.ports: must be a list`, portsPath);
      }

      const vols = node.get('volumes', true);
      const volsPath = [...base, 'volumes'];
      if (YAML.isSeq(vols)) {
        vols.items.forEach((item, i) => {
          const p = [...volsPath, i];
          let m: Mount | string;
          if (YAML.isMap(item)) {
            checkKeys(item, VOLUME_KEYS, p, fmt(p));
            const type = str(item.get('type', true) ?? new YAML.Scalar('volume'), [...p, 'type'], 'type');
            const srcNode = item.get('source', true);
            const source = srcNode === undefined ? undefined : str(srcNode, [...p, 'source'], 'source');
            const target = str(item.get('target', true), [...p, 'target'], 'target');
            const roNode = item.get('read_only', true);
            const readOnly = YAML.isScalar(roNode) ? roNode.value === true || roNode.value === 'true' : false;
            m =
              target === undefined
                ? 'needs a "target"'
                : type === 'volume'
                  ? { type: 'volume', ...(source ? { source } : {}), target, readOnly }
                  : type === 'bind'
                    ? source
                      ? { type: 'bind', source: resolve(dir, source), target, readOnly }
                      : 'a bind mount needs a "source"'
                    : `type ${JSON.stringify(type)} is not supported (use "volume" or "bind")`;
          } else {
            const v = str(item, p, 'a volume');
            if (v === undefined) return;
            m = parseVolumeSpec(v, dir);
          }
          if (typeof m === 'string') at(item as YAML.Node, `${fmt(p)}: ${m}`, p);
          else if (!m.target.startsWith('/'))
            at(item as YAML.Node, `${fmt(p)}: the target must be an absolute path in the container`, p);
          else if (m.type === 'volume' && m.source && !declared.includes(m.source))
            at(
              item as YAML.Node,
              `${fmt(p)}: named volume "${m.source}" is not declared under the top-level "volumes" key`,
              p,
            );
          else svc.volumes.push(m);
        });
      } else if (vols !== undefined) {
        at(vols as YAML.Node, `services.${name}.volumes: must be a list`, volsPath);
      }

      const cmd = node.get('command', true);
      const cmdPath = [...base, 'command'];
      if (YAML.isSeq(cmd)) {
        const out: string[] = [];
        cmd.items.forEach((item, i) => {
          const v = str(item, [...cmdPath, i], 'a command argument');
          if (v !== undefined) out.push(v);
        });
        svc.command = out;
      } else if (cmd !== undefined && !(YAML.isScalar(cmd) && cmd.value === null)) {
        const v = str(cmd, cmdPath, 'command');
        if (v !== undefined) {
          const words = shellSplit(v);
          if (typeof words === 'string') at(cmd as YAML.Node, `${fmt(cmdPath)}: ${words}`, cmdPath);
          else svc.command = words;
        }
      }

      const hc = node.get('healthcheck', true);
      const hcPath = [...base, 'healthcheck'];
      if (YAML.isMap(hc)) {
        checkKeys(hc, HEALTH_KEYS, hcPath, fmt(hcPath));
        const h: Healthcheck = { test: [] };
        const test = hc.get('test', true);
        const disable = hc.get('disable', true);
        if (YAML.isScalar(disable) && disable.value === true) h.test = ['NONE'];
        else if (YAML.isSeq(test)) {
          test.items.forEach((item, i) => {
            const v = str(item, [...hcPath, 'test', i], 'a test argument');
            if (v !== undefined) h.test.push(v);
          });
          if (!['CMD', 'CMD-SHELL', 'NONE'].includes(h.test[0] ?? ''))
            at(test, `${fmt(hcPath)}.test: a list must start with "CMD", "CMD-SHELL" or "NONE"`, hcPath);
        } else if (test !== undefined) {
          const v = str(test, [...hcPath, 'test'], 'test');
          if (v !== undefined) h.test = ['CMD-SHELL', v];
        } else at(hc, `${fmt(hcPath)}: missing "test"`, hcPath);
        for (const [key, field] of [
          ['interval', 'intervalNs'],
          ['timeout', 'timeoutNs'],
          ['start_period', 'startPeriodNs'],
          ['start_interval', 'startIntervalNs'],
        ] as const) {
          const n = hc.get(key, true);
          if (n === undefined) continue;
          const v = str(n, [...hcPath, key], key);
          if (v === undefined) continue;
          const ns = parseDuration(v);
          if (ns === undefined)
            at(
              n as YAML.Node,
              `${fmt([...hcPath, key])}: ${JSON.stringify(v)} is not a duration such as "5s" or "1m30s"`,
              [...hcPath, key],
            );
          else h[field] = ns;
        }
        const retries = hc.get('retries', true);
        if (retries !== undefined) {
          const n = num(str(retries, [...hcPath, 'retries'], 'retries'));
          if (n === undefined || n < 0)
            at(retries as YAML.Node, `${fmt(hcPath)}.retries: must be a whole number`, hcPath);
          else h.retries = n;
        }
        svc.healthcheck = h;
      } else if (hc !== undefined) {
        at(hc as YAML.Node, `${fmt(hcPath)}: must be a mapping`, hcPath);
      }
      services.push(svc);
    }
  }

  if (diags.length > 0) {
    diags.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, diagnostics: diags };
  }
  return { ok: true, compose: { file, services, volumes: declared, missingVars: [...missing] } };
}

function fmt(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

function validPort(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Short port syntax: `[[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]`. Ranges are not supported. */
export function parsePortSpec(spec: string): Omit<PortMapping, 'where'> | string {
  let s = spec.trim();
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') return `protocol ${JSON.stringify(p)} is not supported (tcp or udp)`;
    protocol = p;
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return `invalid port mapping ${JSON.stringify(spec)}`;
    hostIp = s.slice(1, end);
    s = s.slice(end + 2);
  }
  const parts = s.split(':');
  if (parts.length > 3 || (hostIp !== undefined && parts.length > 2))
    return `invalid port mapping ${JSON.stringify(spec)}`;
  if (parts.length === 3) hostIp = parts.shift();
  if (parts.some((p) => p.includes('-'))) return `port ranges are not supported (${JSON.stringify(spec)})`;
  const container = num(parts[parts.length - 1]);
  const host = parts.length === 2 ? parts[0] : undefined;
  if (!validPort(container)) return `invalid container port in ${JSON.stringify(spec)}`;
  let hostPort: number | undefined;
  if (host !== undefined && host !== '') {
    hostPort = num(host);
    if (!validPort(hostPort)) return `invalid host port in ${JSON.stringify(spec)}`;
  }
  return {
    ...(hostIp ? { hostIp } : {}),
    ...(hostPort !== undefined ? { hostPort } : {}),
    containerPort: container,
    protocol,
  };
}

/** Short volume syntax: `[SOURCE:]TARGET[:MODE]`; a SOURCE starting with "/", "." or "~" is a bind mount. */
export function parseVolumeSpec(spec: string, dir: string): Mount | string {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === ''))
    return `invalid volume ${JSON.stringify(spec)} (use SOURCE:TARGET[:ro])`;
  let mode = 'rw';
  if (parts.length === 3 || (parts.length === 2 && !parts[1]!.startsWith('/'))) mode = parts.pop()!;
  if (mode !== 'ro' && mode !== 'rw')
    return `volume mode ${JSON.stringify(mode)} is not supported (ro or rw)`;
  const readOnly = mode === 'ro';
  if (parts.length === 1) return { type: 'volume', target: parts[0]!, readOnly };
  const [source, target] = parts as [string, string];
  if (source.startsWith('/') || source.startsWith('.') || source.startsWith('~')) {
    if (source.startsWith('~'))
      return 'bind mounts from "~" are not supported; use a path relative to the compose file';
    return { type: 'bind', source: isAbsolute(source) ? source : resolve(dir, source), target, readOnly };
  }
  return { type: 'volume', source, target, readOnly };
}

/** Compose-style durations ("1m30s", "500ms", "2s") in nanoseconds. */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let pos = 0;
  const t = s.trim();
  if (t === '') return undefined;
  if (t === '0') return 0;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) break;
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === t.length ? Math.round(total) : undefined;
}

/** POSIX-shell-like word splitting (quotes and backslashes), as compose splits a string command. */
export function shellSplit(s: string): string[] | string {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return `unterminated ${quote} quote in ${JSON.stringify(s)}`;
  if (inWord) out.push(cur);
  return out;
}

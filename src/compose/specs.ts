/**
 * The short forms of compose values devenv reads: port mappings, volume mounts, durations
 * and string commands, each parsed as `docker compose` parses it; a string result is the
 * problem, said for a diagnostic.
 *
 * Pure: no I/O (bind-mount sources are resolved against `dir`, not checked).
 */
import { isAbsolute, resolve } from 'node:path';

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

/** A whole number written as digits only, else undefined. */
export function num(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

export function validPort(n: number | undefined): n is number {
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

/**
 * A compose service's `ports` and `volumes`: each entry in its short form ("8080:80/tcp",
 * "data:/var/lib/x:ro") or its long form (a mapping), checked with `file:line:col`
 * diagnostics; named volumes must be declared at top level.
 *
 * Pure: no I/O (bind-mount sources are resolved against the compose file's folder, not checked).
 */
import { resolve } from 'node:path';
import * as YAML from 'yaml';
import { type Checker, fmt, type Path } from './checker.ts';
import { type Mount, num, type PortMapping, parsePortSpec, parseVolumeSpec, validPort } from './specs.ts';

const PORT_KEYS = ['target', 'published', 'host_ip', 'protocol'];
const VOLUME_KEYS = ['type', 'source', 'target', 'read_only'];

/** ports: a list of short ("8080:80/tcp") or long ({target, published, host_ip, protocol}) mappings. */
export function readPorts(ports: unknown, portsPath: Path, service: string, ck: Checker): PortMapping[] {
  const out: PortMapping[] = [];
  if (!YAML.isSeq(ports)) {
    if (ports !== undefined)
      ck.at(ports as YAML.Node, `services.${service}.ports: must be a list`, portsPath);
    return out;
  }
  ports.items.forEach((item, i) => {
    const p = [...portsPath, i];
    if (YAML.isMap(item)) {
      const m = longPort(item, p, ck);
      if (m) out.push(m);
      return;
    }
    const v = ck.str(item, p, 'a port mapping');
    if (v === undefined) return;
    const parsed = parsePortSpec(v);
    if (typeof parsed === 'string') ck.at(item as YAML.Node, `${fmt(p)}: ${parsed}`, p);
    else out.push({ ...parsed, where: ck.whereOf(item as YAML.Node) });
  });
  return out;
}

function longPort(item: YAML.YAMLMap, p: Path, ck: Checker): PortMapping | undefined {
  ck.checkKeys(item, PORT_KEYS, p, `${fmt(p)}`);
  const target = num(ck.str(item.get('target', true), [...p, 'target'], 'target'));
  const pub = item.get('published', true);
  const published = pub === undefined ? undefined : num(ck.str(pub, [...p, 'published'], 'published'));
  const ipNode = item.get('host_ip', true);
  const hostIp = ipNode === undefined ? undefined : ck.str(ipNode, [...p, 'host_ip'], 'host_ip');
  const protoNode = item.get('protocol', true);
  const proto = protoNode === undefined ? 'tcp' : ck.str(protoNode, [...p, 'protocol'], 'protocol');
  if (!validPort(target)) ck.at(item, `${fmt(p)}: "target" must be a port number (1-65535)`, p);
  else if (published !== undefined && !validPort(published))
    ck.at(pub as YAML.Node, `${fmt(p)}: "published" must be a port number (1-65535)`, p);
  else if (proto !== 'tcp' && proto !== 'udp')
    ck.at(protoNode as YAML.Node, `${fmt(p)}: protocol must be "tcp" or "udp"`, p);
  else
    return {
      ...(hostIp ? { hostIp } : {}),
      ...(published !== undefined ? { hostPort: published } : {}),
      containerPort: target,
      protocol: proto,
      where: ck.whereOf(item),
    };
  return undefined;
}

/** volumes: a list of short ("data:/var/lib/x:ro") or long ({type, source, target, read_only}) mounts. */
export function readVolumes(
  vols: unknown,
  volsPath: Path,
  service: string,
  ck: Checker,
  declared: readonly string[],
): Mount[] {
  const out: Mount[] = [];
  if (!YAML.isSeq(vols)) {
    if (vols !== undefined) ck.at(vols as YAML.Node, `services.${service}.volumes: must be a list`, volsPath);
    return out;
  }
  vols.items.forEach((item, i) => {
    const p = [...volsPath, i];
    let m: Mount | string;
    if (YAML.isMap(item)) m = longMount(item, p, ck);
    else {
      const v = ck.str(item, p, 'a volume');
      if (v === undefined) return;
      m = parseVolumeSpec(v, ck.dir);
    }
    if (typeof m === 'string') ck.at(item as YAML.Node, `${fmt(p)}: ${m}`, p);
    else if (!m.target.startsWith('/'))
      ck.at(item as YAML.Node, `${fmt(p)}: the target must be an absolute path in the container`, p);
    else if (m.type === 'volume' && m.source && !declared.includes(m.source))
      ck.at(
        item as YAML.Node,
        `${fmt(p)}: named volume "${m.source}" is not declared under the top-level "volumes" key`,
        p,
      );
    else out.push(m);
  });
  return out;
}

/** A long-form mount, or what is wrong with it. */
function longMount(item: YAML.YAMLMap, p: Path, ck: Checker): Mount | string {
  ck.checkKeys(item, VOLUME_KEYS, p, fmt(p));
  const type = ck.str(item.get('type', true) ?? new YAML.Scalar('volume'), [...p, 'type'], 'type');
  const srcNode = item.get('source', true);
  const source = srcNode === undefined ? undefined : ck.str(srcNode, [...p, 'source'], 'source');
  const target = ck.str(item.get('target', true), [...p, 'target'], 'target');
  const roNode = item.get('read_only', true);
  const readOnly = YAML.isScalar(roNode) ? roNode.value === true || roNode.value === 'true' : false;
  if (target === undefined) return 'needs a "target"';
  if (type === 'volume') return { type: 'volume', ...(source ? { source } : {}), target, readOnly };
  if (type === 'bind')
    return source
      ? { type: 'bind', source: resolve(ck.dir, source), target, readOnly }
      : 'a bind mount needs a "source"';
  return `type ${JSON.stringify(type)} is not supported (use "volume" or "bind")`;
}

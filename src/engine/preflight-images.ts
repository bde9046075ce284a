/**
 * Pre-flight planning (pure): config and file texts in, the images a run needs out, each
 * with where it is set (`file:line:col`) and how to override it: the data services' images
 * (through the same data plan `up` runs), the k3s node image and k3d's helper images when
 * the cluster is to be created, and the base images of the services' Dockerfiles.
 * `preflight.ts` checks them (present locally, or pullable) and re-exports these.
 */
import YAML from 'yaml';
import { OBJECT_STORE_ENGINES } from '../config/engines.ts';
import type { Config } from '../config/schema.ts';
import type { DataPlan, ServicePlan } from '../data/plan.ts';

export interface ImageNeed {
  ref: string;
  /** What needs it, e.g. "object store (MinIO)", "k3s node", "service api base image". */
  what: string;
  /** Where it is set: `file:line:col` (and the key), or a sentence for built-in defaults. */
  where: string;
  /** How to use another image. */
  override: string;
}

export interface ToolNeed {
  name: 'k3d';
  min: string;
}

// ------------------------------------------------------------------ planning (pure)

/** `file:line:col` of the node at `path` in a YAML text (the nearest existing ancestor). */
export function yamlWhere(text: string, file: string, path: readonly (string | number)[]): string {
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc });
  let offset = doc.contents?.range?.[0] ?? 0;
  let node: unknown = doc.contents;
  for (const key of path) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => YAML.isScalar(p.key) && p.key.value === key);
      if (!pair) break;
      node = pair.value;
      const r = (YAML.isNode(pair.value) ? pair.value.range : undefined) ?? (pair.key as YAML.Node).range;
      if (r) offset = r[0];
    } else if (YAML.isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (YAML.isNode(node) && node.range) offset = node.range[0];
      else break;
    } else break;
  }
  const pos = lc.linePos(offset);
  return `${file}:${pos.line}:${pos.col}`;
}

export interface DataImageInput {
  config: Config;
  /** devenv.yaml: display path and text (for positions). */
  configFile: string;
  configText: string;
  plan: DataPlan;
  /** Raw text of each compose file, by the plan's composeFile. */
  composeTexts: Record<string, string>;
}

/** The data services' images, each with where it is set. */
export function dataImages(input: DataImageInput): ImageNeed[] {
  const { config, configFile, configText, plan } = input;
  const roles: DataRole[] = [];
  if (plan.database) {
    const db = plan.database;
    roles.push({
      s: db,
      role: 'database',
      title: `database (${db.engine})`,
      defaultKey: config.database?.version ? 'version' : 'engine',
      defaultWhat: `devenv's default for database.engine ${db.engine}`,
    });
  }
  if (plan.objectStore) {
    const os = plan.objectStore;
    roles.push({
      s: os,
      role: 'objectStore',
      title: `object store (${OBJECT_STORE_ENGINES[os.engine].title})`,
      defaultKey: config.objectStore?.engine ? 'engine' : 'image',
      defaultWhat: `devenv's pinned default for objectStore.engine ${os.engine}`,
    });
  }
  return roles.map((r) => {
    const at = yamlWhere(configText, configFile, [r.role, r.defaultKey]);
    return dataImage(input, r, `${r.defaultWhat} (${at})`);
  });
}

/** A data service of the plan, and the words and config keys that name its image's default. */
interface DataRole {
  s: ServicePlan;
  role: 'database' | 'objectStore';
  /** What needs the image, e.g. "database (postgres)". */
  title: string;
  /** The key of the role's section that picks devenv's default image. */
  defaultKey: string;
  defaultWhat: string;
}

/**
 * Where a data service's image is set: devenv.yaml's `<role>.image` when the compose file
 * takes it from a variable devenv sets from it, else devenv's default (used by the compose
 * file), else the compose file's own `image:`.
 */
function dataImage(input: DataImageInput, r: DataRole, defaultWhat: string): ImageNeed {
  const { config, configFile, configText } = input;
  const { s, role } = r;
  const composeText = input.composeTexts[s.composeFile] ?? '';
  const svcName = composeServiceName(composeText);
  const composeAt = yamlWhere(composeText, s.composeFile, ['services', svcName ?? '', 'image']);
  const raw = composeImageText(composeText, svcName);
  const fromVar = /\$\{?(DB_IMAGE|MINIO_IMAGE|S3_IMAGE)\b/.test(raw);
  const key = s.imageKey; // database.image | objectStore.image
  const section = config[role] as { image?: string } | undefined;
  let where: string;
  let override: string;
  if (fromVar && section?.image) {
    where = `${yamlWhere(configText, configFile, [role, 'image'])} (${key})`;
    override = `change ${key} in ${configFile}`;
  } else if (fromVar) {
    where = `${defaultWhat}, used by ${composeAt}`;
    override = `set ${key} in ${configFile} to an image you can pull (a mirror, another tag)`;
  } else {
    where = composeAt;
    override = `change the image in ${s.composeFile}`;
  }
  return { ref: s.spec.image, what: r.title, where, override };
}

function composeServiceName(text: string): string | undefined {
  try {
    const doc = YAML.parse(text) as { services?: Record<string, unknown> } | null;
    return Object.keys(doc?.services ?? {})[0];
  } catch {
    return undefined;
  }
}

function composeImageText(text: string, svc: string | undefined): string {
  try {
    const doc = YAML.parse(text) as { services?: Record<string, { image?: unknown }> } | null;
    const v = svc ? doc?.services?.[svc]?.image : undefined;
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

export interface ClusterImageInput {
  /** The k3d config devenv renders from (display path + text). */
  k3dFile: string;
  k3dText: string;
  /** The installed k3d's version (for its helper images' tags). */
  k3dVersion: string;
  env: Record<string, string | undefined>;
}

/** Images `k3d cluster create` needs: the node image and k3d's helpers (k3d's own defaults, see its pkg/types/images.go). */
export function clusterImages(input: ClusterImageInput): ImageNeed[] {
  const { k3dFile, k3dText, env } = input;
  let doc: { image?: unknown; registries?: { create?: { image?: unknown } } } | null = null;
  try {
    doc = YAML.parse(k3dText);
  } catch {
    doc = null; // the cluster step reports a broken config with its own message
  }
  const out: ImageNeed[] = [];
  if (typeof doc?.image === 'string' && doc.image) {
    out.push({
      ref: doc.image,
      what: 'k3s node image',
      where: yamlWhere(k3dText, k3dFile, ['image']),
      override: `change "image:" in ${k3dFile} (or point cluster.config at a copy)`,
    });
  }
  const helperTag = env.K3D_HELPER_IMAGE_TAG || input.k3dVersion.replace(/^v/, '');
  const helper = (envName: string, repo: string, what: string) =>
    env[envName]
      ? { ref: env[envName]!, what, where: `environment variable ${envName}`, override: `change ${envName}` }
      : {
          ref: `${repo}:${helperTag}`,
          what,
          where: `k3d ${input.k3dVersion}'s default`,
          override: `set ${envName} to an image you have`,
        };
  out.push(helper('K3D_IMAGE_LOADBALANCER', 'ghcr.io/k3d-io/k3d-proxy', "k3d's load balancer"));
  out.push(helper('K3D_IMAGE_TOOLS', 'ghcr.io/k3d-io/k3d-tools', "k3d's tools"));
  const reg = doc?.registries?.create;
  if (reg) {
    out.push(
      typeof reg.image === 'string' && reg.image
        ? {
            ref: reg.image,
            what: "k3d's registry",
            where: yamlWhere(k3dText, k3dFile, ['registries', 'create', 'image']),
            override: `change registries.create.image in ${k3dFile}`,
          }
        : {
            ref: 'docker.io/library/registry:2',
            what: "k3d's registry",
            where: `k3d's default (registries.create in ${k3dFile})`,
            override: `set registries.create.image in ${k3dFile}`,
          },
    );
  }
  return out;
}

export interface DockerfileInput {
  service: string;
  /** Index of the service in devenv.yaml's services list. */
  index: number;
  file: string;
  text: string;
  buildArgs: Record<string, string>;
  target?: string;
}

/**
 * Base images of a Dockerfile: each FROM that is not an earlier stage or `scratch`, with
 * ARG defaults (before the first FROM) and the service's buildArgs substituted. A FROM that
 * still holds a variable is left out (the engine will say). With `target`, only the stages
 * up to it.
 */
export function baseImages(input: DockerfileInput, configFile: string, configText: string): ImageNeed[] {
  const lines = input.text.split('\n');
  const globals = new Map<string, GlobalArg>();
  const stages = new Set<string>();
  const out: ImageNeed[] = [];
  let seenFrom = false;
  for (const { instr, rest, start } of instructions(lines)) {
    if (instr === 'ARG' && !seenFrom) {
      const a = /^([A-Za-z_][A-Za-z0-9_]*)(?:=("?)(.*)\2)?$/.exec(rest);
      if (a && a[3] !== undefined)
        globals.set(a[1]!, { value: a[3], line: start + 1, col: (lines[start] ?? '').indexOf(a[1]!) + 1 });
      continue;
    }
    if (instr !== 'FROM') continue;
    seenFrom = true;
    const parts = rest.split(/\s+/).filter((p) => !p.startsWith('--'));
    const imageText = parts[0] ?? '';
    const alias = parts[1]?.toUpperCase() === 'AS' ? parts[2] : undefined;
    const { ref, via } = substitute(imageText, input.buildArgs, globals);
    if (ref && !ref.includes('$') && ref !== 'scratch' && !stages.has(ref.toLowerCase())) {
      const dfAt = `${input.file}:${start + 1}:${(lines[start] ?? '').indexOf(imageText) + 1}`;
      out.push(baseImageNeed(input, ref, dfAt, via, globals, configFile, configText));
    }
    if (alias) stages.add(alias.toLowerCase());
    if (input.target && alias && alias.toLowerCase() === input.target.toLowerCase()) break;
  }
  return out;
}

/** An ARG before the first FROM: its default and where it is written. */
interface GlobalArg {
  value: string;
  line: number;
  col: number;
}

/** The first build argument a FROM's image reference uses, and whether devenv.yaml sets it. */
interface Via {
  arg: string;
  fromConfig: boolean;
}

/** A Dockerfile's instructions, continuation lines joined, with the 0-based line each starts on. */
function instructions(lines: readonly string[]): Array<{ instr: string; rest: string; start: number }> {
  const out: Array<{ instr: string; rest: string; start: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] ?? '';
    const start = i;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i];
    const m = /^\s*(\w+)\s+(.*)$/.exec(text);
    if (m) out.push({ instr: m[1]!.toUpperCase(), rest: m[2]!.trim(), start });
  }
  return out;
}

/** `$VAR`, `${VAR}` and `${VAR:-default}` replaced from the buildArgs, else the ARG defaults; "$" when unset. */
function substitute(
  imageText: string,
  buildArgs: Record<string, string>,
  globals: ReadonlyMap<string, GlobalArg>,
): { ref: string; via: Via | undefined } {
  let via: Via | undefined;
  const ref = imageText.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g,
    (_all, name: string, dflt?: string) => {
      via ??= { arg: name, fromConfig: name in buildArgs };
      return buildArgs[name] ?? globals.get(name)?.value ?? dflt ?? '$';
    },
  );
  return { ref, via };
}

/** Where a base image is set: the FROM line, the ARG it reads, or devenv.yaml's buildArgs. */
function baseImageNeed(
  input: DockerfileInput,
  ref: string,
  dfAt: string,
  via: Via | undefined,
  globals: ReadonlyMap<string, GlobalArg>,
  configFile: string,
  configText: string,
): ImageNeed {
  let where = dfAt;
  let override = `change the FROM line (${dfAt})`;
  if (via) {
    const key = `services[${input.index}].buildArgs.${via.arg}`;
    override = `set ${key} in ${configFile}`;
    if (via.fromConfig) {
      where = `${yamlWhere(configText, configFile, ['services', input.index, 'buildArgs', via.arg])} (${key})`;
      override = `change ${key} in ${configFile}`;
    } else {
      const g = globals.get(via.arg);
      if (g) where = `${input.file}:${g.line}:${g.col} (ARG ${via.arg}), used at ${dfAt}`;
    }
  }
  return { ref, what: `service ${input.service}: base image`, where, override };
}

/** One need per image reference (the first place that sets it names it). */
export function uniqueImages(needs: ImageNeed[]): ImageNeed[] {
  const seen = new Map<string, ImageNeed>();
  for (const n of needs) if (!seen.has(n.ref)) seen.set(n.ref, n);
  return [...seen.values()];
}

export function problemLine(n: ImageNeed, reason: string): string {
  return `image "${n.ref}" (${n.what}) is not on this machine and cannot be pulled (${reason}); set at ${n.where}; to use another: ${n.override}.`;
}

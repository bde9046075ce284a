/**
 * Pre-flight: before `up` creates anything (network, cluster, containers, volumes), every
 * image the run needs is present in the Docker engine or pullable, and every tool it runs
 * is installed in a supported version. A missing one is ONE clear error naming it, where
 * it is set (`file:line:col`) and how to override it; nothing is created.
 *
 * Two halves:
 *  - planning (pure): config + file texts in, the list of images (with their source
 *    position and override) out: data services (through the same data plan `up` runs),
 *    the k3s node image and k3d's helper images when the cluster is to be created, the
 *    base images of the services' Dockerfiles;
 *  - checking (I/O): the k3d binary and its version, then each image: present locally
 *    (no network at all, so an offline machine with everything present passes) or else a
 *    registry manifest request through the engine (no pull).
 * `doctor` runs the same check and reports it as one check.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { OBJECT_STORE_ENGINES } from '../config/engines.ts';
import { displayPath, type LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { DataPlan, ServicePlan } from '../data/plan.ts';
import { badInput, type DevenvError } from '../errors.ts';
import type { EventSink } from '../events.ts';

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
  const out: ImageNeed[] = [];
  const one = (s: ServicePlan, role: 'database' | 'objectStore', title: string, defaultWhat: string) => {
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
    out.push({ ref: s.spec.image, what: title, where, override });
  };
  if (plan.database) {
    const db = plan.database;
    const at = yamlWhere(configText, configFile, [
      'database',
      config.database?.version ? 'version' : 'engine',
    ]);
    one(
      db,
      'database',
      `database (${db.engine})`,
      `devenv's default for database.engine ${db.engine} (${at})`,
    );
  }
  if (plan.objectStore) {
    const os = plan.objectStore;
    const e = OBJECT_STORE_ENGINES[os.engine];
    const at = yamlWhere(configText, configFile, [
      'objectStore',
      config.objectStore?.engine ? 'engine' : 'image',
    ]);
    one(
      os,
      'objectStore',
      `object store (${e.title})`,
      `devenv's pinned default for objectStore.engine ${os.engine} (${at})`,
    );
  }
  return out;
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
  const globals = new Map<string, { value: string; line: number; col: number }>();
  const stages = new Set<string>();
  const out: ImageNeed[] = [];
  let seenFrom = false;
  // Join continuation lines, remembering where each instruction starts.
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] ?? '';
    const start = i;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i];
    const m = /^\s*(\w+)\s+(.*)$/.exec(text);
    if (!m) continue;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
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
    let via: { arg: string; fromConfig: boolean } | undefined;
    const ref = imageText.replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?/g,
      (_all, name: string, dflt?: string) => {
        via ??= { arg: name, fromConfig: name in input.buildArgs };
        return input.buildArgs[name] ?? globals.get(name)?.value ?? dflt ?? '$';
      },
    );
    const fromLine = (lines[start] ?? '').indexOf(imageText) + 1;
    if (ref && !ref.includes('$') && ref !== 'scratch' && !stages.has(ref.toLowerCase())) {
      const dfAt = `${input.file}:${start + 1}:${fromLine}`;
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
      out.push({ ref, what: `service ${input.service}: base image`, where, override });
    }
    if (alias) stages.add(alias.toLowerCase());
    if (input.target && alias && alias.toLowerCase() === input.target.toLowerCase()) break;
  }
  return out;
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

// ------------------------------------------------------------------ checking (I/O)

export interface PreflightInput {
  loaded: LoadedConfig;
  /** The k3d config file (absolute) when the target is devenv's own k3d cluster. */
  k3dConfigFile?: string;
  /** `up --switch-object-store`: another engine's object store volumes do not stop the run. */
  switchObjectStore?: boolean;
  /**
   * `up`: with no k3d installed, fetch devenv's pinned k3d now (cluster/k3d-binary.ts
   * ensureK3d: verified, cached); a failed fetch is a tool problem. Doctor never fetches.
   */
  fetchTools?: boolean;
  onEvent?: EventSink;
}

export interface PreflightResult {
  images: Array<ImageNeed & { state: 'present' | 'pullable' }>;
  k3d?: string;
  /** Missing or too old tools (doctor reports these in its own k3d check). */
  toolProblems: string[];
  /** Images neither present nor pullable. */
  imageProblems: string[];
  /** Other problems found before anything is created (an object store engine switch). */
  dataProblems: string[];
}

/** Runs every check and returns what it found (doctor); `preflight` throws on a problem. */
export async function checkPreflight(input: PreflightInput): Promise<PreflightResult> {
  const { config, file, root } = input.loaded;
  const configFile = displayPath(file);
  const configText = readText(file);
  const toolProblems: string[] = [];
  const imageProblems: string[] = [];
  const dataProblems: string[] = [];
  const needs: ImageNeed[] = [];
  let k3d: string | undefined;

  // Tools first: without k3d nothing of the cluster can be planned (its helper images' tags).
  if (input.k3dConfigFile) {
    const k = await import('../cluster/k3d.ts');
    const kb = await import('../cluster/k3d-binary.ts');
    try {
      if (input.fetchTools) await kb.ensureK3d(input.onEvent ? { onEvent: input.onEvent } : {});
      const choice = await kb.chooseK3d();
      // Doctor: the k3d `up` will fetch is planned with its pinned version.
      k3d = choice.source === 'fetch' ? choice.version : await k.k3dVersion();
    } catch (err) {
      toolProblems.push((err as Error).message);
    }
    if (k3d) {
      const { clusterName } = await import('../cluster/k3dconfig.ts');
      const existing = await k.getCluster(clusterName(config.project)).catch(() => undefined);
      if (!existing) {
        needs.push(
          ...clusterImages({
            k3dFile: displayPath(input.k3dConfigFile),
            k3dText: readText(input.k3dConfigFile),
            k3dVersion: k3d,
            env: process.env,
          }),
        );
      }
    }
  }

  if (config.database || config.objectStore) {
    const { planData } = await import('../data/plan.ts');
    const { generateCredentials } = await import('../data/credentials.ts');
    const { dataComposeSources, engineSwitchRefusal, otherEngineVolumes } = await import('../data/index.ts');
    const sources = dataComposeSources(config, root);
    // Images do not depend on credentials: throwaway ones, so nothing is written here.
    const plan = planData({ config, root, credentials: generateCredentials(), ...sources, env: process.env });
    const composeTexts: Record<string, string> = {};
    for (const s of [sources.database, sources.objectStore]) if (s) composeTexts[s.file] = s.text;
    needs.push(...dataImages({ config, configFile, configText, plan, composeTexts }));
    if (plan.objectStore && !input.switchObjectStore) {
      const left = await otherEngineVolumes(plan.objectStore);
      if (left.length > 0) dataProblems.push(engineSwitchRefusal(plan.objectStore, left).message);
    }
  }

  for (const [index, svc] of config.services.entries()) {
    const ctx = resolve(root, svc.context);
    const df = resolve(ctx, svc.dockerfile);
    let text: string;
    try {
      text = readFileSync(df, 'utf8');
    } catch {
      continue; // the build step reports a missing Dockerfile with its own message
    }
    needs.push(
      ...baseImages(
        {
          service: svc.name,
          index,
          file: displayPath(df),
          text,
          buildArgs: svc.buildArgs,
          ...(svc.target ? { target: svc.target } : {}),
        },
        configFile,
        configText,
      ),
    );
  }

  const { imageAvailability } = await import('../docker/pull.ts');
  const images: PreflightResult['images'] = [];
  const unique = uniqueImages(needs);
  const results = await Promise.all(unique.map((n) => imageAvailability(n.ref)));
  unique.forEach((n, i) => {
    const r = results[i]!;
    if (r.state === 'missing') imageProblems.push(problemLine(n, r.reason));
    else images.push({ ...n, state: r.state });
  });
  return { images, ...(k3d ? { k3d } : {}), toolProblems, imageProblems, dataProblems };
}

/** `up`'s pre-flight: throws ONE error listing every problem; emits a "preflight" step. */
export async function preflight(input: PreflightInput): Promise<PreflightResult> {
  const emit = input.onEvent ?? (() => {});
  const t0 = performance.now();
  emit({ type: 'step', id: 'preflight', phase: 'start', detail: 'images and tools' });
  let r: PreflightResult;
  try {
    r = await checkPreflight({ ...input, fetchTools: true });
    const problems = [...r.toolProblems, ...r.imageProblems, ...r.dataProblems];
    if (problems.length > 0) {
      throw problems.length === 1
        ? badInput(`pre-flight: ${problems[0]} Nothing was created.`)
        : badInput(`pre-flight: ${problems.length} problems; nothing was created.`, problems);
    }
  } catch (err) {
    const e = err as DevenvError;
    emit({
      type: 'step',
      id: 'preflight',
      phase: 'fail',
      detail: 'images and tools',
      ms: Math.round(performance.now() - t0),
      error: e.message,
      lines: [...(e.details ?? [])],
    });
    throw err;
  }
  const pulls = r.images.filter((i) => i.state === 'pullable').length;
  emit({
    type: 'step',
    id: 'preflight',
    phase: 'done',
    detail: `${r.images.length} image${r.images.length === 1 ? '' : 's'} (${r.images.length - pulls} present, ${pulls} to pull)${r.k3d ? `, k3d ${r.k3d}` : ''}`,
    ms: Math.round(performance.now() - t0),
  });
  return r;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

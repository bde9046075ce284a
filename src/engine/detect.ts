/**
 * What `devenv init` finds in a checkout (reads only): each service's build context (a
 * folder with a Dockerfile) and its manifests — the k8s, deploy, manifests, kubernetes and
 * kustomize folders and kustomization folders under a service's context or at the root
 * (split by service name, or by the image the YAML runs; the dev overlay of
 * base+overlays), and Helm charts. The command (cli/commands/init.ts) writes the starter.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { type DetectedService, toDnsLabel } from '../config/starter.ts';

const SKIP = new Set(['node_modules', '.git', 'vendor', 'dist', 'build', 'target', '.venv', '__pycache__']);
/** Folder names that hold a project's Kubernetes YAML by convention. */
const MANIFEST_DIRS = new Set(['k8s', 'kubernetes', 'manifests', 'deploy', 'kustomize']);
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const CHART_FILE = 'Chart.yaml';
const MANIFEST_RE = /\.(ya?ml|json)$/i;
/** Of several kustomizations in one folder (base + overlays), the one for a laptop. */
const DEV_OVERLAYS = ['dev', 'local', 'development'];

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
/** Sub-folders worth looking into: sorted, no hidden, dependency or build folders. */
function subdirs(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return entries.filter((e) => !SKIP.has(e) && !e.startsWith('.') && isDir(join(dir, e)));
}
const toPosix = (p: string): string => (p === '' ? '.' : p.split(sep).join('/'));

/** Dockerfiles up to 4 levels deep, skipping dependency and build folders. */
function findDockerfiles(root: string, dir = root, depth = 0, out: string[] = []): string[] {
  if (depth > 4) return out;
  if (isFile(join(dir, 'Dockerfile'))) out.push(toPosix(relative(root, join(dir, 'Dockerfile'))));
  for (const e of subdirs(dir)) findDockerfiles(root, join(dir, e), depth + 1, out);
  return out;
}

/** What `init` found that deploys a service, as a path relative to the repository root. */
export interface ManifestSource {
  path: string;
  /** folder: plain YAML (every file below it); kustomization: rendered by kustomize; chart: Helm. */
  kind: 'folder' | 'kustomization' | 'chart';
}

/** A folder that is one source by itself: it holds a kustomization or a Chart.yaml. */
function ownKind(dir: string): 'kustomization' | 'chart' | undefined {
  if (KUSTOMIZATION_FILES.some((f) => isFile(join(dir, f)))) return 'kustomization';
  if (isFile(join(dir, CHART_FILE))) return 'chart';
  return undefined;
}

/** Every kustomization and chart folder at or below `dir` (not below one another). */
function nestedSources(dir: string, depth = 0, out: { dir: string; kind: 'kustomization' | 'chart' }[] = []) {
  const kind = ownKind(dir);
  if (kind) out.push({ dir, kind });
  else if (depth < 4) for (const e of subdirs(dir)) nestedSources(join(dir, e), depth + 1, out);
  return out;
}

/** Whether `dir` holds *.yaml, *.yml or *.json below it, outside kustomization and chart folders. */
function hasPlainManifests(dir: string, depth = 0): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return false;
  }
  return entries.some((e) => {
    if (e.startsWith('.')) return false;
    const p = join(dir, e);
    if (isDir(p)) return depth < 4 && !ownKind(p) && hasPlainManifests(p, depth + 1);
    return MANIFEST_RE.test(e) && isFile(p);
  });
}

/**
 * The manifest sources at `dir` or below it (up to `maxDepth` folders down), never inside
 * `exclude` (other services' build contexts). A folder holding a kustomization.yaml or a
 * Chart.yaml is one source; so is a conventionally named folder (k8s, deploy, manifests,
 * kubernetes, kustomize), written so that devenv's loader accepts it, since the loader
 * refuses a listed folder with a kustomization nested in it and would read a chart's
 * templates as manifests: the folder itself when it holds only plain YAML; else the
 * kustomization inside it meant for a laptop (an overlay named dev, local or development;
 * else one named base; else the first); else its plain-YAML entries one by one, beside the
 * charts. What is not listed comes back in `alsoFound`, for the starter to name.
 */
export function findManifestSources(
  root: string,
  dir: string,
  exclude: ReadonlySet<string>,
  maxDepth = 3,
): { sources: ManifestSource[]; alsoFound: ManifestSource[] } {
  const sources: ManifestSource[] = [];
  const alsoFound: ManifestSource[] = [];
  const rel = (p: string): string => toPosix(relative(root, p));
  const excluded = (p: string): boolean => [...exclude].some((x) => p === x || p.startsWith(`${x}${sep}`));
  const named = (d: string): void => {
    const nested = nestedSources(d).filter((n) => !excluded(n.dir));
    const kustomizations = nested.filter((n) => n.kind === 'kustomization');
    const charts = nested.filter((n) => n.kind === 'chart');
    for (const c of charts) sources.push({ path: rel(c.dir), kind: 'chart' });
    if (kustomizations.length > 0) {
      const pick =
        kustomizations.find((k) => DEV_OVERLAYS.includes(basename(k.dir))) ??
        kustomizations.find((k) => basename(k.dir) === 'base') ??
        kustomizations[0]!;
      sources.push({ path: rel(pick.dir), kind: 'kustomization' });
      for (const k of kustomizations)
        if (k !== pick) alsoFound.push({ path: rel(k.dir), kind: 'kustomization' });
    } else if (charts.length === 0) {
      if (hasPlainManifests(d)) sources.push({ path: rel(d), kind: 'folder' });
    } else {
      for (const e of readdirSync(d).sort()) {
        const p = join(d, e);
        if (e.startsWith('.') || excluded(p)) continue;
        if (
          isDir(p) ? nestedSources(p).length === 0 && hasPlainManifests(p) : MANIFEST_RE.test(e) && isFile(p)
        )
          sources.push({ path: rel(p), kind: 'folder' });
      }
    }
  };
  const walk = (d: string, depth: number): void => {
    if (depth > 0 && excluded(d)) return;
    const kind = ownKind(d);
    if (kind) sources.push({ path: rel(d), kind });
    else if (depth > 0 && MANIFEST_DIRS.has(basename(d))) named(d);
    else if (depth < maxDepth) for (const e of subdirs(d)) walk(join(d, e), depth + 1);
  };
  walk(dir, 0);
  return { sources, alsoFound };
}

/** Files below `p` (or `p` itself) that devenv's loader would read. */
function yamlFiles(p: string, depth = 0): string[] {
  if (!isDir(p)) return MANIFEST_RE.test(p) ? [p] : [];
  if (depth > 4) return [];
  return readdirSync(p)
    .filter((e) => !e.startsWith('.'))
    .flatMap((e) => yamlFiles(join(p, e), depth + 1));
}

/** The service names whose image `p`'s YAML uses (`image: registry/shop/api:1.2` → api). */
function imagesUsed(p: string, names: ReadonlySet<string>): Set<string> {
  const used = new Set<string>();
  for (const f of yamlFiles(p)) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {}
    for (const m of text.matchAll(/^\s*-?\s*image:\s*["']?([^\s"'#]+)/gm)) {
      const repo = m[1]!.replace(/@.*$/, '').replace(/:[^/]*$/, '');
      const last = repo.slice(repo.lastIndexOf('/') + 1);
      if (names.has(last)) used.add(last);
    }
  }
  return used;
}

/**
 * A manifest folder at the repository root shared by several services, split so that
 * each part is listed by the service it deploys: an entry named after a service (k8s/api),
 * else the one service whose image its YAML uses (k8s/b2b runs shop/portal: portal); an
 * entry using several is split further. Entries that name no service stay unassigned.
 * A folder whose entries all go the same way is returned whole.
 */
function splitByService(
  root: string,
  dir: string,
  names: ReadonlySet<string>,
  depth = 0,
): { path: string; service?: string }[] {
  const parts: { path: string; service?: string }[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (e.startsWith('.') || (isDir(p) ? ownKind(p) || !hasPlainManifests(p) : !MANIFEST_RE.test(e)))
      continue;
    const path = toPosix(relative(root, p));
    const stem = isDir(p) ? e : e.replace(MANIFEST_RE, '');
    const used = imagesUsed(p, names);
    if (names.has(stem)) parts.push({ path, service: stem });
    else if (used.size === 1) parts.push({ path, service: [...used][0]! });
    else if (used.size > 1 && isDir(p) && depth < 3) parts.push(...splitByService(root, p, names, depth + 1));
    else parts.push({ path });
  }
  const first = parts[0]?.service;
  return parts.every((x) => x.service === first)
    ? [{ path: toPosix(relative(root, dir)), ...(first ? { service: first } : {}) }]
    : parts;
}

/**
 * Each Dockerfile's service and what deploys it. A service's own manifests are those under
 * its build context (not inside another service's). What is at the repository root (a
 * manifest folder, a kustomization, a chart) goes to the service at the root if there is
 * one; else a plain folder is split by service (splitByService), and what names no
 * service, like a kustomization (rendered as a whole), goes to the first service with
 * nothing of its own (else the first): a path is listed by one service only, since devenv
 * refuses an object defined twice. A Helm chart folder is listed as a chart entry.
 */
export function detectServices(root: string): DetectedService[] {
  const contexts = findDockerfiles(root).map((df) =>
    df.includes('/') ? df.slice(0, df.lastIndexOf('/')) : '.',
  );
  const nested = new Set(contexts.filter((c) => c !== '.').map((c) => join(root, c)));
  const services = contexts.map((context) => {
    const name = toDnsLabel(context === '.' ? basename(root) : basename(context));
    const others = new Set([...nested].filter((c) => c !== join(root, context)));
    const found =
      context === '.'
        ? { sources: [] as ManifestSource[], alsoFound: [] as ManifestSource[] }
        : findManifestSources(root, join(root, context), others);
    return { name, context, found };
  });
  const atRoot = findManifestSources(root, root, nested, 1);
  const rootService = services.find((s) => s.context === '.');
  const owner =
    rootService ?? services.find((s) => !s.found.sources.some((x) => x.kind !== 'chart')) ?? services[0];
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const source of atRoot.sources) {
    const parts =
      source.kind === 'folder' && !rootService
        ? splitByService(root, join(root, source.path), new Set(byName.keys()))
        : [{ path: source.path }];
    for (const part of parts) {
      const to = (part.service && byName.get(part.service)) || owner;
      to?.found.sources.push({ path: part.path, kind: source.kind });
    }
  }
  owner?.found.alsoFound.push(...atRoot.alsoFound);
  return services.map(({ name, context, found }) => ({
    name,
    context,
    dockerfile: 'Dockerfile',
    manifests: found.sources.filter((s) => s.kind !== 'chart').map((s) => s.path),
    charts: found.sources.filter((s) => s.kind === 'chart').map((s) => s.path),
    alsoFound: found.alsoFound.map((s) => s.path),
  }));
}

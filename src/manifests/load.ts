/**
 * Reads a service's manifests from disk: files, folders (every *.yaml, *.yml and *.json
 * below them, recursively, in sorted order), kustomization folders (rendered with
 * `kubectl kustomize`, as `kubectl apply -k` would) or local Helm charts (rendered with
 * `helm template`, hooks included; helm.ts decides which hooks stay). The only I/O of the
 * manifests part; parsing and checks are in parse.ts.
 *
 * Every problem of every file is reported at once, as `file:line:col: reason`, in one
 * bad-input error (exit 2) thrown before anything is applied. Paths in messages and in the
 * `dev.devenv/source` annotation are relative to the project root, so the same checkout
 * renders the same objects on every machine.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { formatDiagnostic } from '../config/diagnostics.ts';
import type { ChartSource, ManifestSource } from '../config/schema.ts';
import { badInput, DevenvError } from '../errors.ts';
import { helmTemplateArgs, releaseName, releaseNamespace, remoteChartLabel, splitHooks } from './helm.ts';
import { parseManifestText } from './parse.ts';
import { CLUSTER_SCOPED_KINDS, describeObject, type SourceDoc, splitApiVersion } from './types.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;
const MANIFEST_RE = /\.(ya?ml|json)$/i;

export interface LoadOptions {
  /** Project root: manifest paths are relative to it. */
  root: string;
  /** kubectl binary for kustomization folders (default "kubectl" on PATH). */
  kubectl?: string;
  /** helm binary for charts (default: tools/helm-binary.ts: DEVENV_HELM, PATH, devenv's pinned helm). */
  helm?: string;
  /**
   * What a chart renders that devenv leaves out (Helm hooks it does not run), one line
   * each with a stable id ("helm:RELEASE:Kind/name"), so the caller reports it by name.
   */
  onNotice?: (line: string, id: string) => void;
}

function isKustomization(dir: string): boolean {
  return KUSTOMIZATION_FILES.some((f) => {
    try {
      return statSync(join(dir, f)).isFile();
    } catch {
      return false;
    }
  });
}

/** Every manifest file below `dir`, sorted by relative path; hidden entries skipped. */
function manifestFiles(dir: string, root: string, problems: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (isKustomization(p)) {
          problems.push(
            `${rel(root, p)}: is a kustomization folder inside ${rel(root, dir)}; list it in "manifests" on its own (devenv runs kustomize only on folders listed there)`,
          );
          continue;
        }
        walk(p);
      } else if (e.isFile() && MANIFEST_RE.test(e.name)) {
        out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}

function rel(root: string, abs: string): string {
  const r = relative(root, abs);
  return (r === '' ? '.' : r).split(sep).join('/');
}

/**
 * Runs a manifest renderer (kubectl kustomize, helm template) and returns its output. A
 * binary that is not installed is a DevenvError saying what needs it and how to install
 * it (`missing`); a failing render is bad input with the renderer's own first 20 lines.
 */
function runRenderer(
  bin: string,
  args: string[],
  display: string,
  verb: string,
  missing: { message: string; details: string[] },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) {
        resolvePromise(stdout);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new DevenvError(missing.message, { details: missing.details }));
        return;
      }
      const lines = String(stderr || err.message)
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      reject(badInput(`${display}: ${verb} failed; nothing was applied.`, lines.slice(0, 20)));
    });
  });
}

/** Runs `kubectl kustomize DIR`; a missing kubectl or a failing kustomization is a clear error. */
export function kustomize(dir: string, display: string, kubectl = 'kubectl'): Promise<string> {
  return runRenderer(kubectl, ['kustomize', dir], display, 'kubectl kustomize', {
    message: `${display} is a kustomization folder, and rendering it needs kubectl, which is not installed (or not on PATH).`,
    details: [
      'Install kubectl: https://kubernetes.io/docs/tasks/tools/',
      'or list the manifest files themselves in devenv.yaml instead of the kustomization folder.',
    ],
  });
}

/** Runs `helm template` for one chart; a missing helm or a failing chart is a clear error. */
export async function helmTemplate(
  chart: ChartSource,
  root: string,
  display: string,
  helm?: string,
): Promise<string> {
  const bin = helm ?? (await (await import('../tools/helm-binary.ts')).chooseHelm()).binary;
  return runRenderer(bin, helmTemplateArgs(chart, root), display, 'helm template', {
    message: `${display} is a Helm chart, and rendering it needs helm (${bin}), which is not installed (or not on PATH).`,
    details: [
      'Install helm: https://helm.sh/docs/intro/install/ (or set DEVENV_HELM to its path);',
      '"devenv doctor" says which helm devenv runs.',
    ],
  });
}

/** Objects the chart leaves without a namespace go to the release's (as `helm install` puts them). */
function setReleaseNamespace(docs: readonly SourceDoc[], namespace: string): void {
  for (const d of docs) {
    if ('toJS' in d.doc && typeof d.doc.toJS === 'function') {
      const doc = d.doc as import('yaml').Document;
      const kind = doc.get('kind');
      const ns = doc.getIn(['metadata', 'namespace']);
      if (typeof kind === 'string' && !CLUSTER_SCOPED_KINDS.has(kind) && doc.hasIn(['metadata']) && !ns)
        doc.setIn(['metadata', 'namespace'], namespace);
    } else {
      const o = d.doc as Record<string, unknown>;
      const md = o.metadata as Record<string, unknown> | undefined;
      if (typeof o.kind === 'string' && !CLUSTER_SCOPED_KINDS.has(o.kind) && md && !md.namespace)
        md.namespace = namespace;
    }
  }
}

/**
 * Loads the documents of `paths` (relative to `opts.root`, or absolute), in order; a file
 * reached twice (e.g. listed and inside a listed folder) is read once. Throws a bad-input
 * DevenvError listing every problem: unreadable or missing paths, invalid YAML, objects
 * without apiVersion / kind / metadata.name, and the same object defined twice.
 */
export async function loadManifests(
  paths: readonly ManifestSource[],
  opts: LoadOptions,
): Promise<SourceDoc[]> {
  const root = resolve(opts.root);
  const problems: string[] = [];
  const docs: SourceDoc[] = [];
  const read = new Set<string>();

  const addText = (text: string, file: string): void => {
    const parsed = parseManifestText(text, file);
    problems.push(...parsed.problems.map(formatDiagnostic));
    docs.push(...parsed.docs);
  };
  const addFile = (abs: string): void => {
    if (read.has(abs)) return;
    read.add(abs);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (err) {
      problems.push(`${rel(root, abs)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return;
    }
    addText(text, rel(root, abs));
  };

  for (const p of paths) {
    if (typeof p !== 'string') {
      const display =
        remoteChartLabel(p) ?? `${rel(root, isAbsolute(p.chart) ? p.chart : resolve(root, p.chart))}/`;
      const file = `${display} (helm)`;
      const parsed = parseManifestText(await helmTemplate(p, root, display, opts.helm), file);
      problems.push(...parsed.problems.map(formatDiagnostic));
      const { keep, leftOut } = splitHooks(parsed.docs, `${display} (release ${releaseName(p)})`);
      for (const h of leftOut)
        opts.onNotice?.(h.message, `helm:${releaseName(p)}:${h.object.replace(' ', '/')}`);
      if (p.namespace) setReleaseNamespace(keep, releaseNamespace(p));
      docs.push(...keep);
      continue;
    }
    const abs = isAbsolute(p) ? p : resolve(root, p);
    let isDir: boolean;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      problems.push(`${rel(root, abs)}: not found (listed in "manifests")`);
      continue;
    }
    if (!isDir) {
      addFile(abs);
    } else if (isKustomization(abs)) {
      if (read.has(abs)) continue;
      read.add(abs);
      const display = `${rel(root, abs)}/`;
      addText(await kustomize(abs, display, opts.kubectl), `${display} (kustomize)`);
    } else {
      const files = manifestFiles(abs, root, problems);
      if (files.length === 0)
        problems.push(`${rel(root, abs)}/: no *.yaml, *.yml or *.json manifests in this folder`);
      for (const f of files) addFile(f);
    }
  }

  problems.push(...duplicates(docs));
  if (problems.length > 0) {
    throw badInput(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the manifests; nothing was applied.`,
      problems,
    );
  }
  return docs;
}

/**
 * The same object (group, kind, namespace as written, name) in two documents. Objects
 * without a namespace are compared as written; render.ts checks again once defaults apply.
 */
export function duplicates(docs: readonly SourceDoc[]): string[] {
  const seen = new Map<string, SourceDoc>();
  const out: string[] = [];
  for (const d of docs) {
    const o = ('toJS' in d.doc && typeof d.doc.toJS === 'function' ? d.doc.toJS() : d.doc) as Record<
      string,
      unknown
    >;
    const md = (o.metadata ?? {}) as Record<string, unknown>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof md.name !== 'string')
      continue;
    const ns = typeof md.namespace === 'string' ? md.namespace : '';
    const key = `${splitApiVersion(o.apiVersion).group}/${o.kind}/${ns}/${md.name}`;
    const before = seen.get(key);
    if (before) {
      const where = (x: SourceDoc) => `${x.file}${x.line !== undefined ? `:${x.line}:${x.col ?? 1}` : ''}`;
      out.push(
        `${where(d)}: ${describeObject({ kind: o.kind, namespace: ns, name: md.name })} is defined twice: first in ${where(before)}, again in ${d.file}`,
      );
    } else {
      seen.set(key, d);
    }
  }
  return out;
}

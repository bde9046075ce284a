/**
 * Sync mode (live update): changed files that match a service's `sync` rules are copied
 * into the running containers instead of rebuilding the image. Per container, in order:
 *   1. `rm -rf -- <dest…>`            for files deleted locally;
 *   2. `tar -x -o -f - -C /` + a tar  of the changed files at their container paths
 *      (the same mechanism as `kubectl cp`; the image needs `tar`);
 *   3. each matched rule's `run` command once (e.g. to restart the process).
 * The plan is pure (planSync / syncCommands); the only I/O here is reading the local files
 * and the injected `execInPod`, so this module has no Kubernetes import (the kube layer
 * provides the exec).
 *
 * Note: after a sync the running container differs from its image; the next rebuild (any
 * change that is not syncable, or the next `devenv up`) makes them agree again.
 */
import { lstat, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import tar from 'tar-stream';
import type { ServiceConfig } from '../config/schema.ts';
import { DevenvError } from '../errors.ts';
import { type EventSink, step } from '../events.ts';

/** What a file event did (chokidar's add / change / unlink). */
export type FileChangeKind = 'add' | 'change' | 'unlink';

/** One changed file that a `sync` rule copies into the running container. */
export interface SyncFile {
  /** Relative to the context (what the rule's `src` glob matched). */
  rel: string;
  abs: string;
  kind: FileChangeKind;
  /** Absolute path inside the container: the rule's `dest` + `rel`. */
  dest: string;
  /** Index of the matching rule in `service.sync`. */
  rule: number;
}

export type SyncRule = ServiceConfig['sync'][number];

/** Runs `cmd` in a container, feeding `stdin` when given; resolves with its exit code. */
export type ExecInPod = (
  namespace: string,
  pod: string,
  container: string,
  cmd: string[],
  stdin?: Buffer,
) => Promise<{ code: number; stdout?: string; stderr?: string }>;

export interface SyncTarget {
  namespace: string;
  pod: string;
  container: string;
}

export interface SyncPlan {
  /** Local file → container path, sorted by container path. */
  copies: { abs: string; dest: string }[];
  /** Container paths to remove. */
  deletes: string[];
  /** Commands to run after copying: each matched rule's `run`, once, in rule order. */
  runs: string[][];
}

export const TAR_EXTRACT = ['tar', '-x', '-o', '-f', '-', '-C', '/'];

/** Pure: what to copy, delete and run for these (already classified) files. */
export function planSync(files: readonly SyncFile[], rules: readonly SyncRule[]): SyncPlan {
  const copies = new Map<string, string>();
  const deletes = new Set<string>();
  const matched = new Set<number>();
  for (const f of files) {
    const dest = posix.normalize(f.dest);
    const rule = rules[f.rule];
    if (!rule || !posix.isAbsolute(dest) || !isInside(posix.normalize(rule.dest), dest)) {
      throw new DevenvError(`sync: ${f.rel} maps to ${f.dest}, outside its rule's dest`);
    }
    matched.add(f.rule);
    if (f.kind === 'unlink') {
      copies.delete(dest);
      deletes.add(dest);
    } else {
      deletes.delete(dest);
      copies.set(dest, f.abs);
    }
  }
  const runs: string[][] = [];
  const seen = new Set<string>();
  for (const i of [...matched].sort((a, b) => a - b)) {
    const run = rules[i]?.run;
    if (!run || run.length === 0) continue;
    const key = JSON.stringify(run);
    if (seen.has(key)) continue;
    seen.add(key);
    runs.push([...run]);
  }
  return {
    copies: [...copies].map(([dest, abs]) => ({ abs, dest })).sort((a, b) => cmp(a.dest, b.dest)),
    deletes: [...deletes].sort(cmp),
    runs,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(dir: string, p: string): boolean {
  if (p === dir) return false;
  return dir === '/' ? p.startsWith('/') && p !== '/' : p.startsWith(`${dir}/`);
}

/** Pure: the commands, in order, that apply a plan to one container (tar input aside). */
export function syncCommands(plan: SyncPlan): { cmd: string[]; tar: boolean }[] {
  const out: { cmd: string[]; tar: boolean }[] = [];
  if (plan.deletes.length > 0) out.push({ cmd: ['rm', '-rf', '--', ...plan.deletes], tar: false });
  if (plan.copies.length > 0) out.push({ cmd: [...TAR_EXTRACT], tar: true });
  for (const r of plan.runs) out.push({ cmd: r, tar: false });
  return out;
}

/**
 * The tar that `TAR_EXTRACT` unpacks at `/`: each copy at its container path (leading
 * "/" stripped), with the local mode and mtime (so reloaders watching mtimes see it).
 * A file deleted since the plan was made moves to `missing`: the caller deletes it.
 */
export async function syncTar(copies: SyncPlan['copies']): Promise<{ tar: Buffer; missing: string[] }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  const missing: string[] = [];
  for (const c of copies) {
    let body: Buffer;
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(c.abs);
      if (!st.isFile()) {
        missing.push(c.dest);
        continue;
      }
      body = await readFile(c.abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        missing.push(c.dest);
        continue;
      }
      throw err;
    }
    await new Promise<void>((res, rej) =>
      pack.entry(
        {
          name: c.dest.replace(/^\/+/, ''),
          size: body.length,
          mode: Number(st.mode) & 0o7777,
          mtime: st.mtime,
        },
        body,
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return { tar: Buffer.concat(chunks), missing };
}

export interface SyncOptions {
  service: string;
  plan: SyncPlan;
  targets: readonly SyncTarget[];
  execInPod: ExecInPod;
  onEvent?: EventSink;
}

/** Applies `plan` to every target container (in parallel); step `sync:<service>`. */
export async function syncToPods(opts: SyncOptions): Promise<{ syncMs: number }> {
  const sink: EventSink = opts.onEvent ?? (() => {});
  const t0 = performance.now();
  const files = opts.plan.copies.length + opts.plan.deletes.length;
  await step(
    sink,
    `sync:${opts.service}`,
    `sync ${files} file(s) into ${opts.targets.length} container(s)`,
    async () => {
      if (opts.targets.length === 0) throw new DevenvError(`sync: no running container of ${opts.service}`);
      const { tar: body, missing } = await syncTar(opts.plan.copies);
      const plan: SyncPlan = missing.length
        ? {
            copies: opts.plan.copies.filter((c) => !missing.includes(c.dest)),
            deletes: [...opts.plan.deletes, ...missing].sort(cmp),
            runs: opts.plan.runs,
          }
        : opts.plan;
      const cmds = syncCommands(plan);
      await Promise.all(
        opts.targets.map(async (t) => {
          for (const c of cmds) {
            const r = await opts.execInPod(t.namespace, t.pod, t.container, c.cmd, c.tar ? body : undefined);
            if (r.code !== 0) {
              throw new DevenvError(
                `sync into ${t.namespace}/${t.pod}/${t.container}: "${c.cmd.join(' ')}" exited with ${r.code}`,
                { details: (r.stderr ?? r.stdout ?? '').split('\n').filter(Boolean).slice(-20) },
              );
            }
          }
        }),
      );
    },
  );
  return { syncMs: Math.round(performance.now() - t0) };
}

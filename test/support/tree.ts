/**
 * A project tree in a temp dir for the build and watch tests (and benchmarks): one
 * service's config with the defaults a devenv.yaml would give it, files written with their
 * folders, and the progress events an engine function reports.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceConfig } from '../../src/config/schema.ts';
import type { EventSink, ProgressEvent, ReloadEvent } from '../../src/events.ts';
import { type ChangeSetAction, startWatchLoop, type WatchLoop } from '../../src/watch/loop.ts';

/** The service `api` (context api/, Dockerfile, manifests k8s/), nothing else set; `over` changes any field. */
export const serviceConfig = (over: Partial<ServiceConfig> = {}): ServiceConfig => ({
  name: 'api',
  context: 'api',
  dockerfile: 'Dockerfile',
  buildArgs: {},
  manifests: ['k8s'],
  watch: [],
  ignore: [],
  sync: [],
  ...over,
});

/** Writes `content` to `rel` under `root`, creating its folders. */
export async function writeIn(root: string, rel: string, content: string): Promise<void> {
  const abs = join(root, rel);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
}

/** Writes every file of `files` (path relative to `root` → content), in order. */
export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) await writeIn(root, rel, content);
}

/** Collects the progress events a function reports (`sink`), with its reload events picked out. */
export function eventLog() {
  const events: ProgressEvent[] = [];
  return {
    events,
    sink: (e: ProgressEvent) => {
      events.push(e);
    },
    reloads: () => events.filter((e): e is ReloadEvent => e.type === 'reload'),
  };
}

/**
 * The reload loop over `root` for `services` (default: the service `api`), every change
 * set going to `onChangeSet`, its events to `onEvent`, after `debounceMs` of quiet.
 */
export const watchTree = (
  root: string,
  debounceMs: number,
  handler: { action: ChangeSetAction; sink?: EventSink },
  services: ServiceConfig[] = [serviceConfig()],
): Promise<WatchLoop> =>
  startWatchLoop({ root, services, onChangeSet: handler.action, onEvent: handler.sink, debounceMs });

/** A new temp dir (`prefix` + random) holding `files`; its path. */
export async function tempTree(prefix: string, files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await writeTree(root, files);
  return root;
}

/** Closes the loop watching `root` (if one is), then removes the tree. */
export async function removeTree(root: string, loop?: WatchLoop): Promise<void> {
  await loop?.close();
  await rm(root, { recursive: true, force: true });
}

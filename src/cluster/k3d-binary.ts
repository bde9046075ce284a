/**
 * Which k3d binary devenv runs. The ONE place that decides it, so `up`, `down`, `destroy`,
 * `status` and `doctor` all run (and check) the same binary: `$DEVENV_K3D`, else k3d >=
 * MIN_K3D on PATH, else devenv's pinned k3d (tools/pinned.ts) from its cache, else `up`
 * fetches it in pre-flight (ensureK3d), else install by hand. The decision is the one
 * every tool shares (tools/resolve.ts); this module only says what k3d is.
 */
import type { EventSink } from '../events.ts';
import { currentPlatform, K3D, type PinnedTool } from '../tools/pinned.ts';
import {
  chooseTool,
  decideTool,
  ensureTool,
  type ToolChoice,
  type ToolFacts,
  type ToolSource,
  type ToolSpec,
} from '../tools/resolve.ts';

/** The oldest k3d devenv runs (doctor and `up` check it; the cluster config needs its fields). */
export const MIN_K3D = '5.6.0';

export type K3dSource = ToolSource;
export type K3dChoice = ToolChoice;
export interface K3dFacts extends Omit<ToolFacts, 'fromEnv'> {
  devenvK3d?: string;
}

export const K3D_MANUAL_INSTALL = `install k3d >= ${MIN_K3D} by hand: https://k3d.io/#installation (or "brew install k3d"), then put it on PATH or set DEVENV_K3D to its path`;

const K3D_SPEC: ToolSpec = {
  name: 'k3d',
  envVar: 'DEVENV_K3D',
  min: MIN_K3D,
  versionArgs: ['version'],
  versionPattern: /k3d version v?([\d.]+)/,
  manualInstall: K3D_MANUAL_INSTALL,
};

/** The decision, pure. */
export function decideK3d(f: K3dFacts): K3dChoice {
  const { devenvK3d, ...rest } = f;
  return decideTool(K3D_SPEC, { ...rest, ...(devenvK3d ? { fromEnv: devenvK3d } : {}) });
}

/** The k3d devenv runs, and why (doctor prints `why`). Never downloads. */
export function chooseK3d(env: NodeJS.ProcessEnv = process.env, tool: PinnedTool = K3D): Promise<K3dChoice> {
  return chooseTool(K3D_SPEC, env, tool);
}

/**
 * `up`'s pre-flight: the k3d to run, fetched (pinned, verified, cached) when none is
 * installed; a failed fetch is ONE error with the manual remedy, nothing created.
 */
export function ensureK3d(
  opts: { env?: NodeJS.ProcessEnv; tool?: PinnedTool; onEvent?: EventSink; timeoutMs?: number } = {},
): Promise<K3dChoice> {
  return ensureTool(K3D_SPEC, { ...opts, tool: opts.tool ?? K3D });
}

/** The binary to run for a k3d command (status, down, destroy, up, doctor). */
export async function k3dBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await chooseK3d(env)).binary;
}

/** What a user is told when the chosen binary cannot be run (ENOENT), without the install hint. */
export function k3dNotFound(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEVENV_K3D)
    return `k3d not found at DEVENV_K3D=${env.DEVENV_K3D} (unset DEVENV_K3D to use k3d from PATH)`;
  const platform = currentPlatform();
  if (!platform || !K3D.files[platform])
    return `k3d not found on PATH; no pinned checksum for k3d on ${platform ?? `${process.platform}-${process.arch}`}`;
  return `k3d not found on PATH (nor devenv's pinned k3d ${K3D.version} in its cache: \`devenv up\` fetches it)`;
}

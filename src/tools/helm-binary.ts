/**
 * Which helm binary renders the project's charts. The ONE place that decides it, so `up`,
 * `prerelease up`, `status`, `reload` and `doctor` all run (and check) the same helm:
 * `$DEVENV_HELM`, else helm >= MIN_HELM on PATH, else devenv's pinned helm (tools/pinned.ts:
 * the release archive, verified by its published sha256, the binary extracted from it)
 * from its cache, else `up` / `prerelease up` fetch it when a service's manifests are a
 * chart (ensureHelm, before anything is created), else install by hand. The decision is the
 * one every tool shares (resolve.ts); this module only says what helm is.
 */
import type { EventSink } from '../events.ts';
import { HELM, type PinnedTool } from './pinned.ts';
import {
  chooseTool,
  decideTool,
  ensureTool,
  type ToolChoice,
  type ToolFacts,
  type ToolSource,
  type ToolSpec,
} from './resolve.ts';

export type HelmSource = ToolSource;
export type HelmChoice = ToolChoice;
export interface HelmFacts extends Omit<ToolFacts, 'fromEnv'> {
  devenvHelm?: string;
}

/** The oldest helm whose `helm template` devenv relies on (doctor checks it). */
export const MIN_HELM = '3.0.0';

export const HELM_MANUAL_INSTALL = `install helm >= ${MIN_HELM} by hand: https://helm.sh/docs/intro/install/ (or "brew install helm"), then put it on PATH or set DEVENV_HELM to its path`;

const HELM_SPEC: ToolSpec = {
  name: 'helm',
  envVar: 'DEVENV_HELM',
  min: MIN_HELM,
  versionArgs: ['version', '--template', '{{.Version}}'],
  versionPattern: /v?(\d+\.\d+\.\d+)/,
  manualInstall: HELM_MANUAL_INSTALL,
};

/** The decision, pure. */
export function decideHelm(f: HelmFacts): HelmChoice {
  const { devenvHelm, ...rest } = f;
  return decideTool(HELM_SPEC, { ...rest, ...(devenvHelm ? { fromEnv: devenvHelm } : {}) });
}

/** The helm devenv runs, and why (doctor prints `why`). Never downloads. */
export function chooseHelm(
  env: NodeJS.ProcessEnv = process.env,
  tool: PinnedTool = HELM,
): Promise<HelmChoice> {
  return chooseTool(HELM_SPEC, env, tool);
}

/**
 * The helm to run when a service's manifests are a chart, fetched (pinned archive,
 * verified, the binary extracted, cached) when none is installed; a failed fetch is ONE
 * error with the manual remedy, nothing created.
 */
export function ensureHelm(
  opts: { env?: NodeJS.ProcessEnv; tool?: PinnedTool; onEvent?: EventSink; timeoutMs?: number } = {},
): Promise<HelmChoice> {
  return ensureTool(HELM_SPEC, { ...opts, tool: opts.tool ?? HELM });
}

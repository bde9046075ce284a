/**
 * `devenv down` (stop, keep data) and `devenv destroy` (remove what devenv created):
 * parse, confirm, call engine/lifecycle.ts, print what it did.
 */
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../../config/load.ts';
import type { DestroyResult, DownResult } from '../../engine/lifecycle.ts';
import { resolveTarget } from '../../engine/target.ts';
import { badInput } from '../../errors.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  yes?: boolean;
  context?: string;
  kubeconfig?: string;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

export async function down(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const { config } = loadConfig(global.config);
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const { downProject } = await import('../../engine/lifecycle.ts');
  printDown(config.project, target.context, await downProject(config, target));
  return 0;
}

function printDown(project: string, context: string, r: DownResult): void {
  if (r.cluster === 'stopped') out(`stopped k3d cluster ${project} (context ${context})`);
  if (r.cluster === 'absent') out(`no k3d cluster ${project}`);
  if (r.data)
    out(
      `stopped ${r.data.length} data container(s)${r.data.length ? `: ${r.data.join(', ')}` : ''}; data volumes kept`,
    );
}

export async function destroy(opts: Flags, _args: string[], global: GlobalOptions): Promise<number> {
  const { config } = loadConfig(global.config);
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const { destroyProject, destroyScope } = await import('../../engine/lifecycle.ts');
  const what = destroyScope(config, target);
  if (!opts.yes) {
    if (!process.stdin.isTTY)
      throw badInput(`devenv destroy removes ${what}. Pass --yes to confirm when not on a terminal.`);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`This removes ${what}. Type the project name to confirm: `);
    rl.close();
    if (answer.trim() !== config.project) {
      out('not confirmed; nothing removed');
      return 1;
    }
  }
  const r = await destroyProject(config, target);
  printDestroy(config.project, r);
  if (r.error) throw r.error;
  return 0;
}

function printDestroy(project: string, r: DestroyResult): void {
  if (r.k3d?.deleted) out(`deleted k3d cluster ${project}`);
  if (r.k3d?.interruptedLeft.length)
    out(`removed what an interrupted create left: ${r.k3d.interruptedLeft.join(', ')}`);
  if (r.existing) {
    const e = r.existing;
    out(`removed ${e.objects} object(s) and ${e.namespaces} namespace(s) from ${e.context}`);
    for (const k of e.kept) {
      const shown = k.foreign.slice(0, 10);
      out(
        `kept namespace ${k.ns}: it holds ${k.foreign.length} object(s) devenv did not create (${shown.join(', ')}${k.foreign.length > shown.length ? ', …' : ''}); devenv's own objects in it were removed. Delete it yourself once those are not needed: kubectl --context ${e.context} delete namespace ${k.ns}`,
      );
    }
  }
  if (r.data)
    out(`removed ${r.data.containers.length} data container(s) and ${r.data.volumes.length} volume(s)`);
  if ('error' in r.images) out(`images left in place (Docker engine: ${r.images.error})`);
  else {
    out(`removed ${r.images.removed.length} image(s) devenv built`);
    for (const k of r.images.kept) out(`kept image ${k.ref}: ${k.why}`);
  }
  if (r.stateRemoved) out(`removed the project's state (credentials, certificates)`);
}

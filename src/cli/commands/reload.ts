/**
 * `devenv reload SERVICE`: rebuild and roll out one service now, through the same path as
 * a file save in `devenv up` (content-tagged build → push → render → server-side apply →
 * rollout wait). An unchanged context gives the same tag and no API write.
 */
import { loadConfig } from '../../config/load.ts';
import { resolveTarget } from '../../engine/target.ts';
import { badInput } from '../../errors.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  context?: string;
  kubeconfig?: string;
}

export async function run(opts: Flags, args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const name = args[0]!;
  const service = loaded.config.services.find((s) => s.name === name);
  if (!service) {
    throw badInput(
      `no service "${name}" in ${loaded.file}; services: ${loaded.config.services.map((s) => s.name).join(', ') || '(none)'}`,
    );
  }
  const target = resolveTarget(loaded.config, opts.context, opts.kubeconfig);
  const { loadManifests } = await import('../../manifests/load.ts');
  const docs = new Map([[service.name, await loadManifests(service.manifests, { root: loaded.root })]]);
  const { connect } = await import('../../kube/client.ts');
  const client = connect({
    context: target.context,
    ...(target.kind === 'existing' && target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
  });
  const { createPlainPrinter } = await import('../../tui/plain.ts');
  const { reloadService } = await import('../../engine/reload.ts');
  const t0 = performance.now();
  const t = await reloadService(
    { loaded, client, docs, images: {}, onEvent: createPlainPrinter(process.stdout) },
    service,
  );
  process.stdout.write(
    `reloaded ${name} (${t.tag}) in ${((performance.now() - t0) / 1000).toFixed(1)} s: build ${t.buildMs} ms, load ${t.loadMs} ms, rollout ${t.rolloutMs} ms\n`,
  );
  return 0;
}

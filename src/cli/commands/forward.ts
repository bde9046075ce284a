/**
 * `devenv forward SERVICE [PORTS...] [--context CTX] [--kubeconfig FILE]`: a one-off
 * port-forward to a service, until Ctrl-C (exit 0). PORTS take the forms of
 * `services[].forwards` ("8080:http", "9229", "8080:web:http"); without PORTS, the
 * service's configured forwards. The same resolution (engine/forwards.ts) and the same
 * listener (kube/portforward.ts) as `up`'s forwards: each connection goes to a ready pod
 * of that moment. A bad argument, a Service or port the manifests do not render, or a
 * taken local port (named with its holder) is bad input: exit 2.
 */
import { loadConfig } from '../../config/load.ts';
import { forwardEntry } from '../../config/schema.ts';
import { resolveTarget } from '../../engine/target.ts';
import { badInput } from '../../errors.ts';
import type { GlobalOptions } from '../options.ts';

interface Flags {
  context?: string;
  kubeconfig?: string;
}

export async function run(opts: Flags, args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const { config } = loaded;
  const [name = '', ...ports] = args;
  const service = config.services.find((s) => s.name === name);
  if (!service) {
    const names = config.services.map((s) => s.name);
    throw badInput(
      `no service "${name}" in project ${config.project}.`,
      names.length > 0 ? [`services: ${names.join(', ')}`] : ['devenv.yaml declares no services'],
    );
  }
  const parsed = ports.map((text) => {
    const r = forwardEntry.safeParse(text);
    if (!r.success)
      throw badInput(`argument "${text}": ${r.error.issues[0]?.message ?? 'not a port forward'}`, [
        'PORTS are LOCAL:PORT ("8080:http"), LOCAL:SERVICE:PORT ("8080:web:http") or a port number ("9229")',
      ]);
    return { text, forward: r.data };
  });
  if (parsed.length === 0 && (service.forwards ?? []).length === 0)
    throw badInput(
      `service "${name}" has no forwards in devenv.yaml; name the ports, e.g. devenv forward ${name} 8080:http`,
    );
  const target = resolveTarget(config, opts.context, opts.kubeconfig);
  const { loadManifests } = await import('../../manifests/load.ts');
  const docs = new Map([[service.name, await loadManifests(service.manifests, { root: loaded.root })]]);
  const { resolveForwards, openForwards, forwardLine } = await import('../../engine/forwards.ts');
  const plans = await resolveForwards(loaded, docs, {
    only: service.name,
    ...(parsed.length > 0 ? { args: parsed } : {}),
  });
  const { connect } = await import('../../kube/client.ts');
  const client = connect({
    context: target.context,
    ...(target.kind === 'existing' && target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}),
  });
  const { createPlainPrinter } = await import('../../tui/plain.ts');
  const print = createPlainPrinter(process.stdout);
  // Only what the connections meet is printed; the forwards themselves are listed below.
  const open = await openForwards(client, plans, (e) => {
    if (e.type === 'step' && e.phase !== 'progress') return;
    print(e);
  });
  for (const f of open.forwards) process.stdout.write(`forward ${forwardLine(f.plan)}\n`);
  process.stdout.write('Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await open.close();
  return 0;
}

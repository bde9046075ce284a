/**
 * `devenv prerelease up | test | down | gc`: parse, call src/prerelease, print. Progress
 * goes through the plain printer (these commands run in CI logs); the last line of each
 * command is a one-line summary.
 */
import { loadConfig } from '../../config/load.ts';
import type { GlobalOptions } from '../options.ts';

interface Common {
  context?: string;
  kubeconfig?: string;
  name?: string;
}

async function printer() {
  const { createPlainPrinter } = await import('../../tui/plain.ts');
  return createPlainPrinter(process.stdout);
}

const out = (s: string) => process.stdout.write(`${s}\n`);

export async function up(
  opts: Common & { imageTag?: string; build?: boolean; registry?: string; force?: boolean },
  _args: string[],
  global: GlobalOptions,
): Promise<number> {
  const loaded = loadConfig(global.config);
  const { prereleaseUp } = await import('../../prerelease/up.ts');
  const r = await prereleaseUp({
    loaded,
    ...given(opts, 'context', 'kubeconfig', 'name', 'imageTag', 'build', 'registry', 'force'),
    onEvent: await printer(),
  });
  const c = r.reconcile;
  for (const n of r.notes) out(`note: ${n}`);
  if (r.database)
    out(
      `database ${r.database.database} (user ${r.database.user}) ${r.database.mode === 'shared' ? 'on the shared server' : `on an ephemeral server in ${r.namespace} (Service devenv-db)`}`,
    );
  if (r.buckets?.length) out(`buckets: ${r.buckets.join(', ')}`);
  out(
    `prerelease ${r.namespace} is up in ${(r.ms / 1000).toFixed(1)} s (context ${r.context}, expires ${r.expiresAt}): ` +
      `${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.pruned} pruned, ${r.ready.length} workloads ready`,
  );
  return 0;
}

export async function test(
  opts: Common & { junit?: string; artifacts?: string; timeout?: string; command?: string },
  _args: string[],
  global: GlobalOptions,
): Promise<number> {
  const loaded = loadConfig(global.config);
  const { prereleaseTest } = await import('../../prerelease/test-run.ts');
  const r = await prereleaseTest({
    loaded,
    ...given(opts, 'context', 'kubeconfig', 'name', 'junit', 'artifacts', 'timeout', 'command'),
    onEvent: await printer(),
  });
  const s = r.status;
  const j = s.junit;
  if (s.error) out(`${s.result}: ${s.error}`);
  out(
    `tests ${s.result.toUpperCase()} in ${s.namespace} after ${(s.durationMs / 1000).toFixed(1)} s` +
      (j
        ? ` — ${j.tests} tests, ${j.failures} failures, ${j.errors} errors, ${j.skipped} skipped`
        : ' — no JUnit report') +
      `; artifacts in ${r.artifacts}`,
  );
  return r.exitCode;
}

export async function down(opts: Common, _args: string[], global: GlobalOptions): Promise<number> {
  const loaded = loadConfig(global.config);
  const { prereleaseDown } = await import('../../prerelease/lifecycle.ts');
  const r = await prereleaseDown({
    loaded,
    ...given(opts, 'context', 'kubeconfig', 'name'),
    onEvent: await printer(),
  });
  for (const n of r.data.notes) out(`note: ${n}`);
  const dropped = [
    ...(r.data.database ? [`database ${r.data.database}`] : []),
    ...(r.data.user ? [`user ${r.data.user}`] : []),
    ...(r.data.buckets.length ? [`buckets ${r.data.buckets.join(', ')}`] : []),
  ];
  out(
    `${r.deleted ? `deleted namespace ${r.namespace}` : `no namespace ${r.namespace}`}` +
      (dropped.length ? `; dropped ${dropped.join(', ')}` : ''),
  );
  return 0;
}

export async function gc(
  opts: { context?: string; kubeconfig?: string; dryRun?: boolean },
  _args: string[],
  global: GlobalOptions,
): Promise<number> {
  const loaded = loadConfig(global.config);
  const { prereleaseGc } = await import('../../prerelease/lifecycle.ts');
  const r = await prereleaseGc({
    loaded,
    ...given(opts, 'context', 'kubeconfig', 'dryRun'),
    onEvent: await printer(),
  });
  for (const e of r.expired) out(`${r.dryRun ? 'would delete' : 'deleted'} ${e.name} (${e.reason})`);
  for (const k of r.kept) out(`kept ${k.name} (${k.reason})`);
  for (const [ns, d] of Object.entries(r.data)) for (const n of d.notes) out(`note: ${ns}: ${n}`);
  out(
    r.dryRun
      ? `${r.expired.length} expired prerelease namespace(s) would be deleted; ${r.kept.length} kept`
      : `${r.deleted.length} expired prerelease namespace(s) deleted; ${r.kept.length} kept`,
  );
  return 0;
}

/**
 * The options among `keys` that were given (a non-empty string, or true), and no others:
 * an option left out stays absent rather than undefined.
 */
function given<T extends object, K extends keyof T>(o: T, ...keys: K[]): { [P in K]?: NonNullable<T[P]> } {
  const out: { [P in K]?: NonNullable<T[P]> } = {};
  for (const k of keys) if (o[k]) out[k] = o[k] as NonNullable<T[K]>;
  return out;
}

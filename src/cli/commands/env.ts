/**
 * `devenv env [--json] [--show-secrets]`: the host-side connection variables of the data
 * services (DATABASE_URL, DB_*, S3_*), as dotenv lines or JSON. Secrets are masked
 * ("****") unless --show-secrets is given, so the default output is safe to paste.
 * Needs the project's credentials (created by `devenv up`), not a running engine.
 */
import { loadConfig } from '../../config/load.ts';
import { endpointsOf } from '../../data/endpoints.ts';
import { resolveDataPlan } from '../../data/resolve.ts';
import { connectionVars, formatDotenv } from '../../data/vars.ts';
import { dim } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

export async function run(
  opts: { json?: boolean; showSecrets?: boolean },
  _args: string[],
  global: GlobalOptions,
): Promise<number> {
  const { config, root } = loadConfig(global.config);
  if (!config.database && !config.objectStore) {
    process.stderr.write('no data services in devenv.yaml (add "database:" or "objectStore:").\n');
    if (opts.json) process.stdout.write('{}\n');
    return 0;
  }
  const plan = resolveDataPlan(config, root, { readOnly: true });
  // Ports published on an ephemeral host port are only known from the running container.
  const ephemeral = [plan.database, plan.objectStore].some((s) => s && s.hostPort === undefined);
  let actual = {};
  if (ephemeral) {
    const { inspectContainer } = await import('../../docker/containers.ts');
    const [db, os] = await Promise.all([
      plan.database ? inspectContainer(plan.database.containerName).catch(() => undefined) : undefined,
      plan.objectStore ? inspectContainer(plan.objectStore.containerName).catch(() => undefined) : undefined,
    ]);
    actual = { ...(db ? { database: db } : {}), ...(os ? { objectStore: os } : {}) };
  }
  const endpoints = endpointsOf(plan, actual);
  const vars = connectionVars(endpoints.host, { mask: !opts.showSecrets });
  if (opts.json) process.stdout.write(`${JSON.stringify(vars, null, 2)}\n`);
  else {
    process.stdout.write(`${formatDotenv(vars)}\n`);
    if (!opts.showSecrets && process.stderr.isTTY) {
      process.stderr.write(
        `${dim('# secrets masked; "devenv env --show-secrets" prints them', process.stderr)}\n`,
      );
    }
  }
  return 0;
}

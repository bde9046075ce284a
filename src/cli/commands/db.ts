/**
 * `devenv db shell | snapshot [name] | restore NAME | snapshots`: the database outside
 * the cluster. Each runner is exported by name; main.ts wires one per sub-command.
 * Everything runs through the Docker engine (clients inside the database container),
 * so the host needs no psql / mysql; snapshots live in the MinIO bucket devenv-snapshots.
 */
import { loadConfig } from '../../config/load.ts';
import { clientCommand } from '../../data/database.ts';
import { connectObjectStore } from '../../data/endpoints.ts';
import type { DbTarget } from '../../data/engines/types.ts';
import type { DatabasePlan, DataPlan } from '../../data/plan.ts';
import { dbTarget, resolveDataPlan } from '../../data/resolve.ts';
import {
  checkRestorable,
  createSnapshot,
  defaultSnapshotName,
  listSnapshots,
  restoreSnapshot,
  SNAPSHOT_NAME_RE,
  saveBeforeRestore,
} from '../../data/snapshot.ts';
import { SNAPSHOT_BUCKET } from '../../data/types.ts';
import { inspectManaged } from '../../docker/containers.ts';
import { engineInfo } from '../../docker/engine.ts';
import { execInteractive } from '../../docker/exec.ts';
import { badInput, DevenvError } from '../../errors.ts';
import { green } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

interface Ctx {
  plan: DataPlan;
  db: DatabasePlan;
  target: DbTarget;
}

async function context(global: GlobalOptions): Promise<Ctx> {
  const { config, root } = loadConfig(global.config);
  if (!config.database)
    throw badInput('no database in devenv.yaml: add a "database:" section (engine: postgres or mysql).');
  const plan = resolveDataPlan(config, root, { readOnly: true });
  const db = plan.database!;
  await engineInfo();
  const state = await inspectManaged(db.containerName, plan.project);
  if (!state?.running) {
    throw new DevenvError(
      `the database container "${db.containerName}" is not running; start it with "devenv up".`,
    );
  }
  return { plan, db, target: dbTarget(db, plan.credentials) };
}

/** `devenv db shell`: psql / mysql in the container, attached to this terminal (or to piped stdin). */
export async function shell(_opts: unknown, _args: string[], global: GlobalOptions): Promise<number> {
  const { target } = await context(global);
  const c = clientCommand(target);
  return execInteractive(target.container, c.cmd, { env: c.env });
}

/** `devenv db snapshot [name]`: dump every database into the object store. */
export async function snapshot(_opts: unknown, args: string[], global: GlobalOptions): Promise<number> {
  const name = args[0] ?? defaultSnapshotName();
  if (!SNAPSHOT_NAME_RE.test(name)) {
    throw badInput(
      `snapshot name ${JSON.stringify(name)} is not allowed: use letters, digits, ".", "_" and "-".`,
    );
  }
  const { plan, db, target } = await context(global);
  const store = await connectObjectStore(plan);
  try {
    const t0 = performance.now();
    const r = await createSnapshot(store, target, plan.project, db.databases, name);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    process.stdout.write(
      `${green('snapshot')} ${r.name}: ${db.databases.join(', ')} -> s3://${SNAPSHOT_BUCKET}/${r.key} (${formatBytes(r.bytes)}, ${s} s)\n`,
    );
  } finally {
    store.close();
  }
  return 0;
}

/**
 * `devenv db restore NAME`. The databases' current state is saved as a snapshot first and
 * named, so a wrong restore can be undone ("devenv db restore before-restore-…"). A name
 * that does not exist is refused before anything is saved or replaced.
 */
export async function restore(_opts: unknown, args: string[], global: GlobalOptions): Promise<number> {
  const name = args[0];
  if (!name)
    throw badInput('which snapshot? "devenv db restore NAME" (list them with "devenv db snapshots").');
  const { plan, db, target } = await context(global);
  const store = await connectObjectStore(plan);
  try {
    await checkRestorable(store, target, plan.project, name);
    const saved = await saveBeforeRestore(store, target, plan.project, db.databases);
    process.stdout.write(
      `${green('snapshot')} ${saved.name}: the current ${db.databases.join(', ')} before the restore (${formatBytes(saved.bytes)}); undo the restore with "devenv db restore ${saved.name}"\n`,
    );
    const t0 = performance.now();
    await restoreSnapshot(store, target, plan.project, name);
    process.stdout.write(
      `${green('restored')} ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
    );
  } finally {
    store.close();
  }
  return 0;
}

/** `devenv db snapshots`. */
export async function snapshots(_opts: unknown, _args: string[], global: GlobalOptions): Promise<number> {
  const { config, root } = loadConfig(global.config);
  const plan = resolveDataPlan(config, root, { readOnly: true });
  await engineInfo();
  const store = await connectObjectStore(plan);
  try {
    const list = await listSnapshots(store, plan.project);
    if (list.length === 0) {
      process.stderr.write('no snapshots yet; take one with "devenv db snapshot [name]".\n');
      return 0;
    }
    const w = Math.max(4, ...list.map((s) => s.name.length));
    process.stdout.write(`${'NAME'.padEnd(w)}  ${'SIZE'.padStart(9)}  CREATED\n`);
    for (const s of list) {
      process.stdout.write(
        `${s.name.padEnd(w)}  ${formatBytes(s.size).padStart(9)}  ${s.created ? s.created.toISOString() : ''}\n`,
      );
    }
  } finally {
    store.close();
  }
  return 0;
}

export async function run(opts: unknown, args: string[], global: GlobalOptions): Promise<number> {
  return shell(opts, args, global);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

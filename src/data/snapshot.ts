/**
 * Database snapshots in the object store (bucket `devenv-snapshots`, keys
 * `<project>/<name>.sql.gz`). A snapshot streams pg_dump / mysqldump output from the
 * exec stream through gzip straight into an S3 upload; a restore streams the object
 * back through gunzip into the client's stdin. No temp file on the host, nothing
 * buffered whole in memory.
 */
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { execPipe } from '../docker/exec.ts';
import { badInput, DevenvError } from '../errors.ts';
import { dumpCommands, restoreCommand } from './database.ts';
import type { DbTarget } from './engines/types.ts';
import type { ObjectStore } from './s3.ts';
import { SNAPSHOT_BUCKET } from './types.ts';

export const SNAPSHOT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function snapshotKey(project: string, name: string): string {
  return `${project}/${name}.sql.gz`;
}

/** Default snapshot name: UTC time, sortable, e.g. 20260501-143000. */
export function defaultSnapshotName(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME_RE.test(name)) {
    throw badInput(
      `snapshot name ${JSON.stringify(name)} is not allowed: use letters, digits, ".", "_" and "-" (at most 100, starting with a letter or digit).`,
    );
  }
}

export interface SnapshotInfo {
  name: string;
  size: number;
  created?: Date;
}

export async function listSnapshots(store: ObjectStore, project: string): Promise<SnapshotInfo[]> {
  await store.ensureBucket(SNAPSHOT_BUCKET);
  const prefix = `${project}/`;
  return (await store.list(SNAPSHOT_BUCKET, prefix))
    .filter((o) => o.key.endsWith('.sql.gz'))
    .map((o) => ({
      name: o.key.slice(prefix.length, -'.sql.gz'.length),
      size: o.size,
      ...(o.lastModified ? { created: o.lastModified } : {}),
    }))
    .sort(
      (a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0) || a.name.localeCompare(b.name),
    );
}

/** Dumps every database of the project into a new snapshot. Refuses to overwrite one. */
export async function createSnapshot(
  store: ObjectStore,
  t: DbTarget,
  project: string,
  databases: string[],
  name: string,
): Promise<{ name: string; key: string; bytes: number }> {
  checkSnapshotName(name);
  await store.ensureBucket(SNAPSHOT_BUCKET);
  const key = snapshotKey(project, name);
  if (await store.exists(SNAPSHOT_BUCKET, key)) {
    throw badInput(`snapshot "${name}" already exists; choose another name (see "devenv db snapshots").`);
  }

  const raw = new PassThrough();
  let bytes = 0;
  const counted = new PassThrough();
  counted.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  const gz = createGzip();
  const body = raw.pipe(gz).pipe(counted);
  const upload = store.uploadStream(SNAPSHOT_BUCKET, key, body, {
    contentType: 'application/gzip',
    metadata: { engine: t.engine, databases: databases.join(','), 'devenv-project': project },
  });

  const dump = (async () => {
    for (const c of dumpCommands(t, databases)) {
      if (c.header) raw.write(c.header);
      const stderr: Buffer[] = [];
      const errSink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          stderr.push(chunk);
          cb();
        },
      });
      const { done } = await execPipe(t.container, c.cmd, { env: c.env, stdout: raw, stderr: errSink });
      const code = await done;
      if (code !== 0) {
        throw new DevenvError(`${c.cmd[0]} failed (exit code ${code}); no snapshot was stored.`, {
          details: Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-8),
        });
      }
    }
    raw.end();
  })();

  try {
    await Promise.all([
      dump.catch((err) => {
        raw.destroy(err as Error);
        throw err;
      }),
      upload,
    ]);
  } catch (err) {
    // A failed dump must not leave a truncated snapshot that a restore would trust.
    await store.delete(SNAPSHOT_BUCKET, key).catch(() => {});
    const dumpErr = await dump.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw dumpErr ?? err;
  }
  return { name, key, bytes };
}

/** Bad input (exit 2) unless snapshot `name` exists for the project and was taken from this engine. */
export async function checkRestorable(
  store: ObjectStore,
  t: DbTarget,
  project: string,
  name: string,
): Promise<void> {
  checkSnapshotName(name);
  const head = await store.head(SNAPSHOT_BUCKET, snapshotKey(project, name)).catch(() => undefined);
  if (!head) {
    const have = (await listSnapshots(store, project)).map((s) => s.name);
    throw badInput(
      `no snapshot named "${name}" for project "${project}"${have.length ? ` (snapshots: ${have.join(', ')})` : ' (there are none yet: "devenv db snapshot")'}.`,
    );
  }
  const engine = head.metadata.engine;
  if (engine && engine !== t.engine) {
    throw badInput(`snapshot "${name}" was taken from ${engine}; this project's database is ${t.engine}.`);
  }
}

/**
 * The way back from a restore: before `db restore` replaces the databases, their current
 * state is saved as a new snapshot, `before-restore-<UTC time>` (with `-2`, `-3`… if that
 * name is taken), which `db restore` of that name brings back.
 */
export async function saveBeforeRestore(
  store: ObjectStore,
  t: DbTarget,
  project: string,
  databases: string[],
  now = new Date(),
): Promise<{ name: string; key: string; bytes: number }> {
  await store.ensureBucket(SNAPSHOT_BUCKET);
  const base = `before-restore-${defaultSnapshotName(now)}`;
  let name = base;
  for (let i = 2; await store.exists(SNAPSHOT_BUCKET, snapshotKey(project, name)); i++) name = `${base}-${i}`;
  return createSnapshot(store, t, project, databases, name);
}

/**
 * Restores a snapshot into the running database (objects in the dump are dropped and
 * recreated). It replaces what is there: callers save the current state first
 * (saveBeforeRestore), as `devenv db restore` does.
 */
export async function restoreSnapshot(
  store: ObjectStore,
  t: DbTarget,
  project: string,
  name: string,
): Promise<void> {
  await checkRestorable(store, t, project, name);
  const key = snapshotKey(project, name);
  const src = await store.getStream(SNAPSHOT_BUCKET, key);
  const sql = new PassThrough();
  const unzip = pipeline(src, createGunzip(), sql);
  const c = restoreCommand(t);
  const stderr: Buffer[] = [];
  const errSink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      stderr.push(chunk);
      cb();
    },
  });
  const out = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const { done } = await execPipe(t.container, c.cmd, {
    env: c.env,
    stdin: sql,
    stdout: out,
    stderr: errSink,
  });
  const [code] = await Promise.all([done, unzip]);
  if (code !== 0) {
    throw new DevenvError(`restoring snapshot "${name}" failed (exit code ${code}).`, {
      details: Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-8),
    });
  }
}

/** Helpers shared by the docker-tier data-service tests. */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { destroyDataServices } from '../../src/data/destroy.ts';
import { ensureDataServices } from '../../src/data/lifecycle.ts';
import type { DataEndpoints } from '../../src/data/types.ts';
import { demuxBuffer, listContainers, removeContainer } from '../../src/docker/containers.ts';
import { docker } from '../../src/docker/engine.ts';
import { ensureNetwork, removeNetworks } from '../../src/docker/networks.ts';
import type { ProgressEvent, StepEvent } from '../../src/events.ts';
import { projectLabels } from '../../src/labels.ts';

/**
 * Runs a one-off container on a network (standing in for a pod on k3d's network), then
 * removes it with its anonymous volumes (the database images declare VOLUME).
 */
export async function runOnNetwork(
  project: string,
  network: string,
  image: string,
  cmd: string[],
  env: string[],
): Promise<{ code: number; out: string }> {
  const d = await docker();
  const c = await d.createContainer({
    Image: image,
    Cmd: cmd,
    Env: env,
    Entrypoint: [],
    Labels: projectLabels(project, { 'dev.devenv/component': 'test' }),
    HostConfig: { NetworkMode: network },
  });
  try {
    await c.start();
    const r = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { code: r.StatusCode, out: demuxBuffer(logs) };
  } finally {
    await c.remove({ force: true, v: true });
  }
}

/** The phases (start, done, skip, fail) a step went through. */
export const stepPhases = (events: ProgressEvent[], id: string) =>
  events
    .filter((e): e is StepEvent => e.type === 'step' && e.id === id && e.phase !== 'progress')
    .map((e) => e.phase);

type Cli = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/**
 * A wrong `devenv db restore` can be undone, whatever the engine: the restore first saves
 * the current databases as a snapshot and names it; restoring that one brings back what
 * the wrong restore replaced. Needs a table `items (id int, name text)`; leaves it as it
 * found it. `names()` reads `SELECT name FROM items ORDER BY id`; `exec` runs one statement.
 */
export async function expectRestoreUndoable(db: {
  cli: Cli;
  names: () => Promise<string[]>;
  exec: (sql: string) => Promise<unknown>;
}): Promise<void> {
  const { cli } = db;
  const before = await db.names();
  const snap = await cli(['db', 'snapshot', 'undo-base']);
  expect(snap.code, snap.stderr).toBe(0);
  // Work done after that snapshot, which a restore of it would lose.
  await db.exec("INSERT INTO items VALUES (100, 'after-snapshot')");
  expect(await db.names()).toEqual([...before, 'after-snapshot']);

  // A restore of a name that does not exist is refused before anything is saved.
  const listBefore = (await cli(['db', 'snapshots'])).stdout;
  const missing = await cli(['db', 'restore', 'no-such-snapshot']);
  expect(missing.code).toBe(2);
  expect((await cli(['db', 'snapshots'])).stdout).toBe(listBefore);

  const wrong = await cli(['db', 'restore', 'undo-base']);
  expect(wrong.stderr).toBe('');
  expect(wrong.code).toBe(0);
  const saved =
    /^snapshot (before-restore-\d{8}-\d{6}(?:-\d+)?): the current .* before the restore .*; undo the restore with "devenv db restore \1"$/m.exec(
      wrong.stdout,
    )?.[1];
  expect(saved, wrong.stdout).toBeDefined();
  expect(await db.names()).toEqual(before); // the wrong restore replaced the new row
  expect((await cli(['db', 'snapshots'])).stdout).toMatch(new RegExp(`^${saved}\\s+\\d`, 'm'));

  // The undo: restoring the saved snapshot brings the new row back (and saves another).
  const undo = await cli(['db', 'restore', saved!]);
  expect(undo.code, undo.stderr).toBe(0);
  const savedAgain = /^snapshot (before-restore-\S+):/m.exec(undo.stdout)?.[1];
  expect(savedAgain).toBeDefined();
  expect(savedAgain).not.toBe(saved);
  expect(await db.names()).toEqual([...before, 'after-snapshot']);

  await db.exec('DELETE FROM items WHERE id = 100');
  expect(await db.names()).toEqual(before);
}

/** `ensureDataServices` for the devenv.yaml in `dir`, on `network` (2 min at most), its events pushed to `events`. */
export async function upData(
  dir: string,
  network: string,
  events: ProgressEvent[] = [],
): Promise<DataEndpoints> {
  const { config, root } = loadConfig(join(dir, 'devenv.yaml'));
  return ensureDataServices({
    config,
    root,
    network,
    onEvent: (e) => events.push(e),
    timeoutMs: 120_000,
  });
}

/** Removes what a data test made in Docker for `project`: its containers, data services, volumes and networks. */
export async function removeDataProject(project: string): Promise<void> {
  for (const c of await listContainers(projectLabels(project))) await removeContainer(c.name);
  await destroyDataServices(project).catch(() => {});
  await removeNetworks(projectLabels(project)).catch(() => {});
}

/** Creates the project's network, labelled as the test's (removeDataProject removes it). */
export const ensureTestNetwork = (network: string, project: string) =>
  ensureNetwork(network, projectLabels(project, { 'dev.devenv/component': 'test' }));

/** The end of a data test: the project gone from Docker, DEVENV_STATE_DIR unset, its temp dir removed. */
export async function cleanupDataTest(project: string, dir: string | undefined): Promise<void> {
  await removeDataProject(project);
  delete process.env.DEVENV_STATE_DIR;
  if (dir) await rm(dir, { recursive: true, force: true });
}

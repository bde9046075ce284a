/** Helpers shared by the docker-tier data-service tests. */
import { demuxBuffer } from '../../src/docker/containers.ts';
import { docker } from '../../src/docker/engine.ts';
import { devenvLabels } from '../../src/docker/labels.ts';
import type { ProgressEvent, StepEvent } from '../../src/engine/events.ts';

/** Runs a one-off container on a network (standing in for a pod on k3d's network). */
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
    Labels: devenvLabels(project, { 'dev.devenv/component': 'test' }),
    HostConfig: { NetworkMode: network },
  });
  try {
    await c.start();
    const r = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { code: r.StatusCode, out: demuxBuffer(logs) };
  } finally {
    await c.remove({ force: true });
  }
}

/** The phases (start, done, skip, fail) a step went through. */
export const stepPhases = (events: ProgressEvent[], id: string) =>
  events
    .filter((e): e is StepEvent => e.type === 'step' && e.id === id && e.phase !== 'progress')
    .map((e) => e.phase);

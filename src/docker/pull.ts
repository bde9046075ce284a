/**
 * Runtime images (the database, MinIO): present locally, or pulled once; a clear
 * bad-input error when neither works. Checked BEFORE anything is created, so a typo in
 * an image name leaves nothing behind.
 */
import { badInput } from '../errors.ts';
import { describeDockerError, docker, withTimeout } from './engine.ts';

export interface ImageFacts {
  id: string;
  /** Paths the image declares as VOLUME (Docker would create unlabelled anonymous volumes there). */
  volumes: string[];
}

/** "minio/minio" -> "minio/minio:latest"; refs with a tag or digest are unchanged. */
export function withDefaultTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

async function inspect(ref: string): Promise<ImageFacts | undefined> {
  const d = await docker();
  try {
    const info = await d.getImage(ref).inspect();
    return { id: info.Id, volumes: Object.keys(info.Config?.Volumes ?? {}) };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * The image's facts, pulling it first when it is not present.
 * `configKey` names the devenv.yaml key that chose the image, for the error message.
 */
export async function ensureImage(
  ref: string,
  configKey: string,
  onPull?: (ref: string) => void,
): Promise<ImageFacts> {
  const full = withDefaultTag(ref);
  const have = await inspect(full);
  if (have) return have;
  onPull?.(full);
  const d = await docker();
  try {
    const stream = await d.pull(full);
    await new Promise<void>((resolve, reject) => {
      d.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = err ?? out?.find((o) => o.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(String(failed.error)));
        else resolve();
      });
    });
  } catch (err) {
    throw badInput(
      `image "${full}" is not on this machine and cannot be pulled (${firstLine(describeDockerError(err))}). ` +
        `Set ${configKey} in devenv.yaml to an image you have (see "docker images"), or check the name and your registry access.`,
    );
  }
  const pulled = await inspect(full);
  if (!pulled)
    throw badInput(`image "${full}" was pulled but cannot be found; set ${configKey} to another image.`);
  return pulled;
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).slice(0, 200);
}

export type ImageAvailability =
  | { state: 'present' }
  | { state: 'pullable' }
  | { state: 'missing'; reason: string };

/**
 * Where an image would come from, WITHOUT pulling it: present in the engine (no network
 * at all), else a registry manifest request through the engine's distribution API
 * (`GET /distribution/{name}/json`: the engine resolves the name with its own mirrors,
 * credentials helpers and insecure-registry settings, as a pull would).
 */
export async function imageAvailability(ref: string, timeoutMs = 20_000): Promise<ImageAvailability> {
  const full = withDefaultTag(ref);
  if (await inspect(full)) return { state: 'present' };
  const d = await docker();
  try {
    await withTimeout(d.getImage(full).distribution({}), timeoutMs, 'registry manifest request');
    return { state: 'pullable' };
  } catch (err) {
    // dockerode prefixes "(HTTP code 500) server error - "; the engine's own words follow.
    const reason = firstLine(describeDockerError(err)).replace(/^\(HTTP code \d+\)[^-]*-\s*/, '');
    return { state: 'missing', reason: reason.trim() };
  }
}

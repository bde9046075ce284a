/**
 * The local image registry (k3d's registry, distribution's `registry`), spoken to over the
 * Docker Registry HTTP API v2 directly: plain HTTP, no auth, as devenv runs it on the
 * developer's machine. Only what the build step needs: "is this tag there?".
 */
import { DevenvError } from '../errors.ts';
import { notYet, ready, waitUntil } from '../wait.ts';

/** Every manifest type a build may push; the registry answers 404 for types not accepted. */
const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/**
 * True when `registry` (host:port) serves a manifest for `repo:tag`: HEAD
 * /v2/<repo>/manifests/<tag> → 200. 404 → false; anything else (registry down, 5xx) is an
 * error, because "not there" would trigger a push that fails less clearly.
 */
export async function registryHasManifest(
  registry: string,
  repo: string,
  tag: string,
  timeoutMs = 5000,
): Promise<boolean> {
  const url = `http://${registry}/v2/${repo}/manifests/${encodeURIComponent(tag)}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new DevenvError(
      `image registry ${registry} not reachable (${cause}); is the devenv cluster's registry running? ("devenv up" starts it)`,
      { cause: err },
    );
  }
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new DevenvError(`image registry ${registry} answered ${res.status} to HEAD ${url}`);
}

/**
 * Waits until `registry` answers its API root (GET /v2/ → 200, or 401 where auth is on).
 * `up` calls it once the cluster step has created or started the registry container: k3d
 * reports the container started before the registry listens on its host port, and a push
 * racing it failed with ECONNREFUSED on a first `up`.
 */
export async function waitForRegistry(registry: string, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  await waitUntil(
    {
      describe: `image registry ${registry} to answer`,
      probe: async () => {
        try {
          const res = await fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(2000) });
          return res.status === 200 || res.status === 401 ? ready() : notYet(`HTTP ${res.status}`);
        } catch (err) {
          return notYet((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
        }
      },
      diagnose: async () => [
        'check its container ("docker ps -a --filter name=registry") and that no other program holds the port',
      ],
    },
    { timeoutMs, intervalMs: 200 },
  );
  return Math.round(performance.now() - t0);
}

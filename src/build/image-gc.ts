/**
 * Garbage collection of devenv's own images in the local engine (pure planning; the
 * listing and removal are src/docker/images.ts's).
 *
 * Every save builds a new content-tagged image, so without collection a day of editing
 * leaves hundreds of images behind. After each build, the repository it built into keeps
 * its `keep` newest images (by creation time) and loses the others, like Tilt's image
 * pruning and Skaffold's cleanup. Kept images make an undo instant: content tags mean that
 * reverting an edit finds its image still there; an older revert rebuilds, from the
 * build cache.
 *
 * Only images that carry devenv's labels for the project and service are candidates (the
 * lister filters by them), only their tags in the service's own repository are removed
 * (a tag a user added elsewhere keeps the image), and a `protect`ed ref (the one just
 * built, which may be old by creation time when the build cache recreated it) always stays.
 */

/** How many images each service repository keeps in the local engine. */
export const KEEP_IMAGES = 3;

export interface RepoImage {
  /** `repository:tag`. */
  ref: string;
  /** Creation time, ms since the epoch. */
  created: number;
}

/** The refs to remove: all but the `keep` newest, protected refs counted first and never removed. */
export function imagesToRemove(
  images: readonly RepoImage[],
  keep: number,
  protect: ReadonlySet<string> = new Set(),
): string[] {
  const protectedHere = images.filter((i) => protect.has(i.ref)).length;
  const rest = images
    .filter((i) => !protect.has(i.ref))
    .sort((a, b) => b.created - a.created || a.ref.localeCompare(b.ref));
  return rest.slice(Math.max(0, keep - protectedHere)).map((i) => i.ref);
}

/**
 * True when `ref` is a tag in `repository` under any registry (`<registry>/<repository>`,
 * or `repository` itself): the only tags devenv removes. A tag a user put on a devenv
 * image in another repository is the user's.
 */
export function inRepository(ref: string, repository: string): boolean {
  const at = ref.lastIndexOf(':');
  const repo = at > ref.lastIndexOf('/') ? ref.slice(0, at) : ref;
  return repo === repository || repo.endsWith(`/${repository}`);
}

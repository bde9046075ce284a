/**
 * Image references, parsed the way Docker and containerd read them, so that devenv can
 * tell which container of a production manifest runs which of the project's services.
 *
 * Pure module: no I/O.
 */

export interface ImageRef {
  /** Registry host[:port], '' when the reference has none (Docker Hub). */
  domain: string;
  /** Repository path, e.g. "shop/api"; Docker Hub's "library/" prefix removed. */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Splits `[domain/]repository[:tag][@digest]`. The first path component is a registry
 * host only if it contains "." or ":" or is "localhost" (Docker's rule), so "shop/api"
 * is a repository while "localhost:5001/shop/api" and "ghcr.io/acme/api" carry a host.
 */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let domain = '';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let repository = rest;
  if ((domain === '' || DOCKER_HUB.has(domain)) && repository.startsWith('library/')) {
    repository = repository.slice('library/'.length);
  }
  const out: ImageRef = { domain: DOCKER_HUB.has(domain) ? '' : domain, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** The repository a reference names, ignoring registry host, tag and digest. */
export function imageRepository(ref: string): string {
  return parseImageRef(ref).repository;
}

/**
 * Looks up the replacement for a manifest's image: `images` maps a repository name
 * ("shop/api") to the full reference devenv built ("localhost:5001/shop/api:<tag>").
 * Returns the key that matched and the replacement, or undefined.
 */
export function replacementFor(
  image: string,
  images: Readonly<Record<string, string>>,
): { key: string; ref: string } | undefined {
  const repo = imageRepository(image);
  for (const [key, ref] of Object.entries(images)) {
    if (imageRepository(key) === repo) return { key, ref };
  }
  return undefined;
}

/**
 * The tools devenv fetches itself when the machine lacks them: ONE table of pinned
 * releases (name, version, per-platform URL + sha256). `provision.ts` downloads an entry,
 * verifies it against this table and caches it; nothing else decides what is trusted.
 *
 * Rules for an entry (test/unit/tools-provision.test.ts checks the shape of each):
 *  - the sha256 comes from the release's PUBLISHED checksums (or a record of them), never
 *    from a file downloaded to compute it; its source is named beside it (repo, path,
 *    commit), so a reviewer can check it;
 *  - a platform whose published checksum could not be found is left OUT: devenv then says
 *    "no pinned checksum" and how to install the tool by hand, instead of trusting a file;
 *  - the URL is the project's own release download; `DEVENV_TOOLS_MIRROR` replaces it by
 *    `<mirror>/<name>/<version>/<file name>` (users behind a mirror, and the tests).
 * Helm (charts) joins as another entry; an archive (helm's .tar.gz) needs an `member` to
 * extract, added with it.
 */

export type Platform = 'linux-amd64' | 'linux-arm64' | 'darwin-amd64' | 'darwin-arm64';
export const PLATFORMS: readonly Platform[] = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64'];

export interface PinnedFile {
  /** The upstream release download. */
  url: string;
  /** Lowercase hex sha256 of that file, as published for the release. */
  sha256: string;
}

export interface PinnedTool {
  name: string;
  /** The release tag, e.g. "v5.8.3". */
  version: string;
  files: Partial<Record<Platform, PinnedFile>>;
}

const K3D_RELEASE = 'https://github.com/k3d-io/k3d/releases/download/v5.8.3';

/*
 * k3d v5.8.3. k3d's release workflow (k3d-io/k3d .github/workflows/release.yaml at tag
 * v5.8.3, `make gen-checksum`) publishes _dist/checksums.txt beside the binaries. That file
 * could not be read from here (no internet), so each value is taken from public records of
 * it, and every value below is the same in each record that has it:
 *  - cashapp/hermit-packages k3d.hcl, sha256sums of the release URLs:
 *      linux-amd64, darwin-amd64, darwin-arm64 added in f5a911ef350857cc3cec4095bc41493507376cc1
 *      ("Auto-versioned: ... k3d.hcl", 2025-02-16); linux-arm64 added in
 *      d9e94bc482e83bf7e6fc54175b71037657329dfa ("chore: update linux/arm64 digests", 2025-03-10);
 *  - epinio/epinio scripts/tools/k3d.sh at 5121323e83ed299b5985299c3dc6edac295dfae0
 *      (VERSION="5.8.3", SHA256 of k3d-linux-amd64);
 *  - install scripts kept by Renovate (datasource github-release-attachments, which reads a
 *    release's checksum file), indexed without their repository name: linux-amd64,
 *    linux-arm64, darwin-amd64, darwin-arm64 all four the same as above;
 *  - the AUR package rancher-k3d-bin 5.8.3 (written by k3d's own release CI, deploy-aur.sh):
 *      linux-amd64 and linux-arm64 the same as above.
 */
export const K3D: PinnedTool = {
  name: 'k3d',
  version: 'v5.8.3',
  files: {
    'linux-amd64': {
      url: `${K3D_RELEASE}/k3d-linux-amd64`,
      sha256: 'dbaa79a76ace7f4ca230a1ff41dc7d8a5036a8ad0309e9c54f9bf3836dbe853e',
    },
    'linux-arm64': {
      url: `${K3D_RELEASE}/k3d-linux-arm64`,
      sha256: '0b8110f2229631af7402fb828259330985918b08fefd38b7f1b788a1c8687216',
    },
    'darwin-amd64': {
      url: `${K3D_RELEASE}/k3d-darwin-amd64`,
      sha256: 'fd0f8e9e8ea4d8bc3674572ca6ed0833b639bf57c43c708616d937377324cfea',
    },
    'darwin-arm64': {
      url: `${K3D_RELEASE}/k3d-darwin-arm64`,
      sha256: '8da468daa7dc7cf7cdd4735f90a9bb05179fa27858250f62e3d8cdf5b5ca0698',
    },
  },
};

export const PINNED_TOOLS: Readonly<Record<string, PinnedTool>> = { k3d: K3D };

/** This machine as a release platform, or undefined (another OS or CPU: nothing pinned). */
export function currentPlatform(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): Platform | undefined {
  const os = platform === 'linux' || platform === 'darwin' ? platform : undefined;
  const cpu = arch === 'x64' ? 'amd64' : arch === 'arm64' ? 'arm64' : undefined;
  return os && cpu ? `${os}-${cpu}` : undefined;
}

/** Where a pinned file is fetched from: the release URL, or its place under DEVENV_TOOLS_MIRROR. */
export function downloadUrl(
  tool: PinnedTool,
  file: PinnedFile,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const mirror = env.DEVENV_TOOLS_MIRROR?.replace(/\/+$/, '');
  if (!mirror) return file.url;
  return `${mirror}/${tool.name}/${tool.version}/${file.url.slice(file.url.lastIndexOf('/') + 1)}`;
}

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
 * A release that ships an archive (helm's .tar.gz) names the tool's path inside it
 * (`member`): the pinned sha256 is the archive's, and the tool is extracted from the
 * verified archive only.
 */

export type Platform = 'linux-amd64' | 'linux-arm64' | 'darwin-amd64' | 'darwin-arm64';
export const PLATFORMS: readonly Platform[] = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64'];

export interface PinnedFile {
  /** The upstream release download. */
  url: string;
  /** Lowercase hex sha256 of that file, as published for the release. */
  sha256: string;
  /** When the file is a .tar.gz archive: the tool's path inside it (e.g. "linux-amd64/helm"). */
  member?: string;
}

export interface PinnedTool {
  name: string;
  /** The release tag, e.g. "v5.8.3". */
  version: string;
  files: Partial<Record<Platform, PinnedFile>>;
}

/**
 * A tool's files: one per platform that has a published sha256 (a platform without one is
 * left out), at the URL (and archive member) `file` gives for it, in PLATFORMS order.
 */
function perPlatform(
  sha256: Partial<Record<Platform, string>>,
  file: (p: Platform) => { url: string; member?: string },
): Partial<Record<Platform, PinnedFile>> {
  const out: Partial<Record<Platform, PinnedFile>> = {};
  for (const p of PLATFORMS) {
    const sum = sha256[p];
    if (sum === undefined) continue;
    const { url, member } = file(p);
    out[p] = { url, sha256: sum, ...(member !== undefined ? { member } : {}) };
  }
  return out;
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
  files: perPlatform(
    {
      'linux-amd64': 'dbaa79a76ace7f4ca230a1ff41dc7d8a5036a8ad0309e9c54f9bf3836dbe853e',
      'linux-arm64': '0b8110f2229631af7402fb828259330985918b08fefd38b7f1b788a1c8687216',
      'darwin-amd64': 'fd0f8e9e8ea4d8bc3674572ca6ed0833b639bf57c43c708616d937377324cfea',
      'darwin-arm64': '8da468daa7dc7cf7cdd4735f90a9bb05179fa27858250f62e3d8cdf5b5ca0698',
    },
    (p) => ({ url: `${K3D_RELEASE}/k3d-${p}` }),
  ),
};

const HELM_RELEASE = 'https://get.helm.sh/helm-v4.1.4';

/*
 * helm v4.1.4. Helm's release publishes `<archive>.sha256sum` beside each archive on
 * get.helm.sh, and the release notes list each value
 * (https://github.com/helm/helm/releases/tag/v4.1.4, "Installation and Upgrading", published
 * 2026-04-09): the four values below are copied from there. Other public records agree:
 *  - linux-amd64: pinned with its URL in several install scripts, Dockerfiles and Makefiles
 *    kept by other projects (indexed without their repository name), all the same value;
 *  - linux-arm64: the same in those that pin both architectures.
 * (helm v4.0.4's four values were also found in the release notes and in
 * cashapp/hermit-packages helm.hcl at 889a1a8c54180a9e4af9caac641c98a4d156bd86, whose
 * sha256-source is get.helm.sh's .sha256sum files; v4.1.4 is the newer.)
 */
export const HELM: PinnedTool = {
  name: 'helm',
  version: 'v4.1.4',
  files: perPlatform(
    {
      'linux-amd64': '70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09',
      'linux-arm64': '13d03672be289045d2ff00e4e345d61de1c6f21c1257a45955a30e8ae036d8f1',
      'darwin-amd64': 'abf09c8503ad1d8ef76d3737a058c3456a998aae5f5966fce4bb3031aeb1654e',
      'darwin-arm64': '7c2eca678e8001fa863cdf8cbf6ac1b3799f9404a89eb55c08260ef5732e658d',
    },
    // The archive holds the tool at <platform>/helm.
    (p) => ({ url: `${HELM_RELEASE}-${p}.tar.gz`, member: `${p}/helm` }),
  ),
};

export const PINNED_TOOLS: Readonly<Record<string, PinnedTool>> = { k3d: K3D, helm: HELM };

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

/**
 * CI templates for the nightly prerelease: a GitLab CI scheduled pipeline and a GitHub
 * Actions nightly workflow. Both run gc → up → test → down, where `down` ALWAYS runs (also
 * after a failed or cancelled test) and the artifacts folder (JUnit XML, pod logs, events,
 * status.json) is ALWAYS uploaded; the job's status is the tests' result.
 *
 * Supply chain: the job runs exactly the devenv the repository pins. `npm ci` installs it
 * from the repository's package-lock.json (a devDependency, see DEVENV_PACKAGE) and every
 * command runs `node_modules/.bin/devenv`; nothing is fetched by a bare name (no `npx`), and
 * the GitHub actions are pinned to full commit SHAs. Secrets: the kubeconfig only ever lives
 * in a file (GitLab File variable; GitHub writes it to the runner's temp directory, mode
 * 0600, outside the checkout and the artifacts), admin URLs and keys come from masked
 * variables / secrets and reach only the steps that need them.
 *
 * `devenv init --ci gitlab|github` prints or writes these; the README shows them.
 * Pure module: text out, no I/O.
 */

/** devenv's npm package (package.json "name"); its command is `devenv`. */
export const DEVENV_PACKAGE = '@devenv-dev/devenv';
/** How every template runs devenv: the binary `npm ci` installed from the lockfile. */
export const DEVENV_BIN = 'node_modules/.bin/devenv';
/** The one install command the templates run: the lockfile, exactly (fails if it is out of date). */
export const NPM_INSTALL = 'npm ci --ignore-scripts --no-audit --no-fund';

/**
 * GitHub actions the workflow uses, pinned to the full commit SHA of a release (a tag can be
 * moved; a SHA cannot). The comment after each names the release.
 */
export const GITHUB_ACTIONS = {
  checkout: 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
  setupNode: 'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0',
  uploadArtifact: 'actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2',
} as const;

export type CiKind = 'gitlab' | 'github';

export interface CiTemplateOptions {
  /** Kube context of the shared cluster (default "prerelease"; must match prerelease.context). */
  context?: string;
  /** Artifacts folder (default "prerelease-artifacts"). */
  artifacts?: string;
  /** Test timeout (default "30m"). */
  timeout?: string;
}

/** Where `devenv init --ci` writes each template, relative to the repository root. */
export const CI_TEMPLATE_FILES: Readonly<Record<CiKind, string>> = {
  gitlab: '.gitlab/prerelease.gitlab-ci.yml',
  github: '.github/workflows/prerelease.yml',
};

function defaults(o: CiTemplateOptions) {
  return {
    context: o.context ?? 'prerelease',
    artifacts: o.artifacts ?? 'prerelease-artifacts',
    timeout: o.timeout ?? '30m',
  };
}

export function gitlabTemplate(opts: CiTemplateOptions = {}): string {
  const o = defaults(opts);
  const devenv = DEVENV_BIN;
  return `# Nightly prerelease: the SAME manifests deployed into a fresh, labelled, time-limited
# namespace on the shared cluster; integration tests run against it; the namespace removed.
#
# Include it from .gitlab-ci.yml:   include: { local: ${CI_TEMPLATE_FILES.gitlab} }
# Run it from a pipeline schedule (Build > Pipeline schedules), inside prerelease.window,
# e.g. "0 23 * * *" in Europe/Warsaw.
# devenv is the version package-lock.json pins (npm install --save-dev --save-exact ${DEVENV_PACKAGE}):
# "npm ci" installs exactly that, and the job runs ${devenv}; nothing is fetched by name.
# CI/CD variables (Settings > CI/CD > Variables; Protected, so only protected branches see them):
#   PRERELEASE_KUBECONFIG           type File (never printed; the job gets its path): kubeconfig with
#                                   context "${o.context}" (bound to devenv's ClusterRole, see
#                                   src/prerelease/clusterrole.yaml)
#   DEVENV_PRERELEASE_DATABASE_URL  Masked: admin URL of the shared database server (postgres:// or
#                                   mysql://; to be maskable it may use only letters, digits and + / = @ : . ~ - _)
#   DEVENV_PRERELEASE_S3_ENDPOINT, DEVENV_PRERELEASE_S3_ACCESS_KEY, DEVENV_PRERELEASE_S3_SECRET_KEY
#                                   (optional, keys Masked) the shared object store

prerelease:
  stage: test
  image: node:24-bookworm
  services: [docker:27-dind]
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: ""
    KUBECONFIG: $PRERELEASE_KUBECONFIG
    PRERELEASE_NAME: ci-$CI_PIPELINE_ID
    npm_config_cache: $CI_PROJECT_DIR/.npm
  timeout: 2h
  cache:
    key:
      files: [package-lock.json]
    paths: [.npm/]
  before_script:
    - ${NPM_INSTALL}
    - ${devenv} --version
    - apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
  script:
    - ${devenv} prerelease gc --context ${o.context}
    - ${devenv} prerelease up --context ${o.context} --name "$PRERELEASE_NAME" --build --registry "$CI_REGISTRY_IMAGE"
    - ${devenv} prerelease test --context ${o.context} --name "$PRERELEASE_NAME" --timeout ${o.timeout} --junit ${o.artifacts}/junit.xml --artifacts ${o.artifacts}
  after_script:
    # Runs after a failed script too: the namespace (and its database) never outlives the job.
    - ${devenv} prerelease down --context ${o.context} --name "$PRERELEASE_NAME"
    - docker logout "$CI_REGISTRY" || true
  artifacts:
    when: always
    expire_in: 2 weeks
    paths: [${o.artifacts}/]
    reports:
      junit: ${o.artifacts}/junit.xml
`;
}

export function githubTemplate(opts: CiTemplateOptions = {}): string {
  const o = defaults(opts);
  const devenv = DEVENV_BIN;
  // The admin URL and the object store keys reach only the steps that create or remove data.
  const secretNames = ['DATABASE_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'].map(
    (k) => `DEVENV_PRERELEASE_${k}`,
  );
  const dataEnv = ['        env:', ...secretNames.map((n) => `          ${n}: \${{ secrets.${n} }}`)].join(
    '\n',
  );
  return `# Nightly prerelease: the SAME manifests deployed into a fresh, labelled, time-limited
# namespace on the shared cluster; integration tests run against it; the namespace removed.
#
# devenv is the version package-lock.json pins (npm install --save-dev --save-exact ${DEVENV_PACKAGE}):
# "npm ci" installs exactly that, and every step runs ${devenv}; nothing is fetched by
# name, and the actions are pinned to commit SHAs.
# Secrets (Settings > Secrets and variables > Actions; GitHub masks their values in logs):
#   PRERELEASE_KUBECONFIG           kubeconfig with context "${o.context}", written to a 0600 file in
#                                   the runner's temp directory (bound to devenv's ClusterRole, see
#                                   src/prerelease/clusterrole.yaml)
#   DEVENV_PRERELEASE_DATABASE_URL  admin URL of the shared database server (postgres:// or mysql://)
#   DEVENV_PRERELEASE_S3_ENDPOINT, DEVENV_PRERELEASE_S3_ACCESS_KEY, DEVENV_PRERELEASE_S3_SECRET_KEY
#                                   (optional) the shared object store
name: prerelease

on:
  schedule:
    # Cron is UTC: 21:00 UTC is 22:00/23:00 in Europe/Warsaw, inside prerelease.window.
    - cron: "0 21 * * *"
  workflow_dispatch: {}

concurrency:
  group: prerelease
  cancel-in-progress: false

permissions:
  contents: read
  packages: write

jobs:
  prerelease:
    runs-on: ubuntu-latest
    timeout-minutes: 120
    env:
      PRERELEASE_NAME: gh-\${{ github.run_id }}-\${{ github.run_attempt }}
    steps:
      - uses: ${GITHUB_ACTIONS.checkout}
        with:
          persist-credentials: false
      - uses: ${GITHUB_ACTIONS.setupNode}
        with:
          node-version: 24
          cache: npm
      - name: install devenv (as package-lock.json pins it)
        run: |
          ${NPM_INSTALL}
          ${devenv} --version
      - name: kubeconfig
        run: |
          umask 077
          printf '%s\\n' "$KUBECONFIG_DATA" > "$RUNNER_TEMP/kubeconfig"
          echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig" >> "$GITHUB_ENV"
        env:
          KUBECONFIG_DATA: \${{ secrets.PRERELEASE_KUBECONFIG }}
      - name: registry login
        run: printf '%s' "$REGISTRY_TOKEN" | docker login ghcr.io -u "$GITHUB_ACTOR" --password-stdin
        env:
          REGISTRY_TOKEN: \${{ secrets.GITHUB_TOKEN }}
      - name: gc (expired prerelease namespaces)
        run: ${devenv} prerelease gc --context ${o.context}
${dataEnv}
      - name: up
        run: ${devenv} prerelease up --context ${o.context} --name "$PRERELEASE_NAME" --build --registry "ghcr.io/\${{ github.repository_owner }}"
${dataEnv}
      - name: test
        run: ${devenv} prerelease test --context ${o.context} --name "$PRERELEASE_NAME" --timeout ${o.timeout} --junit ${o.artifacts}/junit.xml --artifacts ${o.artifacts}
      - name: down
        if: always()
        run: ${devenv} prerelease down --context ${o.context} --name "$PRERELEASE_NAME"
${dataEnv}
      - name: upload artifacts
        if: always()
        uses: ${GITHUB_ACTIONS.uploadArtifact}
        with:
          name: prerelease-artifacts
          path: ${o.artifacts}/
          if-no-files-found: warn
      - name: clean up credentials
        if: always()
        run: |
          docker logout ghcr.io || true
          rm -f "$RUNNER_TEMP/kubeconfig"
`;
}

export function ciTemplate(kind: CiKind, opts: CiTemplateOptions = {}): string {
  return kind === 'gitlab' ? gitlabTemplate(opts) : githubTemplate(opts);
}

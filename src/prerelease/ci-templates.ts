/**
 * CI templates for the nightly prerelease: a GitLab CI scheduled pipeline and a GitHub
 * Actions nightly workflow. Both run gc → up → test → down, where `down` ALWAYS runs (also
 * after a failed or cancelled test) and the artifacts folder (JUnit XML, pod logs, events,
 * status.json) is ALWAYS uploaded; the job's status is the tests' result.
 *
 * `devenv init --ci gitlab|github` prints or writes these; the README shows them.
 * Pure module: text out, no I/O.
 */

export type CiKind = 'gitlab' | 'github';

export interface CiTemplateOptions {
  /** How the CI job runs devenv (default "npx --yes devenv"). */
  command?: string;
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
    command: o.command ?? 'npx --yes devenv',
    context: o.context ?? 'prerelease',
    artifacts: o.artifacts ?? 'prerelease-artifacts',
    timeout: o.timeout ?? '30m',
  };
}

export function gitlabTemplate(opts: CiTemplateOptions = {}): string {
  const o = defaults(opts);
  return `# Nightly prerelease: the SAME manifests deployed into a fresh, labelled, time-limited
# namespace on the shared cluster; integration tests run against it; the namespace removed.
#
# Include it from .gitlab-ci.yml:   include: { local: ${CI_TEMPLATE_FILES.gitlab} }
# Run it from a pipeline schedule (Build > Pipeline schedules), inside prerelease.window,
# e.g. "0 23 * * *" in Europe/Warsaw.
# CI/CD variables (masked / protected):
#   PRERELEASE_KUBECONFIG           File variable: kubeconfig with context "${o.context}"
#                                   (bound to devenv's ClusterRole, see src/prerelease/clusterrole.yaml)
#   DEVENV_PRERELEASE_DATABASE_URL  admin URL of the shared database server (postgres:// or mysql://)
#   DEVENV_PRERELEASE_S3_ENDPOINT, DEVENV_PRERELEASE_S3_ACCESS_KEY, DEVENV_PRERELEASE_S3_SECRET_KEY
#                                   (optional) the shared object store

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
  timeout: 2h
  before_script:
    - apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
  script:
    - ${o.command} prerelease gc --context ${o.context}
    - ${o.command} prerelease up --context ${o.context} --name "$PRERELEASE_NAME" --build --registry "$CI_REGISTRY_IMAGE"
    - ${o.command} prerelease test --context ${o.context} --name "$PRERELEASE_NAME" --timeout ${o.timeout} --junit ${o.artifacts}/junit.xml --artifacts ${o.artifacts}
  after_script:
    # Runs after a failed script too: the namespace (and its database) never outlives the job.
    - ${o.command} prerelease down --context ${o.context} --name "$PRERELEASE_NAME"
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
  return `# Nightly prerelease: the SAME manifests deployed into a fresh, labelled, time-limited
# namespace on the shared cluster; integration tests run against it; the namespace removed.
#
# Secrets (Settings > Secrets and variables > Actions):
#   PRERELEASE_KUBECONFIG           kubeconfig with context "${o.context}"
#                                   (bound to devenv's ClusterRole, see src/prerelease/clusterrole.yaml)
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
      KUBECONFIG: \${{ github.workspace }}/.kubeconfig
      DEVENV_PRERELEASE_DATABASE_URL: \${{ secrets.DEVENV_PRERELEASE_DATABASE_URL }}
      DEVENV_PRERELEASE_S3_ENDPOINT: \${{ secrets.DEVENV_PRERELEASE_S3_ENDPOINT }}
      DEVENV_PRERELEASE_S3_ACCESS_KEY: \${{ secrets.DEVENV_PRERELEASE_S3_ACCESS_KEY }}
      DEVENV_PRERELEASE_S3_SECRET_KEY: \${{ secrets.DEVENV_PRERELEASE_S3_SECRET_KEY }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 24
      - name: kubeconfig
        run: printf '%s' "$KUBECONFIG_DATA" > "$KUBECONFIG" && chmod 600 "$KUBECONFIG"
        env:
          KUBECONFIG_DATA: \${{ secrets.PRERELEASE_KUBECONFIG }}
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: \${{ github.actor }}
          password: \${{ secrets.GITHUB_TOKEN }}
      - name: gc (expired prerelease namespaces)
        run: ${o.command} prerelease gc --context ${o.context}
      - name: up
        run: ${o.command} prerelease up --context ${o.context} --name "$PRERELEASE_NAME" --build --registry "ghcr.io/\${{ github.repository_owner }}"
      - name: test
        run: ${o.command} prerelease test --context ${o.context} --name "$PRERELEASE_NAME" --timeout ${o.timeout} --junit ${o.artifacts}/junit.xml --artifacts ${o.artifacts}
      - name: down
        if: always()
        run: ${o.command} prerelease down --context ${o.context} --name "$PRERELEASE_NAME"
      - name: upload artifacts
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: prerelease-artifacts
          path: ${o.artifacts}/
          if-no-files-found: warn
`;
}

export function ciTemplate(kind: CiKind, opts: CiTemplateOptions = {}): string {
  return kind === 'gitlab' ? gitlabTemplate(opts) : githubTemplate(opts);
}

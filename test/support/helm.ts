/**
 * The helm the tests run: the newest one test/tools/build.sh built from its Go module
 * (cached by version under $DEVENV_TEST_CACHE/helm-<version>/bin/helm), else DEVENV_HELM.
 * A test that needs it calls toolMissing when it is absent (a failure under CI=true).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { toolMissing } from '../setup/tier.ts';

export function testHelm(): string | undefined {
  const cache = process.env.DEVENV_TEST_CACHE ?? '/var/cache/devenv-test';
  const built = existsSync(cache)
    ? readdirSync(cache)
        .filter((d) => /^helm-v\d/.test(d))
        .sort()
        .reverse()
        .map((d) => join(cache, d, 'bin', 'helm'))
        .find((p) => existsSync(p))
    : undefined;
  return built ?? process.env.DEVENV_HELM;
}

/**
 * Whether kubectl runs here (kustomize folders are rendered by `kubectl kustomize`); when
 * it does not, `toolMissing` says so for `test` (a failure under CI=true).
 */
export function testKubectl(test: string): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    toolMissing(test, 'kubectl not found (kustomize folders are rendered by `kubectl kustomize`)');
    return false;
  }
}

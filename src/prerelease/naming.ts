/**
 * Prerelease namespace names: `<prefix>-<name>`, where the prefix comes from devenv.yaml
 * (`prerelease.namespacePrefix`) and the name from `--name` (default `nightly-YYYYMMDD`).
 *
 * The prefix is the fence around everything `prerelease down` and `gc` may delete, so a
 * prefix that would put devenv next to namespaces it must never touch (`default`,
 * `kube-*`, an empty one) is refused outright.
 *
 * Pure module: no I/O; the clock is a parameter.
 */
import { badInput } from '../errors.ts';
import { zonedParts } from './zoned.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAMESPACE = 63;

/** Prefixes that would make devenv's fence include namespaces it does not own. */
export function prefixProblem(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix.trim() === '') return 'no namespace prefix is configured';
  if (!DNS_LABEL.test(prefix)) return `namespace prefix "${prefix}" is not a DNS-1123 label`;
  if (prefix === 'default')
    return 'namespace prefix "default" would include the cluster\'s default namespace';
  if (prefix === 'kube' || prefix.startsWith('kube-'))
    return `namespace prefix "${prefix}" would include the cluster's kube-* system namespaces`;
  if (prefix.length > 40) return `namespace prefix "${prefix}" is too long (at most 40 characters)`;
  return undefined;
}

/** Throws bad input (exit 2) for a prefix devenv refuses to work under. */
export function assertSafePrefix(prefix: string | undefined): string {
  const problem = prefixProblem(prefix);
  if (problem) {
    throw badInput(`refusing to manage prerelease namespaces: ${problem}.`, [
      'Set prerelease.namespacePrefix in devenv.yaml to a prefix used only by devenv, e.g. "prerelease".',
    ]);
  }
  return prefix as string;
}

/** `YYYYMMDD` of `now` in `timeZone` (default UTC). */
export function dateStamp(now: Date, timeZone = 'UTC'): string {
  const part = zonedParts(now, timeZone, 'en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });
  return `${part('year') ?? ''}${part('month') ?? ''}${part('day') ?? ''}`;
}

/** The default `--name`: `nightly-YYYYMMDD` (date in `timeZone`, default UTC). */
export function defaultName(now: Date, timeZone = 'UTC'): string {
  return `nightly-${dateStamp(now, timeZone)}`;
}

/**
 * `<prefix>-<name>`, checked: the name must be a DNS-1123 label and the whole a valid
 * namespace name (at most 63 characters). Bad input (exit 2) otherwise.
 */
export function namespaceFor(prefix: string, name: string): string {
  assertSafePrefix(prefix);
  if (!DNS_LABEL.test(name)) {
    throw badInput(
      `prerelease name "${name}" is not valid: use lower-case letters, digits and "-" (a DNS-1123 label).`,
    );
  }
  const ns = `${prefix}-${name}`;
  if (ns.length > MAX_NAMESPACE) {
    throw badInput(
      `prerelease namespace "${ns}" is ${ns.length} characters long; Kubernetes allows at most ${MAX_NAMESPACE}.`,
      [`Use a shorter --name (at most ${MAX_NAMESPACE - prefix.length - 1} characters).`],
    );
  }
  return ns;
}

/** True when `namespace` is `<prefix>-<something>`: inside devenv's fence. */
export function inPrefix(namespace: string, prefix: string): boolean {
  return (
    prefixProblem(prefix) === undefined &&
    namespace.startsWith(`${prefix}-`) &&
    namespace.length > prefix.length + 1
  );
}

/** Throws bad input when `namespace` is outside the prefix. */
export function assertInPrefix(namespace: string, prefix: string): void {
  if (!inPrefix(namespace, prefix)) {
    throw badInput(
      `refusing to touch namespace "${namespace}": prerelease only manages namespaces named "${prefix}-<name>".`,
    );
  }
}

/**
 * Host names a certificate may carry (`tls.hosts`): RFC 1123 DNS names, a wildcard `*.`
 * as the whole first label (the leaf generator puts it on the certificate as is, see
 * src/tls/leaf.ts), or an IP literal (it becomes an IP subject alternative name).
 *
 * One rule for both readers: config validation reports a bad host at its `file:line:col`
 * before anything is created, and the leaf generator refuses the same hosts. Pure.
 */
import { isIP } from 'node:net';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

/** What is wrong with `host` as a certificate name, or undefined when it is a valid one. */
export function certHostProblem(host: string): string | undefined {
  if (isIP(host) || isIP(host.replace(/^\[|\]$/g, ''))) return undefined;
  if (/\s/.test(host)) return 'it contains white space';
  // A trailing dot is the fully qualified spelling of the same name.
  const name = host.replace(/\.$/, '');
  if (name === '') return 'it is empty';
  if (name.length > 253) return `it is ${name.length} characters long; at most 253 are allowed`;
  const labels = name.split('.');
  for (const [i, label] of labels.entries()) {
    if (label === '*' && i === 0 && labels.length > 1) continue;
    if (label.includes('*')) return '"*" is allowed only as the whole first label, as in "*.shop.localhost"';
    if (label === '') return 'it has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `the label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (label.startsWith('-') || label.endsWith('-'))
      return `the label "${label}" ${label.startsWith('-') ? 'starts' : 'ends'} with "-"`;
    if (!LABEL.test(label)) {
      const bad = [...label].find((c) => !/[-a-z0-9]/i.test(c));
      return `the label "${label}" contains "${bad}"; DNS names use only letters, digits and "-"`;
    }
  }
  return undefined;
}

/**
 * Content hashes of rendered objects. The hash is over a canonical JSON form (object
 * keys sorted), so it depends only on what would be sent to the API server, not on the
 * key order or layout of the YAML it came from.
 *
 * Pure module: no I/O.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level; `undefined` members dropped like JSON.stringify. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** sha256 of the canonical JSON, hex, truncated to 32 characters (128 bits: plenty to detect change). */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

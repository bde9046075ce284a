/**
 * Lifetimes of prerelease namespaces. A namespace carries its own expiry in the
 * `dev.devenv/expires-at` annotation (RFC 3339, UTC), written by `prerelease up` from
 * `prerelease.ttl`; `gc` compares it with the clock. A namespace whose expiry cannot be
 * read is NOT expired: gc never deletes on a guess.
 *
 * Pure module: no I/O; the clock is a parameter.
 */
import { DURATION_RE } from '../config/schema.ts';
import { badInput } from '../errors.ts';

/** Go-style duration ("12h", "90m", "1h30m", "45s") → milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m || text.trim() === '') {
    throw badInput(`"${text}" is not a duration; use e.g. "12h", "90m", "1h30m" or "45s".`);
  }
  const n = (s: string | undefined) => (s ? Number.parseInt(s, 10) : 0);
  const ms = ((n(m[1]) * 60 + n(m[2])) * 60 + n(m[3])) * 1000;
  if (ms <= 0) throw badInput(`duration "${text}" must be longer than zero.`);
  return ms;
}

/** `createdAt + ttl`. */
export function expiresAt(createdAt: Date, ttl: string): Date {
  return new Date(createdAt.getTime() + parseDuration(ttl));
}

/** RFC 3339 in UTC without milliseconds: what the annotations hold. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The instant an annotation names, or undefined when it is absent or unreadable. */
export function parseTimestamp(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export type ExpiryState =
  | { state: 'expired'; expiresAt: Date; overdueMs: number }
  | { state: 'alive'; expiresAt: Date; remainingMs: number }
  | { state: 'unknown'; reason: string };

/** Whether an `expires-at` annotation value is in the past at `now`. */
export function expiryState(value: string | undefined, now: Date): ExpiryState {
  if (value === undefined) return { state: 'unknown', reason: 'no dev.devenv/expires-at annotation' };
  const at = parseTimestamp(value);
  if (!at) return { state: 'unknown', reason: `unreadable dev.devenv/expires-at "${value}"` };
  const delta = at.getTime() - now.getTime();
  return delta <= 0
    ? { state: 'expired', expiresAt: at, overdueMs: -delta }
    : { state: 'alive', expiresAt: at, remainingMs: delta };
}

/** "3h 20m" / "45s": a human span for messages. */
export function humanSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

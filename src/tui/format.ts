/**
 * Small pure formatters shared by the dashboard views and the plain printer. The clock is
 * always a parameter, so output is reproducible (golden files use a fixed `now`).
 */

/** kubectl-style age: 45s, 12m, 3h, 5d ("0s" for future times or invalid input). */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Compact duration for tables: 850ms, 1.2s, 75s, 3m10s. */
export function shortMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${s % 60}s`;
}

/** Duration for the plain printer: "45 ms", "1.2 s", "75.3 s". */
export function plainMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** UTC timestamp to the second: 2026-11-23T13:44:11Z. */
export function isoSeconds(t: number): string {
  const d = new Date(Number.isFinite(t) ? t : 0);
  if (Number.isNaN(d.getTime())) return '1970-01-01T00:00:00Z';
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** UTC clock time: 13:44:11. */
export function clock(t: number): string {
  return isoSeconds(t).slice(11, 19);
}

/** The phases a reload ran, in order, with their durations. */
export interface PhaseTimings {
  buildMs?: number;
  loadMs?: number;
  syncMs?: number;
  rolloutMs?: number;
}

/**
 * "build 1.2s", "load 300ms", … for each phase that ran, in order, with `fmt` for the
 * durations: the dashboard's describe overlay and the plain printer's reload line.
 */
export function phaseParts(t: PhaseTimings, fmt: (ms: number) => string): string[] {
  return [
    t.buildMs !== undefined ? `build ${fmt(t.buildMs)}` : '',
    t.loadMs !== undefined ? `load ${fmt(t.loadMs)}` : '',
    t.syncMs !== undefined ? `sync ${fmt(t.syncMs)}` : '',
    t.rolloutMs !== undefined ? `rollout ${fmt(t.rolloutMs)}` : '',
  ].filter(Boolean);
}

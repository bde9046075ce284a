/**
 * The quiet window (`prerelease.window`, e.g. "22:00-06:00 Europe/Warsaw"): the hours
 * during which `prerelease up` may deploy to the shared cluster. Windows may cross
 * midnight (start after end); the time zone is an IANA name resolved by Intl, so
 * daylight-saving changes are the zone database's business, not ours. Without a zone the
 * window is in UTC. A window whose start equals its end spans the whole day.
 *
 * Pure module: no I/O; the clock is a parameter.
 */
import { badInput } from '../errors.ts';
import { zonedParts } from './zoned.ts';

export interface QuietWindow {
  /** Minutes after local midnight, [0, 1440). */
  start: number;
  end: number;
  timeZone: string;
  /** As written in devenv.yaml. */
  text: string;
}

const WINDOW_RE = /^(\d\d):(\d\d)-(\d\d):(\d\d)(?: (\S+))?$/;

function minutes(h: string, m: string, text: string): number {
  const hh = Number.parseInt(h, 10);
  const mm = Number.parseInt(m, 10);
  if (hh > 23 || mm > 59) throw badInput(`prerelease.window "${text}": ${h}:${m} is not a time of day.`);
  return hh * 60 + mm;
}

export function parseWindow(text: string): QuietWindow {
  const m = WINDOW_RE.exec(text.trim());
  if (!m) throw badInput(`prerelease.window "${text}" must look like "22:00-06:00 Europe/Warsaw".`);
  const timeZone = m[5] ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw badInput(`prerelease.window "${text}": unknown time zone "${timeZone}" (use an IANA name).`);
  }
  return { start: minutes(m[1]!, m[2]!, text), end: minutes(m[3]!, m[4]!, text), timeZone, text };
}

/** Minutes after local midnight of `now` in `timeZone`. */
export function localMinutes(now: Date, timeZone: string): number {
  const part = zonedParts(now, timeZone, 'en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const h = Number.parseInt(part('hour') ?? '0', 10);
  const m = Number.parseInt(part('minute') ?? '0', 10);
  return (h % 24) * 60 + m;
}

/** True when `now` falls in [start, end) of the window, in the window's zone. */
export function inWindow(w: QuietWindow, now: Date): boolean {
  const t = localMinutes(now, w.timeZone);
  if (w.start === w.end) return true;
  if (w.start < w.end) return t >= w.start && t < w.end;
  return t >= w.start || t < w.end; // crosses midnight
}

const hhmm = (mins: number) =>
  `${String(Math.floor(mins / 60)).padStart(2, '0')}:${String(mins % 60).padStart(2, '0')}`;

/**
 * Refuses (bad input, exit 2) to deploy outside the window unless forced. No window
 * configured: always allowed.
 */
export function assertInWindow(window: string | undefined, now: Date, force: boolean): void {
  if (window === undefined) return;
  const w = parseWindow(window);
  if (force || inWindow(w, now)) return;
  throw badInput(
    `refusing to deploy outside the quiet window ${hhmm(w.start)}-${hhmm(w.end)} ${w.timeZone}: it is ${hhmm(localMinutes(now, w.timeZone))} there now.`,
    ['Pass --force to deploy anyway (prerelease.window in devenv.yaml sets the window).'],
  );
}

/**
 * The plain printer: what `devenv up` prints when stdout is not a terminal or with --no-tui
 * (CI logs, pipes, `| tee`). One timestamped line per event:
 *
 *   2026-11-23T13:44:11Z build:api done 1.2 s
 *   2026-11-23T13:44:12Z api/api-7d9f-x1k2p | listening on :8080
 *   2026-11-23T13:44:15Z reload:api ok 3.4 s (build 1.2 s, load 400 ms, rollout 1.8 s) tag dev-3f2a
 *
 * Contract:
 * - No escape codes unless colour is on, and colour is on only where `useColor` says so
 *   (a TTY and no NO_COLOR); even then only devenv's own phase words are coloured. Escape
 *   codes and control characters inside foreign text (container logs, compiler output) are
 *   always removed.
 * - Never prints secrets: events carry none, and every line still goes through `redact`.
 * - A failed step prints its supporting lines after the event line, each prefixed with the
 *   same timestamp and id so `grep build:api` finds them all.
 * - Each failure and each of its lines is printed once: lines the step already printed as
 *   progress (a build's output) are not repeated after FAILED; an enclosing step's fail
 *   (`cause`) and a reload that failed with the same error name the step that printed it;
 *   and the CLI's closing error line names that step instead of repeating the error
 *   (`printedFailure`).
 * - StepEvents carry no time: the printer stamps them with its clock (injected in tests).
 */

import type { EventSink, ProgressEvent } from '../events.ts';
import { useColor } from './color.ts';
import { isoSeconds, phaseParts, plainMs } from './format.ts';
import { redact } from './redact.ts';
import { sanitize } from './text.ts';

export interface PlainOptions {
  /** Colour the phase words (default: useColor(stream): a TTY without NO_COLOR). */
  color?: boolean;
  /** Clock for StepEvents (default Date.now). */
  now?: () => number;
  /** Print container log lines (default true). */
  logs?: boolean;
}

const CODES = { green: '32', red: '31', yellow: '33', dim: '2' } as const;

/** Failures printed by this process's plain printers: error message → the step that printed it. */
const printedFailures = new Map<string, string>();

/** The id of the step whose FAILED line a plain printer printed for `message`, if any. */
export function printedFailure(message: string): string | undefined {
  return printedFailures.get(message);
}

/** The printed lines for one event (usually one; a failure adds its supporting lines). */
export function formatEvent(
  e: ProgressEvent,
  opts: { now: number; color: boolean; printed?: (message: string) => string | undefined },
): string[] {
  const c = (text: string, code: keyof typeof CODES) =>
    opts.color ? `\u001b[${CODES[code]}m${text}\u001b[0m` : text;
  const clean = (s: string) => redact(sanitize(s));
  switch (e.type) {
    case 'step': {
      const ts = isoSeconds(opts.now);
      const id = clean(e.id);
      const ms = e.ms === undefined ? '' : ` ${plainMs(e.ms)}`;
      const detail = e.detail ? clean(e.detail) : '';
      switch (e.phase) {
        case 'start':
          return [`${ts} ${id} start${detail ? ` ${detail}` : ''}`];
        case 'progress':
          return [`${ts} ${id} ${c('progress', 'dim')}${detail ? ` ${detail}` : ''}`];
        case 'done':
          return [`${ts} ${id} ${c('done', 'green')}${ms}`];
        case 'skip':
          return [`${ts} ${id} ${c('skip', 'dim')}${ms}${detail ? ` (${detail})` : ''}`];
        case 'fail': {
          if (e.cause !== undefined)
            return [`${ts} ${id} ${c('FAILED', 'red')}${ms} (${clean(e.cause)} failed)`];
          const why = e.error ? `: ${clean(e.error)}` : detail ? `: ${detail}` : '';
          return [
            `${ts} ${id} ${c('FAILED', 'red')}${ms}${why}`,
            ...(e.lines ?? []).map((l) => `${ts} ${id} | ${clean(l)}`),
          ];
        }
      }
      return [];
    }
    case 'log': {
      const who = e.container && e.container !== e.service ? `${e.pod}/${e.container}` : e.pod;
      return [`${isoSeconds(e.time)} ${clean(e.service)}/${clean(who)} | ${clean(e.line)}`];
    }
    case 'reload': {
      const t = e.timings;
      const parts = phaseParts(t, plainMs);
      const word =
        e.result === 'ok'
          ? c('ok', 'green')
          : e.result === 'failed'
            ? c('FAILED', 'red')
            : c('unchanged', 'dim');
      let line = `${isoSeconds(e.time)} reload:${clean(e.service)} ${word} ${plainMs(t.totalMs)}`;
      if (parts.length) line += ` (${parts.join(', ')})`;
      if (e.tag) line += ` tag ${clean(e.tag)}`;
      const printedBy = e.error ? opts.printed?.(e.error) : undefined;
      if (printedBy) line += ` (${clean(printedBy)} failed)`;
      else if (e.error) line += `: ${clean(e.error)}`;
      return [line];
    }
  }
}

/** An EventSink that prints each event as plain lines to `stream` (default stdout). */
export function createPlainPrinter(
  stream: NodeJS.WritableStream = process.stdout,
  opts: PlainOptions = {},
): EventSink {
  const color = opts.color ?? useColor(stream as NodeJS.WriteStream);
  const now = opts.now ?? Date.now;
  const logs = opts.logs ?? true;
  /** The progress lines each running step printed (bounded), so its FAILED lines skip them. */
  const shown = new Map<string, Set<string>>();
  const printed = (message: string) => printedFailures.get(message);
  return (e) => {
    if (e.type === 'log' && !logs) return;
    let event = e;
    if (e.type === 'step') {
      if (e.phase === 'progress' && e.detail !== undefined) {
        const set = shown.get(e.id) ?? new Set<string>();
        shown.set(e.id, set);
        set.add(e.detail);
        if (set.size > 5000) set.delete(set.values().next().value as string);
      } else if (e.phase === 'fail' && e.cause === undefined) {
        const before = shown.get(e.id);
        event = { ...e, lines: (e.lines ?? []).filter((l) => !before?.has(l)) };
        if (e.error !== undefined && !printedFailures.has(e.error)) printedFailures.set(e.error, e.id);
      }
      if (e.phase === 'done' || e.phase === 'skip' || e.phase === 'fail') shown.delete(e.id);
    }
    const lines = formatEvent(event, { now: now(), color, printed });
    if (lines.length) stream.write(`${lines.join('\n')}\n`);
  };
}

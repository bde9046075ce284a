/**
 * Errors that reach the user. Every failure devenv reports on purpose is a DevenvError:
 * a message that says what went wrong and how to fix it, and the process exit code.
 *
 * Exit codes (stable, documented in the README):
 *   1  an operation failed (engine error, rollout failure, a required doctor check)
 *   2  bad input: config, flags or manifests; nothing was created
 * Every command listed by --help works; none answers "not available yet" (messages to a
 * user never send them to an issue tracker).
 */
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

export class DevenvError extends Error {
  readonly exitCode: number;
  /** Extra lines printed after the message (e.g. one diagnostic per line). */
  readonly details: readonly string[];
  constructor(
    message: string,
    opts: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DevenvError';
    this.exitCode = opts.exitCode ?? EXIT_FAILURE;
    this.details = opts.details ?? [];
  }
}

export function badInput(message: string, details: readonly string[] = []): DevenvError {
  return new DevenvError(message, { exitCode: EXIT_BAD_INPUT, details });
}

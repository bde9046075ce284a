/** The real CLI in a child process, as a user runs it (asynchronously: the test can serve requests meanwhile). */
import { execFile } from 'node:child_process';
import { DEVENV } from './fixture.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `devenv <args>` in `cwd` with exactly `env` (the caller builds it) and `input` on
 * stdin (stdin is closed either way); resolves with the exit code and both outputs, never
 * rejects.
 */
export function runCli(
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; input?: string },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [DEVENV, ...args],
      { cwd: o.cwd, env: o.env, timeout: o.timeoutMs },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(o.input);
  });
}

/** `env` without the variables given as undefined (child_process would pass the string "undefined"). */
export function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

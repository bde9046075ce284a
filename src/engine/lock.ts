/**
 * One `devenv up` per project at a time. The lock is a file created with O_EXCL holding
 * the owner's pid; a lock whose pid is gone (kill -9, crash) is stale and taken over, so
 * an interrupted `up` never blocks the next one.
 *
 * `waitForLock` is the same lock waited for instead of refused: one rebuild of a service
 * at a time across processes (`devenv reload SERVICE` beside the reload loop of a running
 * `up`), so the later one builds the newer files and its apply is the last.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DevenvError } from '../errors.ts';
import { ensureDir, projectStateDir } from '../state/paths.ts';

export interface Lock {
  path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(project: string, what = 'up'): Lock {
  const path = join(ensureDir(projectStateDir(project)), `${what}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        // Taken once per reload: the exit hook must not pile up on the process.
        process.removeListener('exit', release);
        rmSync(path, { force: true });
      };
      process.once('exit', release);
      return { path, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: { pid?: number; since?: string } = {};
      try {
        owner = JSON.parse(readFileSync(path, 'utf8'));
      } catch {}
      if (owner.pid && owner.pid !== process.pid && alive(owner.pid)) {
        throw new DevenvError(
          `another "devenv ${what}" is running for project "${project}" (pid ${owner.pid}, since ${owner.since}). ` +
            `Wait for it, or stop it; if that process is gone, remove ${path}.`,
        );
      }
      rmSync(path, { force: true }); // stale: its owner died
    }
  }
  throw new DevenvError(`could not take the lock ${path}`);
}

export interface WaitOptions {
  /** Give up after this long (default 10 minutes: a build and a rollout). */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once, when another live process holds the lock. */
  onWait?: (owner: { pid?: number; since?: string }) => void;
}

/**
 * Takes `<what>.lock` of the project, waiting while another live process holds it. Unlike
 * `acquireLock`, a holder with this process's pid is waited for too (a reload outside the
 * in-process queue), so a leaked lock costs the timeout, never a double build.
 */
export async function waitForLock(project: string, what: string, opts: WaitOptions = {}): Promise<Lock> {
  const path = join(ensureDir(projectStateDir(project)), `${what}.lock`);
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  let told = false;
  for (;;) {
    let owner: { pid?: number; since?: string } = {};
    try {
      owner = JSON.parse(readFileSync(path, 'utf8'));
    } catch {}
    const held = owner.pid !== undefined && alive(owner.pid);
    if (!held) {
      try {
        return acquireLock(project, what);
      } catch (err) {
        if (!(err instanceof DevenvError)) throw err; // taken meanwhile: wait for that one
      }
    }
    if (Date.now() >= deadline) {
      throw new DevenvError(
        `gave up waiting for ${path}, held by pid ${owner.pid ?? '?'} since ${owner.since ?? '?'}; if that process is gone, remove the file.`,
      );
    }
    if (!told) opts.onWait?.(owner);
    told = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/**
 * One `devenv up` per project at a time. The lock is a file created with O_EXCL holding
 * the owner's pid; a lock whose pid is gone (kill -9, crash) is stale and taken over, so
 * an interrupted `up` never blocks the next one.
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

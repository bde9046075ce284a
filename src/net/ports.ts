/**
 * Host port checks: is a port free, and if not, which process holds it. Used by doctor
 * and before anything is started, so a conflict is reported with its holder and the
 * config key to change instead of a half-started environment.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/** True when nothing listens on the port (we can bind it on all interfaces). */
export function isPortFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface PortHolder {
  pid: number;
  command: string;
}

/**
 * The process listening on a TCP port, read from /proc (Linux only; undefined elsewhere
 * or when the holder is in another PID namespace, e.g. Docker's proxy is reported then).
 */
export function whoHoldsPort(port: number): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1]!;
      const state = f[3];
      const p = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (state === '0A' && p === port) inodes.add(f[9]!); // 0A = LISTEN
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        let command = '?';
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
            .split('\0')
            .filter(Boolean)
            .join(' ')
            .slice(0, 120);
        } catch {}
        return { pid: Number(pid), command };
      }
    }
  }
  return undefined;
}

export interface PortHolderDescription {
  /** `container "name"`, `process PID (command)` or `another program`. */
  text: string;
  kind: 'container' | 'program';
}

/**
 * Who holds a taken host port, for a message: a container that publishes it (from the
 * engine's list, which the caller reads once for all ports), else the process /proc names.
 */
export function describePortHolder(
  port: number,
  published: ReadonlyArray<{ containerName: string; hostPort: number }>,
): PortHolderDescription {
  const c = published.find((x) => x.hostPort === port);
  if (c) return { text: `container "${c.containerName}"`, kind: 'container' };
  const proc = whoHoldsPort(port);
  return { text: proc ? `process ${proc.pid} (${proc.command})` : 'another program', kind: 'program' };
}

/**
 * Commands run inside containers (`docker exec` semantics through the Engine API):
 * collected output, streamed output (dumps piped straight into an upload), streamed input
 * (restores fed from a download), and interactive sessions with a TTY (db shell).
 *
 * Secrets reach the command through `env` (exec-scoped environment), never through argv,
 * so they do not show in `ps` or in error messages that quote the command.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { docker } from './engine.ts';

export interface ExecOptions {
  env?: string[];
  user?: string;
  workingDir?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function createExec(
  container: string,
  cmd: string[],
  opts: ExecOptions & { stdin: boolean; tty: boolean },
): Promise<Dockerode.Exec> {
  const d = await docker();
  return d.getContainer(container).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: opts.stdin,
    Tty: opts.tty,
    ...(opts.env ? { Env: opts.env } : {}),
    ...(opts.user ? { User: opts.user } : {}),
    ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
  });
}

/** The exit code once the process has ended (the stream can close a moment before inspect says so). */
async function exitCodeOf(exec: Dockerode.Exec): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? -1;
    await new Promise((r) => setTimeout(r, 25));
  }
  return -1;
}

/** Runs a command to completion; `stdin` (text, bytes or a stream) is fed to it and closed. */
export async function execRun(
  container: string,
  cmd: string[],
  opts: ExecOptions & { stdin?: string | Buffer | Readable } = {},
): Promise<ExecResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (b: Buffer) => stdout.push(b));
  err.on('data', (b: Buffer) => stderr.push(b));
  const { done } = await execPipe(container, cmd, { ...opts, stdout: out, stderr: err });
  const exitCode = await done;
  return {
    exitCode,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
}

/**
 * Runs a command with its stdout and stderr written to the given streams (not ended) and
 * its stdin fed from `stdin` (then closed). Resolves `done` to the exit code after the
 * output has been fully delivered.
 */
export async function execPipe(
  container: string,
  cmd: string[],
  opts: ExecOptions & { stdin?: string | Buffer | Readable; stdout: Writable; stderr: Writable },
): Promise<{ done: Promise<number> }> {
  const withStdin = opts.stdin !== undefined;
  const exec = await createExec(container, cmd, { ...opts, stdin: withStdin, tty: false });
  const stream = (await exec.start({ hijack: true, stdin: withStdin })) as unknown as NodeJS.ReadWriteStream &
    Readable &
    Writable;
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  demux(stream, opts.stdout, opts.stderr);
  let fed: Promise<void> = Promise.resolve();
  if (withStdin) {
    const input = opts.stdin!;
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      stream.end(input);
    } else {
      // Closing our write side (TCP half-close) is how the engine learns stdin ended.
      fed = pipeline(input, stream as Writable, { end: true }).catch((e: Error) => {
        stream.destroy(e);
        throw e;
      });
    }
  }
  const done = (async () => {
    await Promise.all([ended, fed]);
    return exitCodeOf(exec);
  })();
  return { done };
}

/**
 * Splits Docker's multiplexed exec stream (8-byte frame headers: type, 0, 0, 0, length)
 * into stdout and stderr, WITH backpressure: when a consumer is slow (an upload), the
 * socket is paused until it drains, so a large dump is never buffered in memory.
 */
export function demux(src: Readable, stdout: Writable, stderr: Writable): void {
  let buf: Buffer = Buffer.alloc(0);
  src.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let blocked: Writable | undefined;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const target = buf[0] === 2 ? stderr : stdout;
      const ok = target.write(buf.subarray(8, 8 + len));
      buf = buf.subarray(8 + len);
      if (!ok) blocked = target;
    }
    if (blocked) {
      src.pause();
      blocked.once('drain', () => src.resume());
    }
  });
}

/**
 * An interactive session attached to this terminal: raw mode, TTY in the container,
 * window size kept in sync. Without a TTY on our side, stdin/stdout are piped instead
 * (so `devenv db shell < script.sql` works). Resolves to the command's exit code.
 */
export async function execInteractive(
  container: string,
  cmd: string[],
  opts: ExecOptions = {},
): Promise<number> {
  const stdin = process.stdin;
  const tty = Boolean(stdin.isTTY && process.stdout.isTTY);
  if (!tty) {
    const { done } = await execPipe(container, cmd, {
      ...opts,
      stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
    return done;
  }
  const exec = await createExec(container, cmd, {
    ...opts,
    env: [...(opts.env ?? []), `TERM=${process.env.TERM ?? 'xterm'}`],
    stdin: true,
    tty: true,
  });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as unknown as Readable &
    Writable;
  const resize = () => {
    const { rows, columns } = process.stdout;
    if (rows > 0 && columns > 0) exec.resize({ h: rows, w: columns }).catch(() => {});
  };
  stdin.setRawMode(true);
  stdin.resume();
  stdin.pipe(stream);
  stream.pipe(process.stdout);
  process.stdout.on('resize', resize);
  resize();
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
  } finally {
    process.stdout.off('resize', resize);
    stdin.unpipe(stream);
    stdin.setRawMode(false);
    stdin.pause();
  }
  return exitCodeOf(exec);
}

/**
 * A real local image registry for the build tests and benchmarks: distribution's
 * `registry` (the program behind k3d's registry), built by test/cluster/build.sh into the
 * test cache, on a free 127.0.0.1 port.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './fixture.ts';
import { until } from './poll.ts';

export const TEST_CACHE = process.env.DEVENV_TEST_CACHE ?? '/var/cache/devenv-test';

/** The newest cached registry binary (either cache layout: <dir>/bin/registry or <dir>/registry). */
export function findRegistryBinary(cache = TEST_CACHE): string | undefined {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(cache).filter((d) => /^registry-v\d/.test(d) && !d.endsWith('.tmp'));
  } catch {
    return undefined;
  }
  dirs.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const d of dirs) {
    for (const p of [join(cache, d, 'bin', 'registry'), join(cache, d, 'registry')])
      if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Starts `bin` serving on a free port with its storage under `dir`/.registry and waits
 * until it answers (10 s at most; its stderr is in the error). `registry` is host:port
 * as image refs name it.
 */
export async function startRegistry(
  bin: string,
  dir: string,
): Promise<{ registry: string; stop: () => Promise<void> }> {
  const port = await freePort();
  await mkdir(join(dir, '.registry'), { recursive: true });
  await writeFile(
    join(dir, '.registry', 'config.yml'),
    'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: /unused\nhttp:\n  addr: 127.0.0.1:5000\n',
  );
  const proc = spawn(bin, ['serve', join(dir, '.registry', 'config.yml')], {
    env: {
      ...process.env,
      REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(dir, '.registry', 'data'),
      OTEL_TRACES_EXPORTER: 'none',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  try {
    await until(
      'the registry to start',
      () =>
        fetch(`http://127.0.0.1:${port}/v2/`).then(
          (r) => r.status === 200,
          () => false,
        ),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
        accept: (ok) => ok,
        stopIf: () => (proc.exitCode !== null ? `exit ${proc.exitCode}` : undefined),
        detail: () => `registry stderr: ${stderr}`,
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { registry: `localhost:${port}`, stop };
}

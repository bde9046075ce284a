/**
 * A local release host for the tool-provisioning tests (the DEVENV_TOOLS_MIRROR layout,
 * served by node:http on 127.0.0.1), a port nothing listens on (the host down), and the
 * files a tools cache holds. Only the host is local: the fetch, verify and cache code is
 * devenv's own.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Serves every request through `handle`; `url` is http://127.0.0.1:<port> (no trailing slash). */
export async function startMirror(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A 127.0.0.1 port that was free a moment ago and that nothing listens on now. */
export async function closedPort(): Promise<number> {
  const down = createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const port = (down.address() as AddressInfo).port;
  await new Promise((r) => down.close(r));
  return port;
}

/** The names of the files anywhere under `root` (none when it does not exist), in directory order. */
export function filesUnder(root: string): string[] {
  return existsSync(root)
    ? readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : [];
}

/** The k3d binary test/cluster/build.sh keeps in the test cache, if it is there. */
export function cachedK3d(
  cache = process.env.DEVENV_TEST_CACHE ?? '/var/cache/devenv-test',
): string | undefined {
  return existsSync(cache)
    ? readdirSync(cache)
        .filter((d) => d.startsWith('k3d-'))
        .map((d) => join(cache, d, 'bin', 'k3d'))
        .find((p) => existsSync(p))
    : undefined;
}

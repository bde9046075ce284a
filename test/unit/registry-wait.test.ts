/**
 * build/registry.ts waitForRegistry, the wait `up`'s pushes take on k3d's registry, against
 * a real HTTP server on 127.0.0.1: it waits through answers that are not the registry API
 * yet, and on a port nobody answers it times out naming the registry and what to check.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForRegistry } from '../../src/build/registry.ts';

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('waitForRegistry', () => {
  it('waits until GET /v2/ answers 200 (503s before it do not end the wait)', async () => {
    let calls = 0;
    const registry = await listen((req, res) => {
      calls++;
      res.statusCode = req.url === '/v2/' && calls >= 3 ? 200 : 503;
      res.end();
    });
    const ms = await waitForRegistry(registry, 10_000);
    expect(calls).toBe(3);
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('takes 401 (a registry with auth) as an answer', async () => {
    const registry = await listen((_req, res) => {
      res.statusCode = 401;
      res.end();
    });
    await expect(waitForRegistry(registry, 5_000)).resolves.toBeGreaterThanOrEqual(0);
  });

  it('times out naming the registry, the last answer and what to check', async () => {
    const registry = await listen((_req, res) => {
      res.statusCode = 502;
      res.end();
    });
    const err = (await waitForRegistry(registry, 600).catch((e: unknown) => e)) as Error & {
      details: string[];
    };
    expect(err.message).toBe(`timed out after 1 s waiting for image registry ${registry} to answer.`);
    expect(err.details[0]).toBe('HTTP 502');
    expect(err.details[1]).toContain('docker ps -a --filter name=registry');
  });
});

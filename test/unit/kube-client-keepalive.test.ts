/**
 * The kube client (src/kube/client.ts) reuses its connections to the API server: many
 * requests over one kept-alive TLS connection (client-node's own agent opened one per
 * request), and a request whose reused connection the server closed is sent once more on
 * a new one. A local HTTPS server with a certificate from devenv's own CA stands in for the
 * API server; it counts the TLS connections it accepts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KubeClient } from '../../src/kube/client.ts';
import { mapLimit } from '../../src/kube/objects.ts';
import { createCa } from '../../src/tls/ca.ts';
import { issueLeaf } from '../../src/tls/leaf.ts';

const dir = mkdtempSync(join(tmpdir(), 'devenv-kube-keepalive-'));
let server: Server;
let connections = 0;
/** Requests answered on each connection, by connection number. */
const served = new Map<number, number>();
/** When set: the second request on a connection is dropped (the socket destroyed, no answer). */
let dropSecond = false;
let client: KubeClient;

beforeAll(async () => {
  const now = new Date();
  const ca = await createCa({ commonName: 'devenv test CA', now });
  const leaf = await issueLeaf({ hosts: ['localhost'], ca, now });
  server = createServer({ cert: leaf.certPem, key: leaf.keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
    const n = (req.socket as unknown as { n: number }).n;
    const count = (served.get(n) ?? 0) + 1;
    served.set(n, count);
    if (dropSecond && count === 2) {
      req.socket.destroy();
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ kind: 'Namespace', metadata: { name: 'default' }, connection: n }));
  });
  server.on('secureConnection', (socket) => {
    (socket as unknown as { n: number }).n = ++connections;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: {
            server: `https://localhost:${port}`,
            'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'dev', user: { token: 'secret-token' } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'dev' } }],
      'current-context': 'local',
    }),
  );
  client = connect({ kubeconfig, context: 'local' });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('kube client connections', () => {
  it('sends many requests over one kept-alive connection', async () => {
    connections = 0;
    for (let i = 0; i < 10; i++) {
      const r = await client.request<{ connection: number }>('GET', '/api/v1/namespaces/default');
      expect(r.connection).toBe(1);
    }
    expect(connections).toBe(1);
  });

  it('opens no more connections than requests in flight, and reuses them', async () => {
    const before = connections;
    await mapLimit(
      Array.from({ length: 40 }, (_, i) => i),
      4,
      () => client.request('GET', '/api/v1/namespaces/default'),
    );
    expect(connections - before).toBeLessThanOrEqual(3); // the first one is still free
  });

  it('sends a request once more when the server closed the reused connection', async () => {
    const fresh = connect({ kubeconfig: join(dir, 'kubeconfig'), context: 'local' });
    served.clear();
    const before = connections;
    dropSecond = true;
    try {
      const a = await fresh.request<{ connection: number }>('GET', '/api/v1/namespaces/default');
      const b = await fresh.request<{ connection: number }>('GET', '/api/v1/namespaces/default');
      expect(a.connection).toBe(before + 1);
      // The second request went out on the first connection, was dropped, and was answered on a new one.
      expect(b.connection).toBe(before + 2);
      expect(served.get(before + 1)).toBe(2);
    } finally {
      dropSecond = false;
    }
  });
});

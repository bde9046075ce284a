/**
 * A real secure-WebSocket handshake on 127.0.0.1: the social fixture's chat server
 * (fixtures/social/chat/app.py, Python's own ssl module) serves devenv's leaf certificate,
 * and the `ws` client trusts exactly devenv's CA. Proves the certificate works with a TLS
 * stack devenv did not write, that trust really comes from the CA (no CA, another CA, or
 * another host name: rejected), and that the client sees the service's OWN certificate.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { caCommonName, createCa } from '../../src/tls/ca.ts';
import { type EnsuredLeaf, ensureLeaf } from '../../src/tls/store.ts';
import { certFingerprint, formatFingerprint } from '../../src/tls/x509.ts';

const root = join(import.meta.dirname, '..', '..');
const chatApp = join(root, 'fixtures', 'social', 'chat', 'app.py');
const HOST = 'chat.social.localhost';
const python = spawnSync('python3', ['-c', 'import ssl']).status === 0;
if (!python) console.warn('tls-chat-handshake: python3 with ssl not found; the handshake tests are skipped');

/** ws hands these options to tls.connect; its types omit servername (SNI and the checked name). */
type Options = WebSocket.ClientOptions & { servername?: string };

/** Connects, resolving with the open socket, the peer certificate, or the handshake error. */
function connect(port: number, opts: Options) {
  return new Promise<{ ws?: WebSocket; peerFingerprint?: string; error?: NodeJS.ErrnoException }>(
    (resolve) => {
      const options: Options = { servername: HOST, handshakeTimeout: 5000, ...opts };
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, options as WebSocket.ClientOptions);
      let peerFingerprint: string | undefined;
      ws.on('upgrade', (res) => {
        peerFingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      });
      ws.on('open', () => resolve({ ws, peerFingerprint }));
      ws.on('error', (error) => resolve({ error: error as NodeJS.ErrnoException }));
    },
  );
}

function echo(ws: WebSocket, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (m, isBinary) =>
      isBinary ? reject(new Error('binary reply')) : resolve(m.toString()),
    );
    ws.send(data);
  });
}

describe.skipIf(!python)('social chat: secure WebSocket with the devenv certificate', () => {
  let state: string;
  let leaf: EnsuredLeaf;
  let server: ChildProcess;
  let port: number;
  let serverLog = '';

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'devenv-chat-'));
    leaf = await ensureLeaf({ project: 'social', hosts: [HOST], env: { DEVENV_STATE_DIR: state } });
    server = spawn('python3', [chatApp], {
      env: { ...process.env, TLS_CERT: leaf.certPath, TLS_KEY: leaf.keyPath, HOST: '127.0.0.1', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stderr?.on('data', (d: Buffer) => {
      serverLog += d.toString();
    });
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chat server did not start:\n${serverLog}`)), 10_000);
      server.stdout?.on('data', (d: Buffer) => {
        serverLog += d.toString();
        const m = /chat: wss on 127\.0\.0\.1:(\d+)/.exec(serverLog);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      server.on('exit', (code) => reject(new Error(`chat server exited (${code}):\n${serverLog}`)));
    });
  }, 20_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(state, { recursive: true, force: true });
  });

  it('completes the handshake trusting only the devenv CA, and echoes text frames', async () => {
    const { ws, error, peerFingerprint } = await connect(port, { ca: leaf.caPem });
    expect(error, serverLog).toBeUndefined();
    try {
      // the service's own certificate, not one an ingress or proxy substituted
      expect(peerFingerprint).toBe(formatFingerprint(certFingerprint(leaf.certPem)));
      expect(await echo(ws!, 'hello, social')).toBe('hello, social');
      expect(await echo(ws!, 'ż'.repeat(200))).toBe('ż'.repeat(200)); // 16-bit length
      const big = 'x'.repeat(70_000); // 64-bit length
      expect(await echo(ws!, big)).toBe(big);
      ws!.close(1000, 'bye');
      const [code] = (await once(ws!, 'close')) as [number];
      expect(code).toBe(1000);
    } finally {
      ws?.terminate();
    }
  });

  it('is rejected with a certificate error WITHOUT the devenv CA', async () => {
    const { ws, error } = await connect(port, {});
    ws?.terminate();
    expect(error?.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('is rejected when the client trusts another CA with the same name', async () => {
    const stranger = await createCa({ commonName: caCommonName('ana', 'laptop'), now: new Date() });
    const { ws, error } = await connect(port, { ca: stranger.certPem });
    ws?.terminate();
    expect(error?.code).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE)$/);
  });

  it('is rejected for a host name the certificate does not carry', async () => {
    const { ws, error } = await connect(port, { ca: leaf.caPem, servername: 'chat.other.localhost' });
    ws?.terminate();
    expect(error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('answers the HTTPS readiness probe on /healthz', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/healthz', ca: leaf.caPem, servername: HOST },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => {
            b += d.toString();
          });
          res.on('end', () => resolve(`${res.statusCode} ${b}`));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('200 ok\n');
  });
});

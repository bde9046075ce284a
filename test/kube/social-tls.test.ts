/**
 * The social fixture on the real test cluster: MySQL (MariaDB) and MinIO outside the
 * cluster, five services, and a chat that terminates TLS itself with devenv's certificate.
 * A real WebSocket client talks wss:// to the chat's own port: with devenv's CA it
 * exchanges a message; without it, the handshake is refused with a certificate error; the
 * certificate presented is the service's own (the leaf devenv issued), not an ingress one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import * as YAML from 'yaml';

const kubeconfig = inject('kubeconfig');
const root = join(import.meta.dirname, '..', '..');
const CONTEXT = 'devenv-test';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!kubeconfig)('social: wss chat with TLS in the service', () => {
  const state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
  const env = { ...process.env, KUBECONFIG: kubeconfig ?? '', DEVENV_STATE_DIR: state, NO_COLOR: '1' };
  let dir = '';
  let out = '';
  let url = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'devenv-social-'));
    cpSync(join(root, 'fixtures', 'social'), dir, { recursive: true });
    const file = join(dir, 'devenv.yaml');
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['cluster', 'allowContexts'], [CONTEXT]);
    for (const svc of (doc.get('services') as YAML.YAMLSeq).items as YAML.YAMLMap[]) {
      svc.setIn(['buildArgs', 'BASE_IMAGE'], 'devenv-test/python:3.11');
    }
    doc.setIn(['database', 'image'], 'devenv-test/mariadb:10.11');
    doc.setIn(['database', 'port'], await freePort());
    doc.setIn(['objectStore', 'image'], 'devenv-test/minio:latest');
    doc.setIn(['objectStore', 'port'], await freePort());
    doc.setIn(['objectStore', 'consolePort'], await freePort());
    writeFileSync(file, doc.toString());
    const r = spawnSync(
      process.execPath,
      [join(root, 'devenv'), '-c', file, 'up', '--no-watch', '--context', CONTEXT],
      {
        env,
        encoding: 'utf8',
        timeout: 900_000,
      },
    );
    out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`devenv up failed (${r.status}):\n${out.slice(-4000)}`);
    const ip = execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig!, '-n', 'social', 'get', 'svc', 'chat', '-o', 'jsonpath={.spec.clusterIP}'],
      {
        encoding: 'utf8',
      },
    ).trim();
    url = `wss://${ip}:8443/`;
  });
  afterAll(() => {
    spawnSync(
      process.execPath,
      [join(root, 'devenv'), '-c', join(dir, 'devenv.yaml'), 'destroy', '--yes', '--context', CONTEXT],
      { env },
    );
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  const caPem = () => readFileSync(join(state, 'ca', 'ca.crt'), 'utf8');
  const leafPem = () => readFileSync(join(state, 'projects', 'social', 'tls', 'tls.crt'), 'utf8');

  function connect(ca?: string): Promise<{ echoed: string; fingerprint: string }> {
    return new Promise((resolve, reject) => {
      // servername: SNI and host-name verification for the chat's DNS name (we dial its IP).
      const options = {
        servername: 'chat.social.localhost',
        ...(ca ? { ca } : {}),
        handshakeTimeout: 10_000,
      } as WebSocket.ClientOptions;
      const ws = new WebSocket(url, options);
      ws.on('open', () => {
        const peer = (ws as unknown as { _socket: TLSSocket })._socket.getPeerX509Certificate();
        ws.send('hello from the test');
        ws.once('message', (data) => {
          resolve({ echoed: data.toString(), fingerprint: peer?.fingerprint256 ?? '' });
          ws.close();
        });
      });
      ws.on('error', reject);
    });
  }

  it('with the devenv CA: handshake and an echoed message', async () => {
    const r = await connect(caPem());
    expect(r.echoed).toContain('hello from the test');
  });

  it("the certificate presented is the service's own leaf (passthrough)", async () => {
    const r = await connect(caPem());
    expect(r.fingerprint).toBe(new X509Certificate(leafPem()).fingerprint256);
  });

  it('without the CA: rejected with a certificate error', async () => {
    await expect(connect()).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('keys never appear in the output of up or status', () => {
    const key = readFileSync(join(state, 'projects', 'social', 'tls', 'tls.key'), 'utf8');
    const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!;
    const status = spawnSync(
      process.execPath,
      [join(root, 'devenv'), '-c', join(dir, 'devenv.yaml'), 'status', '--json', '--context', CONTEXT],
      {
        env,
        encoding: 'utf8',
      },
    );
    expect(status.status).toBe(0);
    for (const text of [out, status.stdout, status.stderr]) {
      expect(text).not.toContain(keyBody);
      expect(text).not.toContain('PRIVATE KEY');
    }
  });
});

/**
 * The social fixture on the real test cluster: MySQL (MariaDB) and MinIO outside the
 * cluster, five services, and a chat that terminates TLS itself with devenv's certificate.
 * A real WebSocket client talks wss:// to the chat's own port: with devenv's CA it
 * exchanges a message; without it, the handshake is refused with a certificate error; the
 * certificate presented is the service's own (the leaf devenv issued), not an ingress one.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterProject } from '../support/cluster-project.ts';
import { TEST_CONTEXT } from '../support/fixture.ts';
import { wssEcho } from '../support/wss.ts';

const kubeconfig = inject('kubeconfig');
const CONTEXT = TEST_CONTEXT;

describe.skipIf(!kubeconfig)('social: wss chat with TLS in the service', () => {
  const p = clusterProject(kubeconfig, 'social');
  const { state } = p;
  let out = '';
  let url = '';

  beforeAll(async () => {
    const r = p.devenv(['up', '--no-watch', '--context', CONTEXT]);
    out = r.out;
    if (r.code !== 0) throw new Error(`devenv up failed (${r.code}):\n${out.slice(-4000)}`);
    const ip = execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig!, '-n', 'social', 'get', 'svc', 'chat', '-o', 'jsonpath={.spec.clusterIP}'],
      {
        encoding: 'utf8',
      },
    ).trim();
    url = `wss://${ip}:8443/`;
    // Until kube-proxy has programmed the new Service, its ClusterIP refuses connections.
    await waitForPort(ip, 8443, 30_000);
  });

  const caPem = () => readFileSync(join(state, 'ca', 'ca.crt'), 'utf8');
  const leafPem = () => readFileSync(join(state, 'projects', 'social', 'tls', 'tls.crt'), 'utf8');

  // servername: SNI and host-name verification for the chat's DNS name (we dial its IP).
  const connect = (ca?: string) =>
    wssEcho({
      url,
      servername: 'chat.social.localhost',
      ...(ca ? { ca } : {}),
      message: 'hello from the test',
    });

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

  it('reload of the TLS service applies what up applies: it rolls nothing and the next up writes nothing', () => {
    // Before render.ts, reload rendered the chat without the certificate annotation: the
    // reload rolled it (annotation gone) and the next up rolled it back ("1 updated").
    const generation = () =>
      execFileSync(
        'kubectl',
        [
          '--kubeconfig',
          kubeconfig!,
          '-n',
          'social',
          'get',
          'deploy',
          'chat',
          '-o',
          'jsonpath={.metadata.generation}',
        ],
        { encoding: 'utf8' },
      ).trim();
    const before = generation();
    const reload = p.devenv(['reload', 'chat', '--context', CONTEXT]);
    expect(reload.code, reload.out).toBe(0);
    expect(generation()).toBe(before);
    const again = p.devenv(['up', '--no-watch', '--context', CONTEXT]);
    expect(again.code, again.out).toBe(0);
    expect(again.stdout).toMatch(/: 0 created, 0 updated, \d+ unchanged, 0 pruned/);
    expect(generation()).toBe(before);
  });

  it('keys never appear in the output of up or status', () => {
    const key = readFileSync(join(state, 'projects', 'social', 'tls', 'tls.key'), 'utf8');
    const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!;
    const status = p.devenv(['status', '--json', '--context', CONTEXT]);
    expect(status.code).toBe(0);
    for (const text of [out, status.stdout, status.stderr]) {
      expect(text).not.toContain(keyBody);
      expect(text).not.toContain('PRIVATE KEY');
    }
  });
});

function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connectTcp({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`${host}:${port} never accepted a connection`));
        else setTimeout(attempt, 300);
      });
    };
    attempt();
  });
}

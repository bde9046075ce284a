/**
 * fixtures/social on real k3d, through the CLI: MySQL (MariaDB) and MinIO beside the
 * cluster, five services behind devenv's Traefik, and the chat that terminates TLS itself
 * reached from the host through k3d's load balancer (tls.port → the passthrough NodePort):
 * the certificate presented is the chat's own leaf, verified with devenv's CA. `up` names
 * the ingress-nginx annotations its Traefik version does not honour.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { traefikMinor } from '../../src/cluster/ingress.ts';
import { getVia, type K3dProject, prepareK3dProject, until } from '../support/e2e.ts';
import { wssEcho } from '../support/wss.ts';

const e2e = inject('e2e');
const kind = e2e?.standin ? 'k3s-compatible stand-in node image, not k3s' : 'real k3s';

describe.skipIf(e2e === null)(`social on real k3d (${kind})`, () => {
  let p: K3dProject;
  let up = { code: 0 as number | null, out: '' };

  beforeAll(async () => {
    if (!e2e) return;
    p = await prepareK3dProject('social', e2e, `e2es${process.pid.toString(36)}`);
    up = p.run(['up', '--no-tui', '--no-watch']);
  });
  afterAll(() => {
    if (p) p.run(['destroy', '--yes']);
  });

  it('up succeeds and the web app answers through Traefik with production’s nginx-class Ingress', async () => {
    expect(up.code, up.out).toBe(0);
    const res = await until(60_000, async () => {
      const g = await getVia(p.ports.http, 'social.localhost');
      return g.status === 200 ? g : undefined;
    });
    expect(res?.status).toBe(200);
  });

  it('up names the ingress-nginx annotations the controller version does not honour', () => {
    const minor = traefikMinor(e2e?.ingressImage ?? 'docker.io/library/traefik:v3.7.13');
    if (minor === '3.6') {
      expect(up.out).toMatch(
        /Ingress \S*dbpanel: annotation nginx\.ingress\.kubernetes\.io\/whitelist-source-range not honoured/,
      );
      expect(up.out).toMatch(
        /Ingress \S*web: annotation nginx\.ingress\.kubernetes\.io\/proxy-body-size not honoured/,
      );
    } else {
      expect(up.out).not.toMatch(/annotation nginx\.ingress\.kubernetes\.io\/\S+ not honoured/);
    }
  });

  // Both ways in: the dedicated passthrough port (tls.port → NodePort) and, as production
  // does it, the ingress's own HTTPS port, passed through by SNI (ssl-passthrough).
  it.each([
    ['the passthrough port', () => p.ports.tls],
    ["the ingress's HTTPS port, by SNI", () => p.ports.https],
  ])(
    "wss to the chat through k3d's load balancer on %s: the service's own certificate, verified with devenv's CA",
    async (_what, port) => {
      const ca = readFileSync(join(p.stateDir, 'ca', 'ca.crt'), 'utf8');
      const leaf = readFileSync(join(p.stateDir, 'projects', p.project, 'tls', 'tls.crt'), 'utf8');
      const talk = () =>
        wssEcho({
          url: `wss://127.0.0.1:${port()}/`,
          servername: 'chat.social.localhost',
          ca,
          message: 'hello through k3d',
        });
      const r = await until(60_000, () => talk().catch(() => undefined));
      expect(r?.echoed).toContain('hello through k3d');
      expect(r?.fingerprint).toBe(new X509Certificate(leaf).fingerprint256);
    },
  );
});

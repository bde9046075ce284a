/**
 * Real traffic through devenv's ingress controller on the kube tier's real cluster: Traefik
 * (devenv-test/traefik:<version>, built from its Go module by test/images/build.sh) installed
 * by `devenv up --context devenv-test` itself (cluster.ingressOnExistingCluster), through
 * devenv's apply path, then requests from the host to the node's hostPorts:
 *  - fixtures/social: Host and path rules reach web, api and admin; an unknown host is 404;
 *    the chat answers wss through the HTTPS port by SNI (ssl-passthrough): the chat's own
 *    certificate, verified with devenv's CA, refused without it; the DB panel's
 *    whitelist-source-range is enforced (403 from a range the test client is outside of,
 *    200 from one it is inside of); rewrite-target; proxy-body-size (413 above 20m);
 *  - fixtures/b2b (no controller of its own: the one installed above serves it): the hosts
 *    of its namespaces route;
 *  - prerelease (test/fixtures/prerelease/devenv.ingress.yaml): the prerelease's rewritten
 *    host routes through the same (shared) controller, production's host is not claimed;
 *  - Gateway API (HTTPRoute, TLSRoute attached to a platform Gateway the manifests lack):
 *    devenv installs the CRDs, the GatewayClass and that Gateway; the HTTPRoute's host
 *    reaches web, the TLSRoute passes TLS by SNI to the chat's own certificate;
 *  - the median latency of a request through the ingress vs. to the Service directly.
 *
 * The test cluster's `kubernetes` Service has no endpoints (its API server listens on
 * 127.0.0.1 only), and Traefik is an in-cluster API client: for the duration of this file a
 * TCP relay on the pod bridge's gateway (10.88.0.1) forwards to the API server, and an
 * EndpointSlice of `default/kubernetes` points at it, so the pods' standard in-cluster
 * config (10.96.0.1:443, a name in the API server's certificate) works unchanged.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as YAML from 'yaml';
import { toolMissing } from '../setup/tier.ts';
import { cliEnv, prepareFixture, ROOT, runDevenv, TEST_CONTEXT } from '../support/fixture.ts';
import { TEST_REGISTRY as registry } from '../support/kube.ts';
import { until } from '../support/poll.ts';
import { wssEcho, wssEchoEventually } from '../support/wss.ts';

const kubeconfig = inject('kubeconfig');
const TRAEFIK_VERSION = /^TRAEFIK_VERSION=(\S+)$/m.exec(
  readFileSync(join(ROOT, 'test', 'images', 'traefik', 'versions.env'), 'utf8'),
)?.[1];
const LOCAL_IMAGE = `devenv-test/traefik:${TRAEFIK_VERSION}`;
const IMAGE = `${registry}/${LOCAL_IMAGE}`;
/** Node ports of the controller: not 80/443, which other tiers' clusters use on this host. */
const HTTP_PORT = Number(process.env.DEVENV_TEST_INGRESS_HTTP_PORT ?? 18080);
const HTTPS_PORT = Number(process.env.DEVENV_TEST_INGRESS_HTTPS_PORT ?? 18443);
const BRIDGE_GATEWAY = '10.88.0.1';
const API_SLICE = 'devenv-test-ingress-api';
/** Gateway API: the platform's Gateway the routes attach to, and their hosts. */
const GW_NAME = 'public';
const GW_NAMESPACE = 'platform-ingress';
const GW_WEB_HOST = 'gw.social.localhost';
const GW_CHAT_HOST = 'chat-gw.social.localhost';

const haveImage =
  !!kubeconfig && spawnSync('docker', ['image', 'inspect', LOCAL_IMAGE], { stdio: 'ignore' }).status === 0;
if (kubeconfig && !haveImage)
  toolMissing('ingress-traefik', `no docker image ${LOCAL_IMAGE} (test/images/build.sh traefik)`);

function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig!, ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
}

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** One HTTP request to `ip:port` with a Host header (a fresh connection each time). */
function get(ip: string, port: number, host: string, path = '/', body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let answered = false;
    const req = httpRequest(
      {
        host: ip,
        port,
        path,
        method: body ? 'POST' : 'GET',
        // A body is sent the way curl sends a large one: `Expect: 100-continue`, so a
        // controller that refuses it by its length answers before any of it is sent.
        headers: {
          host,
          connection: 'close',
          ...(body ? { 'content-length': body.length, expect: '100-continue' } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (body) req.on('continue', () => req.end(body));
    else req.end();
  });
}

/** Polls until `ok` holds for an answer (routes appear once Traefik has read the Ingresses). */
const untilAnswer = (ip: string, port: number, host: string, path: string, ok: (a: Answer) => boolean) =>
  until(`${host}${path} via ${ip}:${port}`, () => get(ip, port, host, path), {
    timeoutMs: 90_000,
    intervalMs: 1000,
    accept: ok,
    retryOnError: true,
  });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

describe.skipIf(!haveImage)('Traefik installed by devenv up: real requests through it', () => {
  const social = { dir: '', file: '' };
  const b2b = { dir: '', file: '' };
  let stateDir = '';
  let relay: Server | undefined;
  const relayed = new Set<Socket>();
  let nodeIp = '';
  let up = { code: 0 as number | null, out: '' };
  const env = () => cliEnv(kubeconfig ?? '', stateDir);

  beforeAll(async () => {
    stateDir = execFileSync('mktemp', ['-d', '/tmp/devenv-state-XXXXXX'], { encoding: 'utf8' }).trim();
    // The controller image, pushed to the cluster's registry (pulled by containerd from it).
    execFileSync('docker', ['tag', LOCAL_IMAGE, IMAGE]);
    execFileSync('docker', ['push', IMAGE], { stdio: 'ignore' });
    await startApiRelay();
    nodeIp = kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
    ]).trim();

    Object.assign(social, await prepareFixture('social', { project: 'ingsocial' }));
    const doc = YAML.parseDocument(readFileSync(social.file, 'utf8'));
    // Another project name than the fixture's (its own namespace, beside social-tls's), with
    // the manifests' image names kept.
    for (const svc of (doc.get('services') as YAML.YAMLSeq).items as YAML.YAMLMap[])
      svc.set('image', `social/${svc.get('name')}`);
    doc.setIn(['cluster', 'ingressOnExistingCluster'], true);
    doc.setIn(['cluster', 'ingressImage'], IMAGE);
    doc.setIn(['cluster', 'httpPort'], HTTP_PORT);
    doc.setIn(['cluster', 'httpsPort'], HTTPS_PORT);
    // The chat's certificate also names the host its TLSRoute passes through (Gateway API).
    doc.setIn(['tls', 'hosts'], ['chat.social.localhost', GW_CHAT_HOST]);
    writeFileSync(social.file, doc.toString());
    // The DB panel's allow-list, set so that this client (the node's address) is outside it;
    // a copy of it whose range holds the client; a rewrite-target route to the web app.
    const panel = join(social.dir, 'k8s', 'dbpanel', 'ingress.yaml');
    const ing = YAML.parse(readFileSync(panel, 'utf8'));
    ing.metadata.annotations['nginx.ingress.kubernetes.io/whitelist-source-range'] = '203.0.113.0/24';
    const inside = structuredClone(ing);
    inside.metadata.name = 'dbpanel-inside';
    inside.metadata.annotations['nginx.ingress.kubernetes.io/whitelist-source-range'] =
      `${nodeIp}/32,10.0.0.0/8`;
    inside.spec.rules[0].host = 'dbpanel-inside.social.localhost';
    writeFileSync(panel, `${YAML.stringify(ing)}---\n${YAML.stringify(inside)}`);
    writeFileSync(
      join(social.dir, 'k8s', 'web', 'ingress-rewrite.yaml'),
      YAML.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'web-rewrite',
          annotations: {
            'nginx.ingress.kubernetes.io/use-regex': 'true',
            'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
          },
        },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'rewrite.social.localhost',
              http: {
                paths: [
                  {
                    path: '/site(/|$)(.*)',
                    pathType: 'ImplementationSpecific',
                    backend: { service: { name: 'web', port: { name: 'http' } } },
                  },
                ],
              },
            },
          ],
        },
      }),
    );
    // Gateway API as production writes it: routes attached to the platform's Gateway
    // (namespace platform-ingress, not in the app's manifests: devenv provides it).
    const parentRefs = [{ name: GW_NAME, namespace: GW_NAMESPACE }];
    writeFileSync(
      join(social.dir, 'k8s', 'web', 'httproute.yaml'),
      YAML.stringify({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'web-gw' },
        spec: {
          parentRefs,
          hostnames: [GW_WEB_HOST],
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: '/' } }],
              backendRefs: [{ name: 'web', port: 8080 }],
            },
          ],
        },
      }),
    );
    writeFileSync(
      join(social.dir, 'k8s', 'chat', 'tlsroute.yaml'),
      YAML.stringify({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'TLSRoute',
        metadata: { name: 'chat-gw' },
        spec: {
          parentRefs,
          hostnames: [GW_CHAT_HOST],
          rules: [{ backendRefs: [{ name: 'chat', port: 8443 }] }],
        },
      }),
    );
    const t0 = Date.now();
    up = runDevenv(social.file, ['up', '--no-watch', '--context', TEST_CONTEXT], env());
    process.stderr.write(
      `[ingress-traefik] devenv up (social + Traefik) ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    if (up.code !== 0) throw new Error(`devenv up failed (${up.code}):\n${up.out.slice(-4000)}`);
  }, 900_000);

  afterAll(async () => {
    for (const p of [b2b, social]) {
      if (!p.file) continue;
      const r = runDevenv(p.file, ['destroy', '--yes', '--context', TEST_CONTEXT], env());
      // A destroy that fails leaves things behind (.ci/run's leak check then names them): say why.
      if (r.code !== 0)
        process.stderr.write(`[ingress-traefik] destroy exited ${r.code}:\n${r.out.slice(-3000)}\n`);
    }
    spawnSync('kubectl', [
      '--kubeconfig',
      kubeconfig!,
      '-n',
      'default',
      'delete',
      'endpointslice',
      API_SLICE,
    ]);
    // A watch of a pod that is gone can leave its connection with unsent data (CLOSE_WAIT)
    // for minutes: close() would wait for it.
    for (const c of relayed) c.destroy();
    await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
    for (const d of [social.dir, b2b.dir, stateDir]) if (d) rmSync(d, { recursive: true, force: true });
  }, 300_000);

  async function startApiRelay(): Promise<void> {
    relay = createServer((client) => {
      relayed.add(client);
      client.on('close', () => relayed.delete(client));
      const upstream = netConnect(6443, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    const port = await new Promise<number>((resolve, reject) => {
      relay!.once('error', reject);
      relay!.listen(0, BRIDGE_GATEWAY, () => resolve((relay!.address() as { port: number }).port));
    });
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: API_SLICE,
          namespace: 'default',
          labels: {
            'kubernetes.io/service-name': 'kubernetes',
            'endpointslice.kubernetes.io/managed-by': 'devenv-test',
          },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [BRIDGE_GATEWAY], conditions: { ready: true } }],
        ports: [{ name: 'https', port, protocol: 'TCP' }],
      }),
    );
  }

  it('up installs the controller through its apply path and waits for its rollout', () => {
    expect(up.code, up.out.slice(-4000)).toBe(0);
    expect(up.out).toMatch(/DaemonSet devenv-ingress\/traefik/);
    const ds = JSON.parse(kubectl(['-n', 'devenv-ingress', 'get', 'daemonset', 'traefik', '-o', 'json']));
    expect(ds.metadata.labels['app.kubernetes.io/managed-by']).toBe('devenv');
    expect(ds.status.numberReady).toBe(ds.status.desiredNumberScheduled);
    expect(ds.spec.template.spec.containers[0].image).toBe(IMAGE);
    // Every annotation of the fixture is one this version honours: nothing reported.
    expect(up.out).not.toMatch(/annotation nginx\.ingress\.kubernetes\.io\/\S+ not honoured/);
  });

  it('host and path rules reach web, api and admin; an unknown host is 404', async () => {
    const web = await untilAnswer(nodeIp, HTTP_PORT, 'social.localhost', '/', (a) => a.status === 200);
    expect(web.body).toContain('<h1>social</h1>');
    // /api → the api Service (its 404 for an unknown path, not the web page).
    const api = await untilAnswer(
      nodeIp,
      HTTP_PORT,
      'social.localhost',
      '/api/posts',
      (a) => a.status !== 404,
    );
    expect(api.body).not.toContain('<h1>social</h1>');
    const admin = await untilAnswer(
      nodeIp,
      HTTP_PORT,
      'admin.social.localhost',
      '/',
      (a) => a.status === 200,
    );
    expect(admin.body).not.toContain('<h1>social</h1>');
    expect((await get(nodeIp, HTTP_PORT, 'nobody.social.localhost', '/')).status).toBe(404);
  });

  it('whitelist-source-range: 403 outside the allowed range, 200 inside it', async () => {
    await untilAnswer(nodeIp, HTTP_PORT, 'dbpanel-inside.social.localhost', '/', (a) => a.status === 200);
    const denied = await untilAnswer(
      nodeIp,
      HTTP_PORT,
      'dbpanel.social.localhost',
      '/',
      (a) => a.status !== 404,
    );
    expect(denied.status).toBe(403);
  });

  it('rewrite-target: /site/healthz reaches the web app as /healthz', async () => {
    const a = await untilAnswer(
      nodeIp,
      HTTP_PORT,
      'rewrite.social.localhost',
      '/site/healthz',
      (x) => x.status !== 404,
    );
    expect(a.status).toBe(200);
    expect(a.body).toBe('ok\n');
    // Without the rewrite the web app answers 404 to that path: the rewrite did the work.
    expect((await get(nodeIp, HTTP_PORT, 'social.localhost', '/site/healthz')).status).toBe(404);
  });

  it('proxy-body-size 20m: a 21 MB body is refused with 413, a small one passes', async () => {
    const big = await get(nodeIp, HTTP_PORT, 'social.localhost', '/api/none', Buffer.alloc(21 * 1024 * 1024));
    expect(big.status).toBe(413);
    const small = await get(nodeIp, HTTP_PORT, 'social.localhost', '/api/none', Buffer.alloc(1024));
    expect(small.status).not.toBe(413);
  });

  it('ssl-passthrough: wss to the chat through the HTTPS port by SNI, with the chat’s own certificate', async () => {
    const ca = readFileSync(join(stateDir, 'ca', 'ca.crt'), 'utf8');
    const leaf = readFileSync(join(stateDir, 'projects', 'ingsocial', 'tls', 'tls.crt'), 'utf8');
    const via = {
      url: `wss://${nodeIp}:${HTTPS_PORT}/`,
      servername: 'chat.social.localhost',
      host: 'chat.social.localhost',
      message: 'hello through traefik',
    };
    const r = await wssEchoEventually({ ...via, ca });
    expect(r.echoed).toContain('hello through traefik');
    expect(r.fingerprint).toBe(new X509Certificate(leaf).fingerprint256);
    await expect(wssEcho(via)).rejects.toThrow(/self[- ]signed|unable to (verify|get)|certificate/i);
  });

  it('Gateway API: CRDs v1.6.1, the GatewayClass and the platform’s Gateway installed by devenv; the HTTPRoute’s host reaches the web app', async () => {
    const crd = JSON.parse(kubectl(['get', 'crd', 'httproutes.gateway.networking.k8s.io', '-o', 'json']));
    expect(crd.metadata.labels['app.kubernetes.io/managed-by']).toBe('devenv');
    expect(crd.metadata.annotations['gateway.networking.k8s.io/bundle-version']).toBe('v1.6.1');
    const gw = JSON.parse(kubectl(['-n', GW_NAMESPACE, 'get', 'gateway', GW_NAME, '-o', 'json']));
    expect(gw.metadata.labels['app.kubernetes.io/managed-by']).toBe('devenv');
    expect(gw.spec.gatewayClassName).toBe('traefik');
    const a = await untilAnswer(nodeIp, HTTP_PORT, GW_WEB_HOST, '/', (x) => x.status === 200);
    expect(a.body).toContain('<h1>social</h1>');
    // Traefik accepted the route on the Gateway devenv made.
    const route = JSON.parse(kubectl(['-n', 'ingsocial', 'get', 'httproute', 'web-gw', '-o', 'json']));
    const accepted = route.status.parents[0].conditions.find((c: { type: string }) => c.type === 'Accepted');
    expect(accepted.status).toBe('True');
  });

  it('Gateway API: a TLSRoute passes a TLS connection by SNI through the HTTPS port to the chat’s own certificate', async () => {
    const ca = readFileSync(join(stateDir, 'ca', 'ca.crt'), 'utf8');
    const leaf = readFileSync(join(stateDir, 'projects', 'ingsocial', 'tls', 'tls.crt'), 'utf8');
    const r = await wssEchoEventually({
      url: `wss://${nodeIp}:${HTTPS_PORT}/`,
      servername: GW_CHAT_HOST,
      host: GW_CHAT_HOST,
      ca,
      message: 'hello through a TLSRoute',
    });
    expect(r.echoed).toContain('hello through a TLSRoute');
    expect(r.fingerprint).toBe(new X509Certificate(leaf).fingerprint256);
  });

  it('latency: median of a request through the ingress vs. to the Service directly', async () => {
    const ip = kubectl(['-n', 'ingsocial', 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const port = Number(
      kubectl(['-n', 'ingsocial', 'get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[0].port}']),
    );
    await untilAnswer(ip, port, 'social.localhost', '/healthz', (a) => a.status === 200);
    const via: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 60; i++) {
      via.push((await get(nodeIp, HTTP_PORT, 'social.localhost', '/healthz')).ms);
      direct.push((await get(ip, port, 'social.localhost', '/healthz')).ms);
    }
    const m = { ingress: median(via), direct: median(direct) };
    process.stderr.write(
      `[ingress-traefik] median latency over 60 requests: through Traefik ${m.ingress.toFixed(2)} ms, ` +
        `Service directly ${m.direct.toFixed(2)} ms\n`,
    );
    expect(m.ingress).toBeGreaterThan(0);
  });

  it('fixtures/b2b: its namespaces’ hosts route through the same controller', async () => {
    Object.assign(b2b, await prepareFixture('b2b', { project: 'b2b' }));
    const r = runDevenv(b2b.file, ['up', '--no-watch', '--context', TEST_CONTEXT], env());
    expect(r.code, r.out.slice(-4000)).toBe(0);
    // b2b did not ask for a controller on this existing cluster: it installed none.
    expect(r.out).not.toMatch(/DaemonSet devenv-ingress\/traefik/);
    for (const host of ['shop.b2b.localhost', 'b2b.localhost']) {
      const a = await untilAnswer(nodeIp, HTTP_PORT, host, '/', (x) => x.status === 200);
      expect(a.status).toBe(200);
    }
  }, 900_000);

  it('prerelease: its rewritten host routes through the shared controller; production’s host is not claimed', async () => {
    // test/fixtures/prerelease/devenv.ingress.yaml: production's Ingress for
    // web.prfix.example.com; prerelease.ingressDomain pr.example.test.
    const file = join(ROOT, 'test', 'fixtures', 'prerelease', 'devenv.ingress.yaml');
    const name = `ing-${Date.now().toString(36)}`;
    const ns = `prerelease-${name}`;
    const common = ['--context', TEST_CONTEXT, '--kubeconfig', kubeconfig!, '--name', name];
    try {
      const r = runDevenv(file, ['prerelease', 'up', ...common, '--build', '--registry', registry], env());
      expect(r.code, r.out.slice(-4000)).toBe(0);
      const ing = JSON.parse(kubectl(['-n', ns, 'get', 'ingress', 'web', '-o', 'json']));
      const host = `web-${ns}.pr.example.test`;
      expect(ing.spec.rules.map((x: { host: string }) => x.host)).toEqual([host]);
      const a = await untilAnswer(nodeIp, HTTP_PORT, host, '/', (x) => x.status === 200);
      expect(JSON.parse(a.body)).toMatchObject({ greeting: 'hello' });
      // Production's host: no Ingress of the prerelease claims it, the controller has no route.
      expect((await get(nodeIp, HTTP_PORT, 'web.prfix.example.com', '/')).status).toBe(404);
    } finally {
      runDevenv(file, ['prerelease', 'down', ...common], env());
    }
  }, 900_000);
});

/**
 * Cluster DNS on the test cluster (test/cluster: CoreDNS as a host process, the kubelet's
 * clusterDNS): a pod in one namespace resolves `<svc>.<ns>.svc.cluster.local` of a Service
 * in another namespace, as micro-service fixtures do (b2b's portal calls
 * http://api.back.svc.cluster.local:8080), and gets an HTTP answer through that name.
 * The client is a Job: its pod's exit code says whether it worked, its log says what it saw.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_REGISTRY as registry } from '../support/kube.ts';
import { until } from '../support/poll.ts';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const baseImage = 'devenv-test/python:3.11';
const image = `${registry}/devenv-dns-test/python:3.11`;

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const serverNs = `devenv-dns-back-${runId}`;
const clientNs = `devenv-dns-front-${runId}`;
const service = 'api';
const fqdn = `${service}.${serverNs}.svc.cluster.local`;
const marker = `dns-test-${runId}`;

// Answers every GET with the marker and the pod's name.
const serverPy = `
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("${marker} from " + os.environ.get("HOSTNAME", "?") + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("listening on 8080", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
`;

// Prints its resolv.conf, resolves the Service by its full name and by the search path,
// then GETs it by name (retrying while the server pod starts). Exit 0 only on an answer.
const clientPy = `
import socket, sys, time, urllib.request
print("resolv.conf:", open("/etc/resolv.conf").read().replace("\\n", " | "), flush=True)
def resolve(name):
    for _ in range(30):
        try:
            return sorted({a[4][0] for a in socket.getaddrinfo(name, 8080, socket.AF_INET, socket.SOCK_STREAM)})
        except OSError as e:
            print("resolve", name, "failed:", e, flush=True)
            time.sleep(1)
    sys.exit(2)
print("resolved ${fqdn} =", ",".join(resolve("${fqdn}")), flush=True)
print("resolved ${service}.${serverNs} =", ",".join(resolve("${service}.${serverNs}")), flush=True)
for _ in range(60):
    try:
        with urllib.request.urlopen("http://${fqdn}:8080/", timeout=3) as r:
            print("answer:", r.status, r.read().decode().strip(), flush=True)
            sys.exit(0)
    except OSError as e:
        print("GET failed:", e, flush=True)
        time.sleep(1)
sys.exit(3)
`;

const untilAnswer = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  until(what, probe, { timeoutMs, retryOnError: true }) as Promise<T>;

describe.skipIf(!kubeconfig)('cluster DNS (CoreDNS on the test cluster)', () => {
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let batch: k8s.BatchV1Api;

  beforeAll(async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig!);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    batch = kc.makeApiClient(k8s.BatchV1Api);
    try {
      await run('docker', ['image', 'inspect', baseImage]);
    } catch {
      throw new Error(`image ${baseImage} is missing: build the test images first (test/images)`);
    }
    // Same layers as the base image: the push only uploads what the registry lacks.
    await run('docker', ['tag', baseImage, image]);
    await run('docker', ['push', image]);
    for (const name of [serverNs, clientNs]) {
      await core.createNamespace({
        body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'devenv-test' } } },
      });
    }
  }, 300_000);

  afterAll(async () => {
    if (!core) return;
    for (const name of [serverNs, clientNs]) {
      await core.deleteNamespace({ name }).catch(() => undefined);
    }
  }, 60_000);

  it('resolves a Service in another namespace by name and reaches it over HTTP', async () => {
    const labels = { app: service };
    await apps.createNamespacedDeployment({
      namespace: serverNs,
      body: {
        metadata: { name: service, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: service,
                  image,
                  command: ['python3', '-c', serverPy],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const svc = await core.createNamespacedService({
      namespace: serverNs,
      body: {
        metadata: { name: service },
        spec: { selector: labels, ports: [{ port: 8080, targetPort: 8080 }] },
      },
    });
    const clusterIP = svc.spec?.clusterIP;
    expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    await batch.createNamespacedJob({
      namespace: clientNs,
      body: {
        metadata: { name: 'client' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { app: 'client' } },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'client', image, command: ['python3', '-c', clientPy] }],
            },
          },
        },
      },
    });

    const done = await untilAnswer('the client Job to finish', 180_000, async () => {
      const job = await batch.readNamespacedJob({ name: 'client', namespace: clientNs });
      const conds = job.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
      if (conds.some((c) => c.type === 'Failed' && c.status === 'True')) return 'Failed';
      return undefined;
    });
    const pods = await core.listNamespacedPod({ namespace: clientNs, labelSelector: 'app=client' });
    const pod = pods.items[0];
    expect(pod, 'the client pod').toBeDefined();
    const log = await core.readNamespacedPodLog({ name: pod!.metadata!.name!, namespace: clientNs });
    const exitCode = pod!.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;

    expect({ done, exitCode, log }).toMatchObject({ done: 'Complete', exitCode: 0 });
    // The kubelet wrote a cluster resolv.conf: the pod's namespace first in the search path.
    expect(log).toContain(`search ${clientNs}.svc.cluster.local svc.cluster.local cluster.local`);
    expect(log).toContain(`resolved ${fqdn} = ${clusterIP}\n`);
    expect(log).toContain(`resolved ${service}.${serverNs} = ${clusterIP}\n`);
    expect(log).toMatch(new RegExp(`answer: 200 ${marker} from ${service}-`));
  }, 240_000);
});

// The kube test tier's cluster (test/cluster/start.sh) is a real Kubernetes: a real
// kubelet runs real containers pulled from the local registry, the API serves their
// logs, kube-proxy routes Services, and controllers recreate deleted pods.
//
// Needs DEVENV_TEST_KUBECONFIG (printed by start.sh), a Docker engine and the test base
// image (test/images, devenv-test/base:bookworm). Outside CI it is skipped without a
// kubeconfig; with CI=true a missing cluster fails the run.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_IMAGE as baseImage,
  type PushedImage,
  pushTestImage,
  TEST_REGISTRY as registry,
} from '../support/kube.ts';
import { until } from '../support/poll.ts';

const run = promisify(execFile);
const kubeconfigPath = process.env.DEVENV_TEST_KUBECONFIG;
const enabled = Boolean(kubeconfigPath) || process.env.CI === 'true';

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const namespace = `devenv-cluster-test-${runId}`;
const image = `${registry}/devenv-cluster-test:${runId}`;
const app = 'echo';

// A tiny HTTP server in Perl (perl-base is part of every Debian minbase): logs a line at
// start and one per request, answers with the pod's name.
const serverPl = String.raw`use strict; use warnings; use IO::Socket::INET;
$| = 1;
my $port = $ENV{PORT} || 8080;
my $name = $ENV{HOSTNAME} || 'unknown';
my $srv = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 16, ReuseAddr => 1)
  or die "listen on $port: $!";
$SIG{TERM} = sub { print "terminating\n"; exit 0 };
print "devenv-cluster-test listening on $port as $name\n";
while (my $c = $srv->accept) {
  my $req = <$c> // '';
  while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my ($method, $path) = $req =~ /^(\S+)\s+(\S+)/ ? ($1, $2) : ('?', '?');
  my $body = "hello from $name\n";
  print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body)
    . "\r\nConnection: close\r\n\r\n$body";
  close $c;
  print "request $method $path\n" unless $path eq '/healthz';
}
`;

const untilAnswer = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  until(what, probe, { timeoutMs, retryOnError: true }) as Promise<T>;

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const isReady = (pod: k8s.V1Pod) =>
  pod.metadata?.deletionTimestamp === undefined &&
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describe.skipIf(!enabled)('kube test cluster (real kubelet)', () => {
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let built: PushedImage | undefined;
  let podName = '';

  const readyPods = async () =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.filter(isReady);

  beforeAll(async () => {
    if (!kubeconfigPath) {
      throw new Error('DEVENV_TEST_KUBECONFIG is not set: run test/cluster/start.sh and export it');
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);

    try {
      await run('docker', ['image', 'inspect', baseImage]);
    } catch {
      throw new Error(`base image ${baseImage} is missing: build it with test/images first`);
    }
    built = await pushTestImage(
      image,
      {
        'server.pl': serverPl,
        Dockerfile: [
          `FROM ${baseImage}`,
          'LABEL dev.devenv/test=cluster',
          'COPY server.pl /server.pl',
          'USER 65534',
          'EXPOSE 8080',
          'CMD ["perl", "/server.pl"]',
          '',
        ].join('\n'),
      },
      'devenv-cluster-test-',
    );

    await core.createNamespace({
      body: {
        metadata: { name: namespace, labels: { 'app.kubernetes.io/managed-by': 'devenv-test' } },
      },
    });
  }, 300_000);

  afterAll(async () => {
    if (core) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await built?.remove();
  }, 60_000);

  it('has a Ready node', async () => {
    const nodes = await core.listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(ready.length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('rolls out a Deployment of an image pushed to the local registry', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: app, labels: { app } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: {
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: app,
                  image,
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: {
                    httpGet: { path: '/healthz', port: 8080 },
                    periodSeconds: 1,
                  },
                },
              ],
            },
          },
        },
      },
    });
    const status = await untilAnswer('the Deployment to be available', 180_000, async () => {
      const d = await apps.readNamespacedDeployment({ name: app, namespace });
      return d.status?.readyReplicas === 1 && d.status.updatedReplicas === 1 ? d.status : undefined;
    });
    expect(status.availableReplicas).toBe(1);
    const pods = await readyPods();
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    podName = pod.metadata?.name ?? '';
    expect(pod.spec?.nodeName).toBeTruthy();
    expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  }, 200_000);

  it('reads the pod log through the API', async () => {
    const log = await untilAnswer('the start-up log line', 30_000, async () => {
      const text = await core.readNamespacedPodLog({ name: podName, namespace });
      return text.includes('listening on 8080') ? text : undefined;
    });
    expect(log).toContain(`as ${podName}`);
  }, 40_000);

  it('routes a ClusterIP Service to the pod (kube-proxy)', async () => {
    const svc = await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: app },
        spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const clusterIP = svc.spec?.clusterIP;
    expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // A fresh connection per attempt: until kube-proxy has programmed the Service, the
    // packets follow the default route, and a kept-alive connection to whatever answers
    // there would be reused forever.
    const body = await untilAnswer(`http://${clusterIP}/`, 60_000, () => httpGet(`http://${clusterIP}/`));
    expect(body).toBe(`hello from ${podName}\n`);
    // The request shows up in the pod's log.
    await untilAnswer('the request in the log', 30_000, async () => {
      const text = await core.readNamespacedPodLog({ name: podName, namespace });
      return text.includes('request GET /') ? true : undefined;
    });
  }, 100_000);

  it('recreates a deleted pod', async () => {
    await core.deleteNamespacedPod({ name: podName, namespace, gracePeriodSeconds: 0 });
    const replacement = await untilAnswer('a replacement pod to be Ready', 120_000, async () => {
      const pods = (await readyPods()).filter((p) => p.metadata?.name !== podName);
      return pods.length === 1 ? pods[0] : undefined;
    });
    expect(replacement.metadata?.name).not.toBe(podName);
    expect(replacement.status?.containerStatuses?.[0]?.ready).toBe(true);
  }, 130_000);
});

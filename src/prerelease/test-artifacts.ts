/**
 * The evidence of a test run in the artifacts folder, whatever the result: junit.xml (when a
 * report exists, also copied to --junit), the log of every container of every pod
 * (pods/<pod>/<container>.log), the namespace's events (events.txt, events.json) and
 * status.json listing every file.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { KubeClient } from '../kube/client.ts';
import { readLogs } from '../kube/logs.ts';
import { listEvents, listPods, type PodSummary } from './cluster.ts';
import { summarizeJunit } from './junit.ts';
import type { TestStatus } from './test-status.ts';

/**
 * Writes every artifact and status.json; sets the status's junit summary, pods, exit code,
 * finish time, duration (from `t0`, performance.now()) and file list.
 */
export async function writeArtifacts(
  client: KubeClient,
  status: TestStatus,
  o: { artifacts: string; junitXml: string | undefined; junitCopy: string | undefined; t0: number },
): Promise<void> {
  const { artifacts, junitXml } = o;
  if (junitXml) {
    writeFileSync(join(artifacts, 'junit.xml'), junitXml);
    status.junit = { file: 'junit.xml', ...summarizeJunit(junitXml) };
    if (o.junitCopy) {
      mkdirSync(dirname(resolve(o.junitCopy)), { recursive: true });
      writeFileSync(resolve(o.junitCopy), junitXml);
    }
  }
  status.pods = await collectPodLogs(client, status.namespace, artifacts).catch((err: Error) => {
    status.error ??= `pod logs: ${err.message}`;
    return [];
  });
  const events = await listEvents(client, status.namespace).catch(() => []);
  writeFileSync(join(artifacts, 'events.json'), `${JSON.stringify(events, null, 2)}\n`);
  writeFileSync(
    join(artifacts, 'events.txt'),
    events
      .map(
        (e) =>
          `${e.time}  ${e.type.padEnd(7)} ${e.reason.padEnd(20)} ${e.object}  ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`,
      )
      .join('\n') + (events.length ? '\n' : ''),
  );
  status.exitCode = status.result === 'passed' ? 0 : 1;
  status.finishedAt = new Date().toISOString();
  status.durationMs = Math.round(performance.now() - o.t0);
  status.files = [...listFiles(artifacts, artifacts), 'status.json']
    .filter((f, i, a) => a.indexOf(f) === i)
    .sort();
  writeFileSync(join(artifacts, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
}

/** The main containers' logs of a pod, one after the other. */
export async function podLog(client: KubeClient, namespace: string, pod: PodSummary): Promise<string> {
  const main = pod.containers.filter((c) => !c.init);
  const parts: string[] = [];
  for (const c of main) {
    parts.push(
      await readLogs(client, namespace, pod.name, c.name, { limitBytes: 16 * 1024 * 1024 }).catch(() => ''),
    );
  }
  return parts.join('\n');
}

/** pods/<pod>/<container>.log (and .previous.log after a restart) for every pod of the namespace. */
async function collectPodLogs(
  client: KubeClient,
  namespace: string,
  artifacts: string,
): Promise<PodSummary[]> {
  const pods = await listPods(client, namespace);
  for (const pod of pods) {
    const dir = join(artifacts, 'pods', pod.name);
    mkdirSync(dir, { recursive: true });
    for (const c of pod.containers) {
      if (c.state === 'not started') continue;
      const text = await readLogs(client, namespace, pod.name, c.name, {
        limitBytes: 16 * 1024 * 1024,
      }).catch((err: Error) => `(log unavailable: ${err.message})\n`);
      writeFileSync(join(dir, `${c.name}.log`), text);
      if (c.restarts > 0) {
        const prev = await readLogs(client, namespace, pod.name, c.name, { previous: true }).catch(() => '');
        if (prev) writeFileSync(join(dir, `${c.name}.previous.log`), prev);
      }
    }
  }
  return pods;
}

/** Two reports in one: <testsuites> holding the suites of both. */
export function mergeJunit(a: string, b: string): string {
  const suites = (xml: string) => [...xml.matchAll(/<testsuite\b[\s\S]*?<\/testsuite>/g)].map((m) => m[0]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${[...suites(a), ...suites(b)].join('\n')}\n</testsuites>\n`;
}

function listFiles(dir: string, root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, root));
    else out.push(relative(root, p));
  }
  return out;
}

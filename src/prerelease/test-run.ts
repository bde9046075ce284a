/**
 * `devenv prerelease test`: runs the project's integration tests against a prerelease
 * namespace and collects the evidence. Two ways to run them:
 *   - a Job of the manifests labelled `dev.devenv/role: test` (the default): deleted if a
 *     previous run left it, applied through the same reconcile as everything else, and
 *     waited for; the Job's outcome (Complete / Failed) is the result. Its JUnit report is
 *     read from its pod's log, between the markers of junit.ts;
 *   - a local command (`--command "npm run itest"`), run with the namespace's endpoints in
 *     its environment (the devenv-data variables, <SERVICE>_SERVICE_HOST/_PORT and
 *     DEVENV_URL_<SERVICE> per Service, PRERELEASE_NAMESPACE) and DEVENV_JUNIT naming the
 *     file it should write its JUnit report to; its exit status is the result.
 * Whatever the result, the artifacts folder receives: junit.xml (when a report exists),
 * the log of every container of every pod in the namespace (pods/<pod>/<container>.log),
 * the namespace's events (events.txt, events.json) and status.json. Exit code: 0 when the
 * tests passed, 1 when they failed, timed out or could not run.
 */
import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { DATA_SECRET_NAME } from '../data/secret.ts';
import { deploy } from '../engine/deploy.ts';
import { badInput } from '../errors.ts';
import { type EventSink, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { readLogs } from '../kube/logs.ts';
import { deleteObject, readObject, refOf, waitGone } from '../kube/objects.ts';
import { isOwned, isTestJob, type RenderedObject, type SourceDoc } from '../manifests/types.ts';
import {
  listEvents,
  listIngressHosts,
  listPods,
  listServices,
  type PodSummary,
  readNamespace,
  readSecretData,
} from './cluster.ts';
import { parseDuration } from './expiry.ts';
import { extractJunit, type JunitSummary, summarizeJunit } from './junit.ts';
import { ANNOTATION_COMMIT, ANNOTATION_OWNER, imagesOf, isPrereleaseOf } from './metadata.ts';
import { connectSession, resolveSession } from './session.ts';
import { renderApp, usesData } from './up.ts';

export interface PrereleaseTestOptions {
  loaded: LoadedConfig;
  context?: string;
  kubeconfig?: string;
  name?: string;
  /** Also write the JUnit report here. */
  junit?: string;
  /** Artifacts folder (default <project>/.devenv/prerelease/<namespace>). */
  artifacts?: string;
  /** Limit for the whole test run (default "30m"). */
  timeout?: string;
  /** Run this shell command locally instead of the test Job. */
  command?: string;
  now?: Date;
  env?: Readonly<Record<string, string | undefined>>;
  /** Where a local command's output is echoed (default process.stdout). */
  output?: NodeJS.WritableStream;
  onEvent: EventSink;
}

export type TestOutcome = 'passed' | 'failed' | 'timeout' | 'error';

export interface TestStatus {
  project: string;
  namespace: string;
  context: string;
  mode: 'job' | 'command';
  result: TestOutcome;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  commit?: string;
  owner?: string;
  jobs?: Array<{ name: string; outcome: TestOutcome; message?: string; succeeded: number; failed: number }>;
  command?: { command: string; exitCode: number | null; signal: string | null };
  junit: (JunitSummary & { file: string }) | null;
  pods: PodSummary[];
  /** Files in the artifacts folder, relative to it. */
  files: string[];
  error?: string;
}

export interface PrereleaseTestResult {
  status: TestStatus;
  artifacts: string;
  exitCode: number;
}

interface JobLive {
  status?: {
    succeeded?: number;
    failed?: number;
    /** Finished pods the controller has not yet added to the counts above. */
    uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

export async function prereleaseTest(opts: PrereleaseTestOptions): Promise<PrereleaseTestResult> {
  const now = opts.now ?? new Date();
  const env = opts.env ?? process.env;
  const emit = opts.onEvent;
  const session = resolveSession(opts.loaded, opts, now);
  const { config, namespace } = session;
  const timeoutMs = parseDuration(opts.timeout ?? '30m');
  const artifacts = resolve(opts.artifacts ?? join(session.root, '.devenv', 'prerelease', namespace));
  const mode: 'job' | 'command' = opts.command ? 'command' : 'job';
  if (opts.command !== undefined && opts.command.trim() === '') throw badInput('--command is empty.');

  // The manifests' test Jobs, found before anything runs.
  const { loadManifests } = await import('../manifests/load.ts');
  const { renderManifests } = await import('../manifests/render.ts');
  const docs = new Map<string, SourceDoc[]>();
  for (const svc of config.services)
    docs.set(svc.name, await loadManifests(svc.manifests, { root: session.root }));
  const probe = renderApp(
    config,
    namespace,
    docs,
    {},
    usesData(config),
    renderManifests,
    true,
  ).objects.filter((o) => isTestJob(o.object));
  if (mode === 'job' && probe.length === 0) {
    throw badInput(
      'no test Job in the manifests: label a Job "dev.devenv/role: test", or pass --command to run the tests locally.',
    );
  }

  const client = await connectSession(session, emit);
  const live = await readNamespace(client, namespace);
  if (!live || !isPrereleaseOf(live.metadata.labels, config.project)) {
    throw badInput(
      live
        ? `namespace ${namespace} was not created by devenv's prerelease for project ${config.project}.`
        : `no prerelease namespace ${namespace} in context ${session.context}; run "devenv prerelease up" first.`,
    );
  }
  const annotations = live.metadata.annotations ?? {};
  const withData = usesData(config);

  mkdirSync(artifacts, { recursive: true });
  rmSync(join(artifacts, 'pods'), { recursive: true, force: true });
  const startedAt = new Date();
  const t0 = performance.now();
  const status: TestStatus = {
    project: config.project,
    namespace,
    context: session.context,
    mode,
    result: 'error',
    exitCode: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationMs: 0,
    ...(annotations[ANNOTATION_COMMIT] ? { commit: annotations[ANNOTATION_COMMIT] } : {}),
    ...(annotations[ANNOTATION_OWNER] ? { owner: annotations[ANNOTATION_OWNER] } : {}),
    junit: null,
    pods: [],
    files: [],
  };
  let junitXml: string | undefined;
  try {
    if (mode === 'job') {
      const images = imagesOf(annotations);
      const jobs = renderApp(config, namespace, docs, images, withData, renderManifests, true).objects.filter(
        (o) => isTestJob(o.object),
      );
      status.jobs = [];
      for (const job of jobs) {
        const r = await runJob(client, job, {
          project: config.project,
          namespace,
          timeoutMs,
          target: session.context,
          emit,
        });
        status.jobs.push(r);
        const pods = await listPods(client, namespace, `job-name=${job.id.name}`);
        for (const pod of [...pods].reverse()) {
          const log = await podLog(client, namespace, pod);
          const xml = extractJunit(log);
          if (xml) {
            junitXml = junitXml ? mergeJunit(junitXml, xml) : xml;
            break;
          }
        }
      }
      const worst = status.jobs.find((j) => j.outcome !== 'passed');
      status.result = worst ? worst.outcome : 'passed';
      if (worst?.message) status.error = worst.message;
    } else {
      const junitFile = join(artifacts, 'junit.xml');
      rmSync(junitFile, { force: true });
      const vars = await endpointEnv(client, namespace);
      const r = await step(emit, 'test:command', `run ${opts.command}`, () =>
        runCommand(opts.command!, {
          cwd: session.root,
          env: { ...env, ...vars, DEVENV_JUNIT: junitFile },
          timeoutMs,
          logFile: join(artifacts, 'test-output.log'),
          output: opts.output ?? process.stdout,
        }),
      );
      status.command = { command: opts.command!, exitCode: r.exitCode, signal: r.signal };
      status.result = r.timedOut ? 'timeout' : r.exitCode === 0 ? 'passed' : 'failed';
      if (r.timedOut) status.error = `the command did not finish within ${opts.timeout ?? '30m'}`;
      junitXml = existsSync(junitFile)
        ? readFileSync(junitFile, 'utf8')
        : extractJunit(readFileSync(join(artifacts, 'test-output.log'), 'utf8'));
    }
  } catch (err) {
    status.result = 'error';
    status.error = (err as Error).message;
  } finally {
    await step(emit, 'artifacts', `collect artifacts into ${artifacts}`, async () => {
      if (junitXml) {
        writeFileSync(join(artifacts, 'junit.xml'), junitXml);
        status.junit = { file: 'junit.xml', ...summarizeJunit(junitXml) };
        if (opts.junit) {
          mkdirSync(dirname(resolve(opts.junit)), { recursive: true });
          writeFileSync(resolve(opts.junit), junitXml);
        }
      }
      status.pods = await collectPodLogs(client, namespace, artifacts).catch((err: Error) => {
        status.error ??= `pod logs: ${err.message}`;
        return [];
      });
      const events = await listEvents(client, namespace).catch(() => []);
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
      status.durationMs = Math.round(performance.now() - t0);
      status.files = [...listFiles(artifacts, artifacts), 'status.json']
        .filter((f, i, a) => a.indexOf(f) === i)
        .sort();
      writeFileSync(join(artifacts, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
    });
  }
  return { status, artifacts, exitCode: status.exitCode };
}

async function runJob(
  client: KubeClient,
  job: RenderedObject,
  ctx: { project: string; namespace: string; timeoutMs: number; target: string; emit: EventSink },
): Promise<NonNullable<TestStatus['jobs']>[number]> {
  const ref = refOf(job.object);
  const what = `Job ${ctx.namespace}/${job.id.name}`;
  // A previous run's Job (and its pods) goes first: a Job's template is immutable, and
  // its old pods must not be mistaken for this run's.
  const old = await readObject(client, ref);
  if (old) {
    if (!isOwned(old.metadata.labels, ctx.project, 'prerelease'))
      throw badInput(`${what} exists and was not created by devenv; devenv leaves it alone.`);
    await step(ctx.emit, `test:${job.id.name}:reset`, `delete the previous run of ${what}`, async () => {
      await deleteObject(client, ref, 'Foreground');
      await waitGone(client, ref, 180_000, old.metadata.uid);
    });
  }
  await deploy({
    client,
    objects: [job],
    project: ctx.project,
    env: 'prerelease',
    namespaces: [ctx.namespace],
    prune: false,
    noWait: () => true,
    target: `${ctx.target}, namespace ${ctx.namespace}`,
    onEvent: ctx.emit,
  });
  const { waitForRollouts } = await import('../kube/rollout.ts');
  let message: string | undefined;
  try {
    await waitForRollouts({
      client,
      objects: [job.object],
      timeoutMs: ctx.timeoutMs,
      // Only the Job's own verdict (or a certain failure such as an image that cannot be
      // pulled) ends the wait: a failed attempt may be retried within backoffLimit.
      stuckMs: ctx.timeoutMs,
      stepId: () => `test:${job.id.name}`,
      onEvent: ctx.emit,
    });
  } catch (err) {
    message = (err as Error).message;
  }
  const liveJob = (await readObject(client, ref)) as (JobLive & object) | undefined;
  const conditions = liveJob?.status?.conditions ?? [];
  const has = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  const outcome: TestOutcome =
    has('Complete') || has('SuccessCriteriaMet')
      ? 'passed'
      : has('Failed') || has('FailureTarget')
        ? 'failed'
        : message && /not ready after/.test(message)
          ? 'timeout'
          : 'error';
  return {
    name: job.id.name,
    outcome,
    ...(message ? { message } : {}),
    // The Job controller can report SuccessCriteriaMet (the wait's verdict) while the pod
    // that met it is still in uncountedTerminatedPods, not yet in `succeeded`: count both.
    succeeded:
      (liveJob?.status?.succeeded ?? 0) + (liveJob?.status?.uncountedTerminatedPods?.succeeded?.length ?? 0),
    failed: (liveJob?.status?.failed ?? 0) + (liveJob?.status?.uncountedTerminatedPods?.failed?.length ?? 0),
  };
}

async function podLog(client: KubeClient, namespace: string, pod: PodSummary): Promise<string> {
  const main = pod.containers.filter((c) => !c.init);
  const parts: string[] = [];
  for (const c of main) {
    parts.push(
      await readLogs(client, namespace, pod.name, c.name, { limitBytes: 16 * 1024 * 1024 }).catch(() => ''),
    );
  }
  return parts.join('\n');
}

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

/** Environment for a local test command: the namespace's endpoints, as pods would see them. */
export async function endpointEnv(client: KubeClient, namespace: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = { PRERELEASE_NAMESPACE: namespace, DEVENV_NAMESPACE: namespace };
  const secret = await readSecretData(client, namespace, DATA_SECRET_NAME).catch(() => undefined);
  if (secret) Object.assign(vars, secret.data);
  for (const s of await listServices(client, namespace)) {
    const key = s.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const port = s.ports[0]?.port;
    vars[`${key}_SERVICE_HOST`] = s.clusterIP;
    if (port !== undefined) {
      vars[`${key}_SERVICE_PORT`] = String(port);
      vars[`DEVENV_URL_${key}`] = `http://${s.clusterIP}:${port}`;
    }
  }
  for (const i of await listIngressHosts(client, namespace)) {
    const key = i.name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    vars[`DEVENV_INGRESS_${key}`] ??= `${i.tls ? 'https' : 'http'}://${i.host}`;
  }
  return vars;
}

interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}

function runCommand(
  command: string,
  o: {
    cwd: string;
    env: Readonly<Record<string, string | undefined>>;
    timeoutMs: number;
    logFile: string;
    output: NodeJS.WritableStream;
  },
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(o.logFile);
    // Its own process group, so a timeout stops the command and everything it started.
    const child = spawn('sh', ['-c', command], {
      cwd: o.cwd,
      env: o.env as NodeJS.ProcessEnv,
      detached: true,
    });
    let timedOut = false;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 10_000).unref();
    }, o.timeoutMs);
    const tee = (chunk: Buffer) => {
      log.write(chunk);
      o.output.write(chunk);
    };
    child.stdout.on('data', tee);
    child.stderr.on('data', tee);
    child.on('error', (err) => {
      clearTimeout(timer);
      log.end();
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end(() => resolvePromise({ exitCode: code, signal, timedOut }));
    });
  });
}

/** Two reports in one: <testsuites> holding the suites of both. */
function mergeJunit(a: string, b: string): string {
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

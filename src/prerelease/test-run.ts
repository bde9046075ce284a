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
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { badInput } from '../errors.ts';
import { type EventSink, step } from '../events.ts';
import type { KubeClient } from '../kube/client.ts';
import { isTestJob, type SourceDoc } from '../manifests/types.ts';
import { listPods, readNamespace } from './cluster.ts';
import { parseDuration } from './expiry.ts';
import { extractJunit } from './junit.ts';
import { ANNOTATION_COMMIT, ANNOTATION_OWNER, imagesOf, isPrereleaseOf } from './metadata.ts';
import { connectSession, resolveSession } from './session.ts';
import { mergeJunit, podLog, writeArtifacts } from './test-artifacts.ts';
import { endpointEnv, runCommand } from './test-command.ts';
import { runJob } from './test-job.ts';
import type { TestStatus } from './test-status.ts';

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

export interface PrereleaseTestResult {
  status: TestStatus;
  artifacts: string;
  exitCode: number;
}

type Session = ReturnType<typeof resolveSession>;

/** Where the tests render: the prerelease namespace, with the integration-test Jobs. */
type Where = { readonly env: 'prerelease'; readonly namespace: string; readonly tests: true };

/** What a run reads and writes, handed to its steps. */
interface Run {
  opts: PrereleaseTestOptions;
  session: Session;
  client: KubeClient;
  where: Where;
  docs: Map<string, SourceDoc[]>;
  timeoutMs: number;
  artifacts: string;
  emit: EventSink;
  /** The JUnit report found so far (kept even when a later step fails). */
  junit: { xml?: string };
}

export async function prereleaseTest(opts: PrereleaseTestOptions): Promise<PrereleaseTestResult> {
  const now = opts.now ?? new Date();
  const emit = opts.onEvent;
  const session = resolveSession(opts.loaded, opts, now);
  const { config, namespace } = session;
  const timeoutMs = parseDuration(opts.timeout ?? '30m');
  const artifacts = resolve(opts.artifacts ?? join(session.root, '.devenv', 'prerelease', namespace));
  const mode: 'job' | 'command' = opts.command ? 'command' : 'job';
  if (opts.command !== undefined && opts.command.trim() === '') throw badInput('--command is empty.');

  // The manifests' test Jobs, found before anything runs (the same load and render as up).
  const where: Where = { env: 'prerelease', namespace, tests: true };
  const docs = await findTestJobs(config, session.root, where, mode, emit);
  const client = await connectSession(session, emit);
  const annotations = await prereleaseAnnotations(client, session);

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
  const run: Run = { opts, session, client, where, docs, timeoutMs, artifacts, emit, junit: {} };
  try {
    if (mode === 'job') await runTestJobs(run, status, annotations);
    else await runLocalCommand(run, status);
  } catch (err) {
    status.result = 'error';
    status.error = (err as Error).message;
  } finally {
    await step(emit, 'artifacts', `collect artifacts into ${artifacts}`, () =>
      writeArtifacts(client, status, { artifacts, junitXml: run.junit.xml, junitCopy: opts.junit, t0 }),
    );
  }
  return { status, artifacts, exitCode: status.exitCode };
}

/** Loads the services' manifests; in job mode, refuses a run without a test Job. */
async function findTestJobs(
  config: Config,
  root: string,
  where: Where,
  mode: 'job' | 'command',
  emit: EventSink,
): Promise<Map<string, SourceDoc[]>> {
  const { loadServices } = await import('../engine/pipeline.ts');
  const { renderEnvironment } = await import('../engine/render.ts');
  const docs = await loadServices(config, root, where, emit);
  const probe = (await renderEnvironment(config, where, docs, {}, { dry: true })).objects.filter((o) =>
    isTestJob(o.object),
  );
  if (mode === 'job' && probe.length === 0) {
    throw badInput(
      'no test Job in the manifests: label a Job "dev.devenv/role: test", or pass --command to run the tests locally.',
    );
  }
  return docs;
}

/** The namespace's annotations, once it is known to be this project's prerelease. */
async function prereleaseAnnotations(client: KubeClient, session: Session): Promise<Record<string, string>> {
  const { config, namespace } = session;
  const live = await readNamespace(client, namespace);
  if (!live || !isPrereleaseOf(live.metadata.labels, config.project)) {
    throw badInput(
      live
        ? `namespace ${namespace} was not created by devenv's prerelease for project ${config.project}.`
        : `no prerelease namespace ${namespace} in context ${session.context}; run "devenv prerelease up" first.`,
    );
  }
  return live.metadata.annotations ?? {};
}

/** Each test Job, rendered with the images `up` deployed; the first non-passing outcome is the result. */
async function runTestJobs(run: Run, status: TestStatus, annotations: Record<string, string>): Promise<void> {
  const { client, session, where, emit } = run;
  const { config, namespace } = session;
  const { renderEnvironment } = await import('../engine/render.ts');
  const images = imagesOf(annotations);
  const jobs = (await renderEnvironment(config, where, run.docs, images)).objects.filter((o) =>
    isTestJob(o.object),
  );
  status.jobs = [];
  for (const job of jobs) {
    const r = await runJob(client, job, {
      project: config.project,
      namespace,
      timeoutMs: run.timeoutMs,
      target: session.context,
      emit,
    });
    status.jobs.push(r);
    // The newest pod's report that has one.
    const pods = await listPods(client, namespace, `job-name=${job.id.name}`);
    for (const pod of [...pods].reverse()) {
      const xml = extractJunit(await podLog(client, namespace, pod));
      if (xml) {
        run.junit.xml = run.junit.xml ? mergeJunit(run.junit.xml, xml) : xml;
        break;
      }
    }
  }
  const worst = status.jobs.find((j) => j.outcome !== 'passed');
  status.result = worst ? worst.outcome : 'passed';
  if (worst?.message) status.error = worst.message;
}

/** --command: run locally with the namespace's endpoints; its exit status is the result. */
async function runLocalCommand(run: Run, status: TestStatus): Promise<void> {
  const { opts, artifacts } = run;
  const command = opts.command!;
  const junitFile = join(artifacts, 'junit.xml');
  rmSync(junitFile, { force: true });
  const vars = await endpointEnv(run.client, run.session.namespace);
  const env = opts.env ?? process.env;
  const r = await step(run.emit, 'test:command', `run ${command}`, () =>
    runCommand(command, {
      cwd: run.session.root,
      env: { ...env, ...vars, DEVENV_JUNIT: junitFile },
      timeoutMs: run.timeoutMs,
      logFile: join(artifacts, 'test-output.log'),
      output: opts.output ?? process.stdout,
    }),
  );
  status.command = { command, exitCode: r.exitCode, signal: r.signal };
  status.result = r.timedOut ? 'timeout' : r.exitCode === 0 ? 'passed' : 'failed';
  if (r.timedOut) status.error = `the command did not finish within ${opts.timeout ?? '30m'}`;
  run.junit.xml = existsSync(junitFile)
    ? readFileSync(junitFile, 'utf8')
    : extractJunit(readFileSync(join(artifacts, 'test-output.log'), 'utf8'));
}

/**
 * Why a rollout cannot succeed, from the pods of the NEW revision:
 *   - ImagePullBackOff / ErrImagePull / InvalidImageName: the image, and the kubelet's message;
 *   - CrashLoopBackOff: the exit code and the last log lines of the crashing container
 *     (its previous instance, read through the API);
 *   - CreateContainerConfigError: the missing Secret / ConfigMap key, as the kubelet says;
 *   - at the timeout: a failing readiness probe (from the pod's events), Unschedulable
 *     (the scheduler's message), or what the pods are still waiting for.
 * `podProblems` is pure; `failureReport` reads the logs and events it quotes.
 */
import type { KubeClient } from './client.ts';
import { readLogs } from './logs.ts';
import { listEvents } from './reads.ts';
import type { WorkloadStatus } from './rollout-status.ts';
import type { PodJson } from './types.ts';

export interface PodProblem {
  pod: string;
  container?: string;
  reason: string;
  /** One line, for the error message. */
  summary: string;
  /** The kubelet's or scheduler's words. */
  message?: string;
  image?: string;
  restarts?: number;
  exitCode?: number;
  /** Certain failure: report now rather than at the timeout. */
  fatal: boolean;
  /** Read the log of the crashed instance. */
  logs?: { container: string; previous: boolean };
}

const PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** What is wrong with a pod, container by container (init containers first). */
export function podProblems(pod: PodJson): PodProblem[] {
  const out: PodProblem[] = [];
  const name = pod.metadata.name;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const w = c.state?.waiting;
    const reason = w?.reason ?? '';
    if (PULL.has(reason)) {
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" cannot pull image "${c.image ?? ''}" (${reason})`,
        ...(w?.message ? { message: w.message } : {}),
        ...(c.image !== undefined ? { image: c.image } : {}),
        fatal: reason !== 'ErrImagePull',
      });
    } else if (reason === 'CrashLoopBackOff') {
      // Crashed at least twice, kubelet backing off: the previous instance has the story.
      const last = c.lastState?.terminated;
      const restarts = c.restartCount ?? 0;
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" keeps crashing (CrashLoopBackOff${last?.exitCode !== undefined ? `, exit code ${last.exitCode}` : ''}, ${restarts} restart${restarts === 1 ? '' : 's'})`,
        ...(last?.message ? { message: last.message.trim() } : {}),
        restarts,
        ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
        fatal: true,
        logs: { container: c.name, previous: restarts > 0 },
      });
    } else if (CONFIG.has(reason)) {
      out.push({
        pod: name,
        container: c.name,
        reason,
        summary: `container "${c.name}" cannot start (${reason})`,
        ...(w?.message ? { message: w.message } : {}),
        fatal: false,
      });
    } else if (c.state?.terminated && c.state.terminated.exitCode !== 0 && pod.status?.phase === 'Failed') {
      out.push({
        pod: name,
        container: c.name,
        reason: c.state.terminated.reason ?? 'Error',
        summary: `container "${c.name}" failed (exit code ${c.state.terminated.exitCode})`,
        ...(c.state.terminated.message ? { message: c.state.terminated.message.trim() } : {}),
        exitCode: c.state.terminated.exitCode ?? 1,
        fatal: false,
        logs: { container: c.name, previous: false },
      });
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    out.push({
      pod: name,
      reason: 'Unschedulable',
      summary: 'pod cannot be scheduled (Unschedulable)',
      ...(scheduled.message ? { message: scheduled.message } : {}),
      fatal: false,
    });
  }
  return out;
}

/** The same problem of several pods is told once (the first pod's). */
function dedupe(problems: PodProblem[]): PodProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.container}/${p.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** What the wait says when it gives up on a workload. */
export interface FailureFacts {
  /** describeObject() of the workload. */
  what: string;
  namespace: string;
  status: WorkloadStatus;
  problems: readonly PodProblem[];
  /** The pods of the new revision. */
  pods: readonly PodJson[];
  timeoutMs: number;
  /** Log lines quoted of a crashed container. */
  logLines: number;
}

/**
 * The error and the lines that explain it: the first certain problem (else the workload's
 * own failure, else the timeout), up to three problems with the kubelet's words and the
 * crashed containers' last log lines; at a timeout without a problem, the pods' events.
 */
export async function failureReport(
  client: KubeClient,
  f: FailureFacts,
): Promise<{ error: string; lines: string[] }> {
  const fatal = f.problems.filter((p) => p.fatal);
  let error: string;
  if (fatal.length > 0) error = `${f.what}: ${fatal[0]!.summary}`;
  else if (f.status.failed) error = `${f.what}: ${f.status.failed}`;
  else error = `${f.what} not ready after ${Math.round(f.timeoutMs / 1000)} s: ${f.status.message}`;
  const lines: string[] = [];
  const shown = fatal.length > 0 ? fatal : [...f.problems];
  for (const p of dedupe(shown).slice(0, 3)) {
    if (!(fatal.length > 0 && p === fatal[0])) lines.push(`${p.pod}: ${p.summary}`);
    if (p.message) lines.push(`${p.pod}: ${p.message}`);
    if (p.logs) lines.push(...(await crashLog(client, f.namespace, p.pod, p.logs, f.logLines)));
  }
  if (fatal.length === 0 && !f.status.failed) {
    // Timeout: what the pods' events say (failing probes, scheduling, pulls in progress).
    for (const pod of f.pods.slice(0, 3))
      lines.push(...(await podEventLines(client, f.namespace, pod.metadata.name)));
    if (f.problems.length === 0 && f.pods.length === 0) lines.push('no pods of the new revision exist yet');
  }
  return { error, lines };
}

/** The last log lines of a container (of its previous run when it restarted), quoted. */
async function crashLog(
  client: KubeClient,
  namespace: string,
  pod: string,
  logs: { container: string; previous: boolean },
  tailLines: number,
): Promise<string[]> {
  const text = await readLogs(client, namespace, pod, logs.container, {
    tailLines,
    previous: logs.previous,
  }).catch((err: Error) => `(log unavailable: ${err.message})`);
  const logLines = text.replace(/\n$/, '').split('\n');
  return [
    `last ${logLines.length} log line${logLines.length === 1 ? '' : 's'} of ${pod}/${logs.container}${logs.previous ? ' (previous run)' : ''}:`,
    ...logLines.map((l) => `  | ${l}`),
  ];
}

/** Warning events of a pod, newest last, deduplicated: "Unhealthy: Readiness probe failed: ...". */
async function podEventLines(client: KubeClient, namespace: string, pod: string): Promise<string[]> {
  try {
    const events = await listEvents(client, namespace, `involvedObject.kind=Pod,involvedObject.name=${pod}`);
    const seen = new Set<string>();
    const out: string[] = [];
    for (const e of events) {
      if (e.type !== 'Warning') continue;
      const line = `${pod}: ${e.reason ?? 'Warning'}: ${(e.message ?? '').trim()}`;
      if (seen.has(line)) continue;
      seen.add(line);
      out.push(`${line}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`);
    }
    return out.slice(-5);
  } catch {
    return [];
  }
}

/**
 * What `devenv prerelease test` found, as written to the artifacts folder's status.json.
 */
import type { PodSummary } from './cluster.ts';
import type { JunitSummary } from './junit.ts';

export type TestOutcome = 'passed' | 'failed' | 'timeout' | 'error';

/** One test Job's run. */
export interface JobResult {
  name: string;
  outcome: TestOutcome;
  message?: string;
  succeeded: number;
  failed: number;
}

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
  jobs?: JobResult[];
  command?: { command: string; exitCode: number | null; signal: string | null };
  junit: (JunitSummary & { file: string }) | null;
  pods: PodSummary[];
  /** Files in the artifacts folder, relative to it. */
  files: string[];
  error?: string;
}

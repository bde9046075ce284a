/**
 * Prints one closing line "N passed, N failed, N skipped" after the run, the plain form
 * CI reads in any language, next to vitest's own summary.
 *
 * Before it, every test that passed only on a retry (the kube tier allows one) is named
 * with the error of its failed attempt: a retry keeps a noisy machine from failing the
 * run, but the flake is still a finding, and its message is what finds the cause.
 */
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const flaky: TestCase[] = [];
    /** Wall time of each tier's files (they run one at a time, so the sum is the tier's time). */
    const tierMs = new Map<string, number>();
    for (const m of testModules) {
      const tier = m.project.name;
      tierMs.set(tier, (tierMs.get(tier) ?? 0) + (m.diagnostic().duration ?? 0));
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
        if (state === 'passed' && t.diagnostic()?.flaky) flaky.push(t);
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    for (const t of flaky) {
      const first = t.result().errors?.[0];
      const why = first
        ? (first.message ?? String(first)).split('\n').slice(0, 6).join('\n    ')
        : 'no error kept';
      process.stdout.write(
        `\npassed on retry: ${relative(process.cwd(), t.module.moduleId)}: ${t.fullName}\n    ${why}\n`,
      );
    }
    const times = [...tierMs].map(([t, ms]) => `${t} ${(ms / 1000).toFixed(0)} s`).join(', ');
    if (times) process.stdout.write(`\ntime per tier: ${times}\n`);
    // The e2e tier's global setup names the cluster it ran on (real k3s or the stand-in).
    if (process.env.DEVENV_E2E_SUMMARY) process.stdout.write(`\n${process.env.DEVENV_E2E_SUMMARY}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

/**
 * Test tiers (see test/README.md):
 *   unit    pure logic, no engine
 *   docker  a real Docker engine (databases, MinIO, image builds)
 *   kube    a real Kubernetes API server + kubelet (test/cluster)
 *   e2e     real k3d with the real k3s image (needs internet for images)
 * Each engine tier has a global setup that finds its engine. Under CI=true a missing
 * engine FAILS the run with the reason; elsewhere the tier is skipped with the reason
 * printed, never silently passed. The e2e tier is skipped (loudly) where k3s images cannot
 * be pulled, per TESTING.md.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // One file at a time across all tiers: engine tests share one Docker engine and one
    // cluster (and the docker tier may restart dockerd under CI); 2-core machines gain
    // little from parallel files anyway.
    maxWorkers: 1,
    fileParallelism: false,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          globalSetup: ['test/setup/docker.global.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kube',
          include: ['test/kube/**/*.test.ts'],
          globalSetup: ['test/setup/kube.global.ts'],
          // A real kubelet on a 2-core machine has timing noise (probe phases, pulls); one
          // retry absorbs that, and a broken behaviour still fails both attempts.
          retry: 1,
          testTimeout: 240_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/e2e.global.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

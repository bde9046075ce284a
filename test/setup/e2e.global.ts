import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eReason: string | null;
  }
}

/**
 * The k3d end-to-end tier needs the real k3s image (rancher/k3s), which only a machine
 * with internet can pull. Where it is absent the tier is SKIPPED with that reason, even
 * under CI (TESTING.md: build machines report it as skipped, never as passed).
 */
export default async function setup(project: TestProject): Promise<void> {
  let reason: string | null = null;
  try {
    const { docker } = await import('../../src/docker/engine.ts');
    const d = await docker();
    const images = await d.listImages({ filters: JSON.stringify({ reference: ['rancher/k3s'] }) });
    if (images.length === 0)
      reason = 'no rancher/k3s image in the Docker engine and no registry to pull it from';
  } catch (err) {
    reason = `no Docker engine: ${(err as Error).message}`;
  }
  if (reason)
    process.stderr.write(
      `\n[e2e tier] SKIPPED: ${reason}. Run "npm run test:e2e" on a laptop with internet.\n\n`,
    );
  project.provide('e2eReason', reason);
}

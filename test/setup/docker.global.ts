import type { TestProject } from 'vitest/node';
import { engineMissing } from './tier.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dockerAvailable: boolean;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const { engineInfo } = await import('../../src/docker/engine.ts');
  try {
    const info = await engineInfo(5000);
    process.stderr.write(`[docker tier] Docker ${info.serverVersion} (API ${info.apiVersion})\n`);
    project.provide('dockerAvailable', true);
  } catch (err) {
    project.provide(
      'dockerAvailable',
      engineMissing('docker', (err as Error).message, 'Start dockerd (".ci/run" does it on build machines).'),
    );
  }
}

/**
 * kube/rollout.ts workloadStatus, the pure half of the rollout wait (kubectl's rules), on
 * live-object fixtures. The case that matters most: a Deployment whose new spec the
 * controller has not seen yet is `stale`, so the wait does not judge the previous
 * revision's pods (a crash of the revision just replaced is not a failure of the fix).
 */
import { describe, expect, it } from 'vitest';
import { workloadStatus } from '../../src/kube/rollout-status.ts';

function deployment(over: {
  generation: number;
  observedGeneration: number;
  replicas?: number;
  updated?: number;
  available?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      generation: over.generation,
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
    status: {
      observedGeneration: over.observedGeneration,
      replicas: over.replicas ?? 1,
      updatedReplicas: over.updated ?? 1,
      availableReplicas: over.available ?? 1,
      conditions: over.conditions ?? [],
    },
  };
}

describe('workloadStatus', () => {
  it('a spec the controller has not seen is stale, whatever the counters of the previous one say', () => {
    // Right after the fix is applied: the counters still describe revision 2 (crashing).
    const st = workloadStatus(deployment({ generation: 3, observedGeneration: 2, available: 0 }), {
      newPodsReady: true,
    });
    expect(st).toEqual({
      done: false,
      stale: true,
      message: 'waiting for the controller to see the new spec',
    });
  });

  it('once seen, it is judged (not stale), done when every replica is updated and available', () => {
    const seen = workloadStatus(deployment({ generation: 3, observedGeneration: 3 }));
    expect(seen).toEqual({ done: true, message: '1 of 1 replicas ready' });
    const pending = workloadStatus(deployment({ generation: 3, observedGeneration: 3, updated: 0 }));
    expect(pending.stale).toBeUndefined();
    expect(pending).toMatchObject({ done: false, message: '0 of 1 replicas updated' });
  });

  it('newPodsReady leaves old replicas to terminate', () => {
    const st = workloadStatus(
      deployment({ generation: 3, observedGeneration: 3, replicas: 2, available: 1 }),
      {
        newPodsReady: true,
      },
    );
    expect(st.done).toBe(true);
    const strict = workloadStatus(deployment({ generation: 3, observedGeneration: 3, replicas: 2 }));
    expect(strict).toMatchObject({ done: false, message: '1 old replicas pending termination' });
  });

  it('a progress deadline exceeded is a failure of the workload itself', () => {
    const st = workloadStatus(
      deployment({
        generation: 3,
        observedGeneration: 3,
        updated: 0,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
        ],
      }),
    );
    expect(st).toMatchObject({ done: false, failed: 'progress deadline exceeded: too slow' });
  });
});

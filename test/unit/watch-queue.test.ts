// The per-service reload queue: one run at a time, at most ONE follow-up, with a slow
// injected action (a plain function that takes time; nothing is mocked).
import { describe, expect, it } from 'vitest';
import { ReloadQueue } from '../../src/watch/queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function slowRecorder(ms: number) {
  const runs: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const run = async (item: number[]) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    runs.push(item);
    await sleep(ms);
    inFlight--;
  };
  return { runs, run, maxInFlight: () => maxInFlight };
}

describe('ReloadQueue', () => {
  it('runs at once when idle', async () => {
    const r = slowRecorder(5);
    const q = new ReloadQueue<number[]>(r.run, (a, b) => [...a, ...b]);
    q.push([1]);
    expect(q.busy).toBe(true);
    await q.idle();
    expect(r.runs).toEqual([[1]]);
  });

  it('queues ONE merged follow-up for any number of pushes during a run', async () => {
    const r = slowRecorder(60);
    const q = new ReloadQueue<number[]>(r.run, (a, b) => [...a, ...b]);
    q.push([0]);
    for (let i = 1; i <= 20; i++) {
      q.push([i]);
      await sleep(1);
    }
    expect(q.hasPending).toBe(true);
    await q.idle();
    expect(r.runs).toHaveLength(2);
    expect(r.runs[1]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(r.maxInFlight()).toBe(1);
  });

  it('keeps going after a failing run', async () => {
    const seen: string[] = [];
    const q = new ReloadQueue<string>(
      async (s) => {
        seen.push(s);
        await sleep(5);
        if (s === 'bad') throw new Error('boom');
      },
      (_a, b) => b,
    );
    q.push('bad');
    q.push('good');
    await q.idle();
    expect(seen).toEqual(['bad', 'good']);
  });

  it('close drops the queued follow-up and waits for the run in flight', async () => {
    const r = slowRecorder(30);
    const q = new ReloadQueue<number[]>(r.run, (a, b) => [...a, ...b]);
    q.push([1]);
    q.push([2]);
    await q.close();
    q.push([3]);
    await q.idle();
    expect(r.runs).toEqual([[1]]);
  });
});

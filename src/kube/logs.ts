/**
 * Pod logs through the API server (the kubelet serves them; no `kubectl logs`).
 */
import type { KubeClient } from './client.ts';

export interface ReadLogsOptions {
  /** Last N lines only. */
  tailLines?: number;
  /** The previous (crashed) instance of the container. */
  previous?: boolean;
  sinceSeconds?: number;
  timestamps?: boolean;
  /** Cap on the bytes returned (default 1 MiB). */
  limitBytes?: number;
}

export async function readLogs(
  client: KubeClient,
  namespace: string,
  pod: string,
  container: string,
  opts: ReadLogsOptions = {},
): Promise<string> {
  return client.requestText(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
    {
      query: {
        container,
        tailLines: opts.tailLines,
        previous: opts.previous || undefined,
        sinceSeconds: opts.sinceSeconds,
        timestamps: opts.timestamps || undefined,
        limitBytes: opts.limitBytes ?? 1024 * 1024,
      },
    },
  );
}

export interface FollowHandle {
  /** Stops following. */
  stop(): void;
  /** Settles when the stream ends (pod gone, container exited, or stop()). */
  done: Promise<void>;
}

/**
 * Streams one container's log, line by line, until stopped or the container ends.
 * (Following every pod of a label selector, as the dashboard does, builds on this.)
 */
export async function followLogs(
  client: KubeClient,
  namespace: string,
  pod: string,
  container: string,
  onLine: (line: string) => void,
  opts: { tailLines?: number; sinceSeconds?: number } = {},
): Promise<FollowHandle> {
  const decoder = new TextDecoder();
  let partial = '';
  const handle = await client.stream(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
    { query: { container, follow: true, tailLines: opts.tailLines, sinceSeconds: opts.sinceSeconds } },
    (chunk) => {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l.replace(/\r$/, ''));
    },
  );
  return {
    stop: () => handle.stop(),
    done: handle.done.then(() => {
      if (partial) onLine(partial);
      partial = '';
    }),
  };
}

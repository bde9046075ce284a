/**
 * One collection watched for good: a list+watch (client-node's informer) that reports
 * every object of the first list, then every change, and never gives up.
 *
 * Contract of `watchCollection`:
 * - Data comes from a WATCH, never polling. The informer resumes from its resourceVersion
 *   after a server-side close or its own 30 s inactivity timeout, and relists on 410 Gone
 *   (objects gone meanwhile are reported as DELETED).
 * - After any other failure it is restarted with exponential backoff (500 ms doubling to
 *   30 s, with jitter; reset after a watch that ran for 30 s) from the same resourceVersion.
 * - `stop()` closes the watch; nothing is left open.
 *
 * Only src/kube imports @kubernetes/client-node.
 */
import * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import type { ObjectEventType, ObjectMeta } from './types.ts';

export interface CollectionStats {
  /** Successful lists (the first one, and relists after 410 Gone). */
  lists: number;
  /** Watch connections opened (the first, and every reconnect). */
  connects: number;
  /** Watches that failed (dropped connection, error answer) and were restarted. */
  errors: number;
  lastError?: string;
}

export interface CollectionWatch {
  /** Settles after the first list was delivered (every object reported once). */
  readonly synced: Promise<void>;
  readonly stats: CollectionStats;
  stop(): Promise<void>;
}

export interface WatchCollectionOptions<T> {
  client: KubeClient;
  /** Collection path, e.g. "/api/v1/pods" or "/api/v1/namespaces/b2b/events". */
  path: string;
  labelSelector?: string;
  /** Each object of the first list (ADDED), then each change. */
  onObject(type: ObjectEventType, obj: T): void;
  /** A failure; the watch is retried after `retryMs`. */
  onError?(err: unknown, retryMs: number): void;
  backoff?: { initialMs?: number; maxMs?: number };
}

/**
 * A list+watch of one collection (client-node `makeInformer`) that never gives up: the
 * informer resumes from its resourceVersion after a server-side close or a client timeout
 * and relists on 410 Gone by itself; after any other failure it stops, and is restarted
 * here with exponential backoff (plus jitter) from the same resourceVersion.
 */
export function watchCollection<T extends { metadata: ObjectMeta }>(
  opts: WatchCollectionOptions<T>,
): CollectionWatch {
  const initialMs = opts.backoff?.initialMs ?? 500;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const stats: CollectionStats = { lists: 0, connects: 0, errors: 0 };
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const list = async (): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> => {
    const r = await opts.client.request<k8s.KubernetesListObject<k8s.KubernetesObject>>('GET', opts.path, {
      query: { labelSelector: opts.labelSelector },
    });
    stats.lists++;
    // The informer reports the items right after this promise settles; synced follows.
    setImmediate(markSynced);
    return r;
  };
  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    opts.client.kubeConfig,
    opts.path,
    list,
    opts.labelSelector,
  );
  let stopped = false;
  let delay = initialMs;
  let startedAt = 0;
  let timer: NodeJS.Timeout | undefined;

  informer.on('add', (o) => opts.onObject('ADDED', o as unknown as T));
  informer.on('update', (o) => opts.onObject('MODIFIED', o as unknown as T));
  informer.on('delete', (o) => opts.onObject('DELETED', o as unknown as T));
  informer.on('connect', () => {
    stats.connects++;
  });
  const failed = (err: unknown) => {
    if (stopped || timer) return;
    stats.errors++;
    stats.lastError = errorText(err);
    if (Date.now() - startedAt > 30_000) delay = initialMs; // it ran fine for a while
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    delay = Math.min(delay * 2, maxMs);
    opts.onError?.(err, wait);
    timer = setTimeout(() => {
      timer = undefined;
      void start();
    }, wait);
  };
  informer.on('error', failed);
  const start = async () => {
    if (stopped) return;
    startedAt = Date.now();
    try {
      await informer.start();
    } catch (err) {
      failed(err);
    }
  };
  void start();
  return {
    synced,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await informer.stop();
    },
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = (err as { statusCode?: number }).statusCode;
    return `${err.message}${code ? ` (HTTP ${code})` : ''}${cause instanceof Error ? `: ${cause.message}` : ''}`;
  }
  return String(err);
}

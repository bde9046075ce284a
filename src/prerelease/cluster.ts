/**
 * The reads prerelease needs from the shared cluster (namespaces by label, pods, events,
 * services, a Secret), through src/kube's client: src/kube remains the only importer of
 * @kubernetes/client-node, and every write goes through src/kube's verbs (server-side
 * apply, reconcile, delete with label checks).
 */
import type { KubeClient } from '../kube/client.ts';
import { readObject } from '../kube/objects.ts';
import * as kube from '../kube/reads.ts';
import type { ContainerStatusJson, NamespaceJson } from '../kube/types.ts';
import type { NamespaceInfo } from './gc.ts';
import { PRERELEASE_SELECTOR } from './metadata.ts';

export async function readNamespace(client: KubeClient, name: string): Promise<NamespaceJson | undefined> {
  return readObject(client, { apiVersion: 'v1', kind: 'Namespace', name });
}

export function namespaceInfo(o: NamespaceJson): NamespaceInfo {
  return {
    name: o.metadata.name,
    ...(o.metadata.labels ? { labels: o.metadata.labels } : {}),
    ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
    ...(o.metadata.deletionTimestamp ? { deletionTimestamp: o.metadata.deletionTimestamp } : {}),
  };
}

/** Namespaces labelled managed-by=devenv and dev.devenv/prerelease=true (any project). */
export async function listPrereleaseNamespaces(client: KubeClient): Promise<NamespaceInfo[]> {
  return (await kube.listNamespaces(client, PRERELEASE_SELECTOR)).map(namespaceInfo);
}

export interface PodSummary {
  name: string;
  phase: string;
  ready: boolean;
  labels: Record<string, string>;
  nodeName?: string;
  startTime?: string;
  containers: Array<{
    name: string;
    image: string;
    ready: boolean;
    restarts: number;
    state: string;
    exitCode?: number;
    init: boolean;
  }>;
}

function containerState(s: ContainerStatusJson): { state: string; exitCode?: number } {
  if (s.state?.running) return { state: 'running' };
  if (s.state?.terminated)
    return {
      state: `terminated (${s.state.terminated.reason ?? 'exit'})`,
      ...(s.state.terminated.exitCode !== undefined ? { exitCode: s.state.terminated.exitCode } : {}),
    };
  if (s.state?.waiting) return { state: `waiting (${s.state.waiting.reason ?? '?'})` };
  return { state: 'unknown' };
}

/** Pods of the namespace (optionally by label selector), oldest first. */
export async function listPods(
  client: KubeClient,
  namespace: string,
  labelSelector?: string,
): Promise<PodSummary[]> {
  const items = [...(await kube.listPods(client, namespace, labelSelector))].sort((a, b) =>
    (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? -1 : 1,
  );
  return items.map((p) => {
    const statuses = new Map<string, { s: ContainerStatusJson; init: boolean }>();
    for (const s of p.status?.initContainerStatuses ?? []) statuses.set(s.name, { s, init: true });
    for (const s of p.status?.containerStatuses ?? []) statuses.set(s.name, { s, init: false });
    const names = [
      ...(p.spec?.initContainers ?? []).map((c) => ({ name: c.name, init: true })),
      ...(p.spec?.containers ?? []).map((c) => ({ name: c.name, init: false })),
    ];
    return {
      name: p.metadata.name,
      phase: p.status?.phase ?? 'Unknown',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      labels: p.metadata.labels ?? {},
      ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
      ...(p.status?.startTime ? { startTime: p.status.startTime } : {}),
      containers: names.map(({ name, init }) => {
        const st = statuses.get(name)?.s;
        return {
          name,
          init,
          image: st?.image ?? '',
          ready: st?.ready ?? false,
          restarts: st?.restartCount ?? 0,
          ...(st ? containerState(st) : { state: 'not started' }),
        };
      }),
    };
  });
}

export interface EventSummary {
  time: string;
  type: string;
  reason: string;
  object: string;
  message: string;
  count: number;
}

/** The namespace's events, oldest first. */
export async function listEvents(client: KubeClient, namespace: string): Promise<EventSummary[]> {
  return (await kube.listEvents(client, namespace))
    .map((e) => ({
      time: e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '',
      type: e.type ?? '',
      reason: e.reason ?? '',
      object: `${e.involvedObject?.kind ?? '?'}/${e.involvedObject?.name ?? '?'}`,
      message: (e.message ?? '').trim(),
      count: e.count ?? 1,
    }))
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

export interface ServiceEndpoint {
  name: string;
  clusterIP: string;
  ports: Array<{ name?: string; port: number }>;
}

export async function listServices(client: KubeClient, namespace: string): Promise<ServiceEndpoint[]> {
  return (await kube.listServices(client, namespace))
    .filter((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None')
    .map((s) => ({
      name: s.metadata.name,
      clusterIP: s.spec!.clusterIP!,
      ports: (s.spec?.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port })),
    }));
}

export async function listIngressHosts(
  client: KubeClient,
  namespace: string,
): Promise<Array<{ name: string; host: string; tls: boolean }>> {
  try {
    return (await kube.listIngresses(client, namespace)).flatMap((i) =>
      (i.spec?.rules ?? [])
        .filter((rule) => rule.host)
        .map((rule) => ({
          name: i.metadata.name,
          host: rule.host!,
          tls: (i.spec?.tls ?? []).some((t) => t.hosts?.includes(rule.host!)),
        })),
    );
  } catch {
    return [];
  }
}

/** A Secret's values, decoded; undefined when absent. */
export async function readSecretData(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ labels: Record<string, string>; data: Record<string, string> } | undefined> {
  const s = await readObject(client, { apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!s) return undefined;
  const data = Object.fromEntries(
    Object.entries((s.data as Record<string, string> | undefined) ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString('utf8'),
    ]),
  );
  return { labels: s.metadata.labels ?? {}, data };
}

/**
 * Typed reads of the cluster for the parts above kube/ (engine, prerelease, status): the
 * API paths live here, callers name what they want (`listPods(client, ns, selector)`) and
 * get the shapes of types.ts. Lists are read in one request (no paging: the collections
 * devenv reads are one project's or one namespace's). Names are URL-encoded.
 */
import type { KubeClient } from './client.ts';
import type {
  EndpointSliceJson,
  EventJson,
  IngressJson,
  ListJson,
  NamespaceJson,
  PodJson,
  ReplicaSetJson,
  ResourceAttributes,
  ServiceJson,
  WorkloadJson,
} from './types.ts';

const enc = encodeURIComponent;

/** The items of one list request (GET `path`, with its selectors when given). */
async function listItems<T>(
  client: KubeClient,
  path: string,
  query: { labelSelector?: string | undefined; fieldSelector?: string | undefined } = {},
): Promise<T[]> {
  return (await client.request<ListJson<T>>('GET', path, { query })).items;
}

/** What `/version` answers. */
export interface ServerVersion {
  major?: string;
  minor?: string;
  gitVersion?: string;
}

/** The API server's version; throws when the server does not answer (a reachability check). */
export function serverVersion(client: KubeClient): Promise<ServerVersion> {
  return client.request<ServerVersion>('GET', '/version');
}

/** Namespaces matching a label selector. */
export async function listNamespaces(client: KubeClient, labelSelector?: string): Promise<NamespaceJson[]> {
  return listItems<NamespaceJson>(client, '/api/v1/namespaces', { labelSelector });
}

/** Pods of a namespace, optionally by label selector, in the API server's order. */
export async function listPods(
  client: KubeClient,
  namespace: string,
  labelSelector?: string,
): Promise<PodJson[]> {
  return listItems<PodJson>(client, `/api/v1/namespaces/${enc(namespace)}/pods`, { labelSelector });
}

/** ReplicaSets of a namespace by label selector (a Deployment's revisions). */
export async function listReplicaSets(
  client: KubeClient,
  namespace: string,
  labelSelector: string,
): Promise<ReplicaSetJson[]> {
  return listItems<ReplicaSetJson>(client, `/apis/apps/v1/namespaces/${enc(namespace)}/replicasets`, {
    labelSelector,
  });
}

/** core/v1 Events of a namespace, optionally by field selector (e.g. `involvedObject.name=web-1`). */
export async function listEvents(
  client: KubeClient,
  namespace: string,
  fieldSelector?: string,
): Promise<EventJson[]> {
  return listItems<EventJson>(client, `/api/v1/namespaces/${enc(namespace)}/events`, { fieldSelector });
}

export async function listServices(client: KubeClient, namespace: string): Promise<ServiceJson[]> {
  return listItems<ServiceJson>(client, `/api/v1/namespaces/${enc(namespace)}/services`);
}

export async function listIngresses(client: KubeClient, namespace: string): Promise<IngressJson[]> {
  return listItems<IngressJson>(client, `/apis/networking.k8s.io/v1/namespaces/${enc(namespace)}/ingresses`);
}

/** The EndpointSlices of a Service (discovery.k8s.io/v1). */
export async function listEndpointSlices(
  client: KubeClient,
  namespace: string,
  service: string,
): Promise<EndpointSliceJson[]> {
  return listItems<EndpointSliceJson>(
    client,
    `/apis/discovery.k8s.io/v1/namespaces/${enc(namespace)}/endpointslices`,
    {
      labelSelector: `kubernetes.io/service-name=${service}`,
    },
  );
}

export type AppsWorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

const APPS_PLURAL: Record<AppsWorkloadKind, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

/**
 * Workloads of one apps/v1 kind in every namespace, by label selector. The items carry
 * apiVersion and kind (a list answer's items do not).
 */
export async function listWorkloads(
  client: KubeClient,
  kind: AppsWorkloadKind,
  labelSelector: string,
): Promise<WorkloadJson[]> {
  const items = await listItems<WorkloadJson>(client, `/apis/apps/v1/${APPS_PLURAL[kind]}`, {
    labelSelector,
  });
  return items.map((w) => ({ ...w, apiVersion: w.apiVersion ?? 'apps/v1', kind: w.kind ?? kind }));
}

/** SelfSubjectAccessReview: may this client's identity do that? */
export async function canI(client: KubeClient, resourceAttributes: ResourceAttributes): Promise<boolean> {
  const r = await client.request<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes },
      },
    },
  );
  return r.status?.allowed === true;
}

/** SelfSubjectReview: the user name the API server knows this client's identity by, if it says. */
export async function selfUsername(client: KubeClient): Promise<string | undefined> {
  const review = await client.request<{ status?: { userInfo?: { username?: string } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
  );
  return review.status?.userInfo?.username;
}

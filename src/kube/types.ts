/**
 * The ONE set of shapes of live Kubernetes objects as the API server returns them (a get, a
 * list, a watch event): the parts devenv reads. Every part that reads objects from the
 * cluster (kube/'s verbs, the rollout wait, the watches, the store's pod rows, status,
 * prerelease) uses these types.
 *
 * Why here and not in manifests/types.ts: KubeObject there is what devenv SENDS (a rendered
 * manifest, any kind, fields as written); these are what the API server ANSWERS, owned by
 * the adapter that reads them. Layers above kube/ import them with `import type`.
 *
 * Types only: no code.
 */
import type { KubeObject } from '../manifests/types.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generation?: number;
  ownerReferences?: Array<{ kind: string; name: string; uid?: string; controller?: boolean }>;
}

/**
 * Any object as the API server returns it (a get, an apply's answer, a list item of a kind
 * known only by discovery): what devenv sends (KubeObject) with the server's metadata.
 */
export interface LiveObject extends KubeObject {
  metadata: KubeObject['metadata'] & ObjectMeta;
}

export interface ContainerStateJson {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    reason?: string;
    message?: string;
    exitCode?: number;
    signal?: number;
    containerID?: string;
    startedAt?: string;
    finishedAt?: string;
  };
}

export interface ContainerStatusJson {
  name: string;
  image?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  containerID?: string;
  state?: ContainerStateJson;
  lastState?: ContainerStateJson;
}

export interface ContainerPortJson {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** A container of a pod's spec (or a pod template's). */
export interface ContainerJson {
  name: string;
  image?: string;
  /** An init container with `Always` is a native sidecar. */
  restartPolicy?: string;
  readinessProbe?: unknown;
  ports?: ContainerPortJson[];
}

export interface PodStatusJson {
  phase?: string;
  reason?: string;
  message?: string;
  startTime?: string;
  conditions?: ConditionJson[];
  containerStatuses?: ContainerStatusJson[];
  initContainerStatuses?: ContainerStatusJson[];
}

export interface PodJson {
  metadata: ObjectMeta;
  spec?: {
    nodeName?: string;
    containers?: ContainerJson[];
    initContainers?: ContainerJson[];
  };
  status?: PodStatusJson;
}

export interface EventJson {
  metadata: ObjectMeta;
  type?: string;
  reason?: string;
  message?: string;
  /** core/v1 */
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  /** events.k8s.io/v1 spellings */
  regarding?: { kind?: string; name?: string; namespace?: string };
  note?: string;
  deprecatedCount?: number;
  deprecatedLastTimestamp?: string | null;
}

export interface NodeJson {
  metadata: ObjectMeta;
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A condition of an object's status (Ready, Progressing, Complete, Failed, …). */
export interface ConditionJson {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/**
 * A Deployment / StatefulSet / DaemonSet / Job / CronJob as read, listed or watched. A list
 * answer's items carry no apiVersion and kind: `listWorkloads` sets them.
 */
export interface WorkloadJson {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    /** Job */
    completions?: number;
    selector?: LabelSelector;
    /** StatefulSet */
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: PodTemplateSpec };
    jobTemplate?: {
      spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: PodTemplateSpec } };
    };
    suspend?: boolean;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    active?: number;
    succeeded?: number;
    failed?: number;
    /** StatefulSet */
    updateRevision?: string;
    currentRevision?: string;
    conditions?: ConditionJson[];
  };
}

export interface PodTemplateSpec {
  containers?: ContainerJson[];
}

/** A list answer (`GET .../pods`): its items and the resourceVersion a watch starts from. */
export interface ListJson<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

export interface ServicePortJson {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export interface ServiceJson {
  metadata: ObjectMeta;
  spec?: { clusterIP?: string; selector?: Record<string, string>; ports?: ServicePortJson[] };
}

export interface IngressJson {
  metadata: ObjectMeta;
  spec?: { rules?: Array<{ host?: string }>; tls?: Array<{ hosts?: string[] }> };
}

/** A ReplicaSet: which Deployment revision it holds (annotations, owner) is what is read. */
export interface ReplicaSetJson {
  metadata: ObjectMeta;
  spec?: { replicas?: number; selector?: LabelSelector };
}

/** A discovery.k8s.io/v1 EndpointSlice: which pods back a Service port, and whether they are ready. */
export interface EndpointSliceJson {
  metadata?: { name?: string };
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null;
  endpoints?: Array<{
    conditions?: { ready?: boolean | null; terminating?: boolean | null };
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }> | null;
}

export interface NamespaceJson {
  metadata: ObjectMeta;
  status?: { phase?: string };
}

/** Discovery's list of API groups (`GET /apis`). */
export interface ApiGroupListJson {
  groups: Array<{ name: string; preferredVersion: { groupVersion: string } }>;
}

/** What a SelfSubjectAccessReview asks: may I do `verb` on `resource` (in `namespace`)? */
export interface ResourceAttributes {
  namespace?: string;
  verb: string;
  group?: string;
  resource: string;
  name?: string;
}

/** How a watched object changed. */
export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * What the project watches report (kube/watch.ts watchProject), one typed event per change:
 * - `Pod`: a pod of the project, with the project service it belongs to
 *   (kube/attribution.ts). A pod whose service changed (its workload arrived after it) is
 *   reported again as MODIFIED.
 * - `Services`: the project's workloads grouped by service, every configured service
 *   present (with no workloads when none is deployed); first once every workload kind
 *   was listed, then after each workload change.
 * - `Node`: a node of the cluster. `Event`: an Event of a namespace of the project.
 */
export type WatchEvent =
  | { kind: 'Pod'; type: ObjectEventType; object: PodJson; service: string }
  | { kind: 'Services'; workloads: ReadonlyMap<string, readonly WorkloadJson[]> }
  | { kind: 'Node'; type: ObjectEventType; object: NodeJson }
  | { kind: 'Event'; type: ObjectEventType; object: EventJson };

/**
 * The vocabulary shared by the manifests part (pure) and the kube part (API I/O):
 * source documents, rendered objects, their identity, and devenv's ownership labels.
 *
 * Pure module: no I/O.
 */
import type { Document } from 'yaml';
import { hasLabels, LABEL_ENV, LABEL_ROLE, labelPairs, projectLabels } from '../labels.ts';

/** Where a deploy goes: a developer's k3d cluster, or a nightly prerelease namespace. */
export type DeployEnv = 'dev' | 'prerelease';

/**
 * On a Job of the manifests: `dev.devenv/role: test` (LABEL_ROLE) marks the integration
 * tests. They are rendered only on request (`prerelease test`): `up`, reloads and
 * `prerelease up` leave them out, so developing never runs them and an apply never races a
 * finished Job.
 */
export const ROLE_TEST = 'test';
/** `<file>#<doc index>`: which source document an object was rendered from. */
export const ANNOTATION_SOURCE = 'dev.devenv/source';
/** Hash of the rendered object without this annotation: equal hash = nothing to apply. */
export const ANNOTATION_HASH = 'dev.devenv/applied-hash';

/** The three labels on every object devenv creates; devenv never touches an object without them. */
export function ownerLabels(project: string, env: DeployEnv): Record<string, string> {
  return projectLabels(project, { [LABEL_ENV]: env });
}

/** The label selector matching exactly the objects of one project and env. */
export function ownerSelector(project: string, env: DeployEnv): string {
  return labelPairs(ownerLabels(project, env)).join(',');
}

/** True when `labels` carry devenv's three labels with this project and env. */
export function isOwned(
  labels: Record<string, string> | undefined,
  project: string,
  env: DeployEnv,
): boolean {
  return hasLabels(labels, ownerLabels(project, env));
}

/** A plain Kubernetes object as JSON (what the API server receives). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * One parsed manifest document. `doc` is the yaml package's Document (edited in a clone
 * at render time, so comments, key order and scalar styles survive) or a plain object
 * (JSON input, kustomize output already converted).
 */
export interface SourceDoc {
  /** Path as shown to the user (relative to the project root when shorter). */
  file: string;
  /** 0-based index of the document in its file (or in the kustomize output). */
  index: number;
  doc: Document | Record<string, unknown>;
  /** 1-based position of the document's start, for messages. */
  line?: number;
  col?: number;
}

/** The identity of an object in a cluster. `version` is carried but is not part of the key. */
export interface ObjectId {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
}

export interface RenderedObject {
  /**
   * `group/kind/namespace/name`: stable across renders and API versions (an object
   * served under apps/v1 and apps/v1beta2 is ONE object), so the engine can match
   * rendered objects with live ones.
   */
  key: string;
  id: ObjectId;
  /** The object to apply, with labels, namespace, images and both devenv annotations. */
  object: KubeObject;
  /** The value of `dev.devenv/applied-hash`. */
  hash: string;
  /** The rendered document as YAML (comments and layout of the source kept where possible). */
  yaml: string;
  source: { file: string; index: number };
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function objectKey(id: Pick<ObjectId, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
}

/** "Deployment back/api" or "Namespace back": how objects are named in messages. */
export function describeObject(id: Pick<ObjectId, 'kind' | 'namespace' | 'name'>): string {
  return `${id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

/**
 * Kinds that are cluster-scoped in every Kubernetes release devenv supports. Custom
 * resources are namespaced unless a CRD in the same set says otherwise (render.ts).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'CustomResourceDefinition',
  'APIService',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
]);

/** Kinds whose pod template devenv edits (images, labels, envFrom), and where the template lives. */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Workloads that receive the data secret through envFrom. */
export const ENV_FROM_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
]);

/** True for a Job labelled as the integration tests (LABEL_ROLE = ROLE_TEST). */
export function isTestJob(o: {
  kind?: unknown;
  metadata?: { name?: string; labels?: Record<string, string> | undefined };
}): boolean {
  return o.kind === 'Job' && o.metadata?.labels?.[LABEL_ROLE] === ROLE_TEST;
}

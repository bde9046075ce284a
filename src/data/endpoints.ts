/**
 * Where the data services answer: from this machine (the published ports) and from the
 * cluster network (the aliases devenv-db / devenv-minio).
 */
import { type ContainerState, inspectManaged } from '../docker/containers.ts';
import { badInput, DevenvError } from '../errors.ts';
import type { DataPlan, ServicePlan } from './plan.ts';
import { ObjectStore } from './s3.ts';
import { type DataAccess, type DataEndpoints, type DataRole, S3_REGION } from './types.ts';

const loopback = (ip: string | undefined): string =>
  !ip || ip === '0.0.0.0' || ip === '::' ? '127.0.0.1' : ip;

/** Host and in-cluster endpoints. `actual` (inspected containers) fills in ephemeral host ports. */
export function endpointsOf(
  plan: DataPlan,
  actual: Partial<Record<DataRole, ContainerState>> = {},
  network?: string,
): DataEndpoints {
  const host: DataAccess = {};
  const cluster: DataAccess = {};
  const c = plan.credentials;
  const hostBinding = (p: ServicePlan, containerPort: number) => {
    const planned = p.ports.find((x) => x.containerPort === containerPort);
    const seen = actual[p.role]?.ports.find((x) => x.containerPort === containerPort);
    const port = planned?.hostPort ?? seen?.hostPort;
    return port ? { host: loopback(planned?.hostIp ?? seen?.hostIp), port } : undefined;
  };
  if (plan.database) {
    const p = plan.database;
    const base = {
      engine: p.engine,
      user: c.database.user,
      password: c.database.password,
      database: p.databases[0]!,
      databases: p.databases,
    };
    const hb = hostBinding(p, p.containerPort);
    if (hb) host.database = { ...base, host: hb.host, port: hb.port };
    cluster.database = { ...base, host: p.alias, port: p.containerPort };
  }
  if (plan.objectStore) {
    const p = plan.objectStore;
    const base = {
      accessKeyId: c.objectStore.accessKeyId,
      secretAccessKey: c.objectStore.secretAccessKey,
      region: S3_REGION,
      buckets: p.buckets,
    };
    const hb = hostBinding(p, p.containerPort);
    const console = p.consoleContainerPort ? hostBinding(p, p.consoleContainerPort) : undefined;
    if (hb)
      host.objectStore = {
        ...base,
        endpoint: `http://${hb.host}:${hb.port}`,
        ...(console ? { consoleUrl: `http://${console.host}:${console.port}` } : {}),
      };
    cluster.objectStore = { ...base, endpoint: `http://${p.alias}:${p.containerPort}` };
  }
  return { project: plan.project, host, cluster, ...(network ? { network } : {}) };
}

/** An S3 client for the project's object store, from the host. */
export async function connectObjectStore(plan: DataPlan): Promise<ObjectStore> {
  const state = plan.objectStore
    ? await inspectManaged(plan.objectStore.containerName, plan.project)
    : undefined;
  const access = endpointsOf(plan, state ? { objectStore: state } : {}).host.objectStore;
  if (!plan.objectStore || !access) {
    throw badInput('this needs an object store: add "objectStore:" to devenv.yaml and run "devenv up".');
  }
  if (!state?.running) {
    throw new DevenvError(
      `the object store container "${plan.objectStore.containerName}" is not running; run "devenv up".`,
    );
  }
  return ObjectStore.connect(access);
}

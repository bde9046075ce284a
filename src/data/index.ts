/**
 * Data services outside the cluster (the database and the object store), as the `up`
 * engine and the commands see them. The work is split by role; this face re-exports it:
 *
 *   ensureDataServices({ config, root, network?, onEvent? })  reconcile, wait ready, return endpoints (lifecycle.ts)
 *   stopDataServices(project)      stop the containers, keep data (`devenv down`; destroy.ts)
 *   destroyDataServices(project)   remove containers AND volumes (`devenv destroy`; destroy.ts)
 *   dataStatus(project)            what exists, for `status` and confirmations (status.ts)
 *   resolveDataPlan, dbTarget, compose sources: the desired state (resolve.ts)
 *   endpointsOf, connectObjectStore: where the services answer (endpoints.ts)
 */
export { destroyDataServices, stopDataServices } from './destroy.ts';
export { connectObjectStore, endpointsOf } from './endpoints.ts';
export {
  type EnsureOptions,
  engineSwitchRefusal,
  ensureDataServices,
  otherEngineVolumes,
} from './lifecycle.ts';
export {
  databaseComposeSource,
  dataComposeSources,
  dbTarget,
  resolveDataPlan,
} from './resolve.ts';
export { type DataStatusEntry, dataStatus } from './status.ts';
export type { DataEndpoints } from './types.ts';

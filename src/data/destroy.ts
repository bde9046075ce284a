/**
 * Taking the data services down: `devenv down` stops the containers and keeps the data,
 * `devenv destroy` removes containers AND volumes. Only objects labelled for the project
 * are touched.
 */
import { listContainers, removeContainer, stopContainer } from '../docker/containers.ts';
import { engineInfo } from '../docker/engine.ts';
import { removeVolumes } from '../docker/volumes.ts';
import { dataLabels } from './plan.ts';

/** Stops the project's data containers (their volumes and the containers stay). Returns the names stopped. */
export async function stopDataServices(project: string): Promise<string[]> {
  await engineInfo();
  const running = (await listContainers(dataLabels(project))).filter((c) => c.running);
  await Promise.all(running.map((c) => stopContainer(c.name)));
  return running.map((c) => c.name);
}

/** Removes the project's data containers and volumes (devenv-labelled only). */
export async function destroyDataServices(
  project: string,
): Promise<{ containers: string[]; volumes: string[] }> {
  await engineInfo();
  const containers = await listContainers(dataLabels(project));
  await Promise.all(containers.map((c) => removeContainer(c.name)));
  const volumes = await removeVolumes(dataLabels(project));
  return { containers: containers.map((c) => c.name), volumes };
}

/** The project's data containers and volumes as Docker reports them (`status`, confirmations). */
import { type ContainerState, listContainers } from '../docker/containers.ts';
import { engineInfo } from '../docker/engine.ts';
import { listVolumes } from '../docker/volumes.ts';
import { LABEL_ROLE } from '../labels.ts';
import { dataLabels } from './plan.ts';
import type { DataRole } from './types.ts';

export interface DataStatusEntry {
  role: DataRole;
  container: string;
  image: string;
  status: string;
  health?: string;
  ports: ContainerState['ports'];
}

/** The project's data containers and volumes as Docker reports them. */
export async function dataStatus(
  project: string,
): Promise<{ containers: DataStatusEntry[]; volumes: string[] }> {
  await engineInfo();
  const containers = (await listContainers(dataLabels(project))).map((c) => ({
    role: (c.labels[LABEL_ROLE] ?? 'database') as DataRole,
    container: c.name,
    image: c.image,
    status: c.status,
    ...(c.health ? { health: c.health } : {}),
    ports: c.ports,
  }));
  const volumes = (await listVolumes(dataLabels(project))).map((v) => v.name).sort();
  return { containers, volumes };
}

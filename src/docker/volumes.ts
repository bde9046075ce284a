/**
 * Named volumes: created with devenv's labels; removed only when they carry them.
 * A volume of the same name that devenv did not create is never adopted or removed:
 * that is reported, with the fix.
 */
import { DevenvError } from '../errors.ts';
import { LABEL_MANAGED_BY, labelPairs, MANAGED_BY_VALUE } from '../labels.ts';
import { docker } from './engine.ts';
import { isManaged } from './labels.ts';
import { isNotFound, removeManaged } from './managed.ts';

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
}

export async function inspectVolume(name: string): Promise<VolumeInfo | undefined> {
  const d = await docker();
  try {
    const v = await d.getVolume(name).inspect();
    return { name: v.Name, labels: v.Labels ?? {} };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Creates the volume unless it exists; returns true when it was created. */
export async function ensureVolume(name: string, labels: Record<string, string>): Promise<boolean> {
  const existing = await inspectVolume(name);
  if (existing) {
    if (!isManaged(existing.labels)) {
      throw new DevenvError(
        `volume "${name}" exists but was not created by devenv (no ${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE} label); ` +
          'devenv will not use or change it. Rename or remove it ("docker volume rm"), or use another project name.',
      );
    }
    return false;
  }
  const d = await docker();
  await d.createVolume({ Name: name, Labels: labels });
  return true;
}

export async function listVolumes(labels: Record<string, string>): Promise<VolumeInfo[]> {
  const d = await docker();
  const res = await d.listVolumes({ filters: { label: labelPairs(labels) } });
  return (res.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
}

/** Removes every volume carrying `labels` (which must include managed-by=devenv). Returns their names. */
export async function removeVolumes(labels: Record<string, string>): Promise<string[]> {
  return removeManaged(
    {
      caller: 'removeVolumes',
      list: listVolumes,
      labelsOf: (v) => v.labels,
      nameOf: (v) => v.name,
      remove: async (v) => (await docker()).getVolume(v.name).remove(),
    },
    labels,
  );
}

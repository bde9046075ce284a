/**
 * Secrets devenv creates itself (the data services' variables, the TLS certificate):
 * written only when their content changed, so a second `up` makes no API write, and never
 * over a Secret of the same name that devenv did not create.
 *
 * The content is compared through a hash kept in an annotation, never printed. Values are
 * sent as base64 `data` (not `stringData`, which is write-only and would make every
 * server-side apply look like a change).
 */
import { DevenvError } from '../errors.ts';
import { LABEL_ENV, LABEL_MANAGED_BY, LABEL_PROJECT, MANAGED_BY_VALUE } from '../labels.ts';
import { contentHash } from '../manifests/hash.ts';
import { ANNOTATION_HASH } from '../manifests/types.ts';
import type { KubeClient } from './client.ts';
import { FIELD_MANAGER, readObject, serverSideApply } from './objects.ts';

export interface SecretSpec {
  namespace: string;
  name: string;
  stringData: Readonly<Record<string, string>>;
  /** Must include devenv's three ownership labels (ownerLabels(project, env)). */
  labels: Readonly<Record<string, string>>;
  /** Default "Opaque"; "kubernetes.io/tls" for certificates. */
  type?: string;
}

export interface SecretResult {
  changed: boolean;
  created: boolean;
  writes: number;
}

export async function applySecret(client: KubeClient, spec: SecretSpec): Promise<SecretResult> {
  const owner = [LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_ENV] as const;
  if (
    spec.labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE ||
    !spec.labels[LABEL_PROJECT] ||
    !spec.labels[LABEL_ENV]
  ) {
    throw new Error(
      `applySecret(${spec.namespace}/${spec.name}): labels must carry devenv's ownership labels`,
    );
  }
  const type = spec.type ?? 'Opaque';
  const data = Object.fromEntries(
    Object.entries(spec.stringData)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  );
  const hash = contentHash({ type, data, labels: spec.labels });
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace: spec.namespace, name: spec.name };

  const live = await readObject(client, ref);
  if (live) {
    const labels = live.metadata.labels ?? {};
    if (owner.some((k) => labels[k] !== spec.labels[k])) {
      throw new DevenvError(
        `Secret ${spec.namespace}/${spec.name} exists and was not created by devenv for this project; devenv leaves it alone.`,
        { details: ['Delete or rename that Secret, or rename the one devenv writes.'] },
      );
    }
    if (live.metadata.annotations?.[ANNOTATION_HASH] === hash && live.type === type) {
      return { changed: false, created: false, writes: 0 };
    }
  }
  await serverSideApply(
    client,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: spec.name,
        namespace: spec.namespace,
        labels: { ...spec.labels },
        annotations: { [ANNOTATION_HASH]: hash },
      },
      type,
      data,
    },
    FIELD_MANAGER,
  );
  return { changed: true, created: !live, writes: 1 };
}

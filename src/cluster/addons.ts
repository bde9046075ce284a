/**
 * Objects devenv adds to its OWN k3d cluster so it has production's shape (pure):
 *  - a NodePort Service that the k3d port mapping (tls.port → TLS_NODE_PORT) reaches, so the
 *    host talks to the TLS service's own port with nothing terminating TLS on the way.
 * Never applied to an allow-listed existing cluster: it is not devenv's to shape.
 */
import type { TlsConfig } from '../config/schema.ts';
import { TLS_NODE_PORT } from './k3dconfig.ts';

/** The passthrough Service for the TLS service, selecting the same pods as its own Service. */
export function tlsPassthroughService(
  tls: TlsConfig,
  namespace: string,
  selector: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `devenv-tls-${tls.service}`, namespace },
    spec: {
      type: 'NodePort',
      selector,
      ports: [
        {
          name: 'tls',
          protocol: 'TCP',
          port: tls.targetPort,
          targetPort: tls.targetPort,
          nodePort: TLS_NODE_PORT,
        },
      ],
    },
  };
}

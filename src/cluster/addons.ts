/**
 * Objects devenv adds to its OWN k3d cluster so it has production's shape (pure):
 *  - ingress-nginx (production's ingress) through k3s's built-in Helm controller, with SSL
 *    passthrough enabled so a service that terminates TLS itself can sit behind it;
 *  - a NodePort Service that the k3d port mapping (tls.port → TLS_NODE_PORT) reaches, so the
 *    host talks to the TLS service's own port with nothing terminating TLS on the way.
 * Never applied to an allow-listed existing cluster: it is not devenv's to shape.
 */
import type { TlsConfig } from '../config/schema.ts';
import { TLS_NODE_PORT } from './k3dconfig.ts';

export function ingressNginxChart(): Record<string, unknown> {
  return {
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
    metadata: { name: 'ingress-nginx', namespace: 'kube-system' },
    spec: {
      repo: 'https://kubernetes.github.io/ingress-nginx',
      chart: 'ingress-nginx',
      targetNamespace: 'ingress-nginx',
      createNamespace: true,
      valuesContent: [
        'controller:',
        '  kind: DaemonSet',
        '  service:',
        '    type: LoadBalancer',
        '  extraArgs:',
        '    enable-ssl-passthrough: "true"',
        '  allowSnippetAnnotations: false',
        '',
      ].join('\n'),
    },
  };
}

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

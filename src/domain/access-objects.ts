/**
 * The Kubernetes objects that make a TCP route reachable inside the cluster: a Secret with the
 * route's Access service token, a Deployment running `cloudflared access tcp` with it, and a
 * ClusterIP Service, all named `tunnel-access-<route>-<tunnel>` (the proof of concept's names,
 * always ≤ 63 characters). The pod spec passes OpenShift restricted-v2 and Pod Security
 * "restricted"; the token reaches the pod only through env from the Secret.
 */
import { accessObjectName } from './names.js';

/** The official image, pinned (≥ 2025.7.0: numeric USER, so runAsNonRoot holds). */
export const DEFAULT_CLOUDFLARED_IMAGE = 'cloudflare/cloudflared:2026.8.2';
export const LABEL_ROUTE = 'tunnelplane.io/route';
export const LABEL_TUNNEL = 'tunnelplane.io/tunnel';
export const LABEL_OWNER = 'tunnelplane.io/owner';

export interface AccessObjectsInput {
  namespace: string;
  routeName: string;
  tunnelName: string;
  /** The owner's user id (a UUID: a valid label value, unlike some user names). */
  ownerId: string;
  hostname: string;
  image: string;
  replicas: number;
  /** Port the pods listen on and the Service exposes. */
  port: number;
  /** Changes when the service token rotates, so the pods roll and pick up the new secret. */
  tokenVersion: string;
  /** The installation's ownership labels (see ownership.ts). */
  ownerLabels: Readonly<Record<string, string>>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export function accessLabels(
  i: Pick<AccessObjectsInput, 'routeName' | 'tunnelName' | 'ownerId' | 'ownerLabels'>,
): Record<string, string> {
  const name = accessObjectName(i.routeName, i.tunnelName);
  return {
    'app.kubernetes.io/name': 'cloudflared-access',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': 'tcp-access',
    'app.kubernetes.io/part-of': 'tunnelplane',
    ...i.ownerLabels,
    deployment: name,
    [LABEL_ROUTE]: i.routeName,
    [LABEL_TUNNEL]: i.tunnelName,
    [LABEL_OWNER]: i.ownerId,
  };
}

/** `tunnel-access-<route>-<tunnel>.<namespace>.svc.cluster.local:<port>`: where cloud services connect. */
export function inClusterAddress(
  routeName: string,
  tunnelName: string,
  namespace: string,
  port: number,
): string {
  return `${accessObjectName(routeName, tunnelName)}.${namespace}.svc.cluster.local:${port}`;
}

export function renderAccessObjects(
  i: AccessObjectsInput,
  token: { clientId: string; clientSecret: string },
): KubeObject[] {
  const name = accessObjectName(i.routeName, i.tunnelName);
  const labels = accessLabels(i);
  const annotations = { 'tunnelplane.io/hostname': i.hostname };
  const metadata = { name, namespace: i.namespace, labels, annotations };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'Opaque',
    data: {
      'client-id': Buffer.from(token.clientId).toString('base64'),
      'client-secret': Buffer.from(token.clientSecret).toString('base64'),
    },
  };
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: i.replicas,
      revisionHistoryLimit: 2,
      selector: { matchLabels: { 'app.kubernetes.io/instance': name } },
      template: {
        metadata: { labels, annotations: { ...annotations, 'tunnelplane.io/token-version': i.tokenVersion } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'cloudflared',
              image: i.image,
              imagePullPolicy: 'IfNotPresent',
              // The image's entrypoint is `cloudflared --no-autoupdate`: these are its arguments.
              args: ['access', 'tcp', '--hostname', i.hostname, '--url', `0.0.0.0:${i.port}`],
              env: [
                { name: 'TUNNEL_SERVICE_TOKEN_ID', valueFrom: { secretKeyRef: { name, key: 'client-id' } } },
                {
                  name: 'TUNNEL_SERVICE_TOKEN_SECRET',
                  valueFrom: { secretKeyRef: { name, key: 'client-secret' } },
                },
              ],
              ports: [{ name: 'tcp', containerPort: i.port, protocol: 'TCP' }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
              // Each probe opens one edge connection: keep it gentle.
              readinessProbe: { tcpSocket: { port: 'tcp' }, periodSeconds: 30, timeoutSeconds: 2 },
            },
          ],
        },
      },
    },
  };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/instance': name },
      ports: [{ name: 'tcp', port: i.port, targetPort: 'tcp', protocol: 'TCP' }],
    },
  };
  return [secret, deployment, service];
}

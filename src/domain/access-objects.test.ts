import { describe, expect, it } from 'vitest';
import { renderAccessObjects, inClusterAddress } from './access-objects.js';
import { ownership } from './ownership.js';

const input = {
  namespace: 'tunnel-control-plane',
  routeName: 'r'.repeat(24),
  tunnelName: 't'.repeat(24),
  ownerId: '0b6b7a1e-8d3c-4f7a-9c1e-2f1d3e4a5b6c',
  hostname: `${'r'.repeat(24)}-${'t'.repeat(24)}.example.com`,
  image: 'cloudflare/cloudflared:2025.11.1',
  replicas: 1,
  port: 10000,
  tokenVersion: '1',
  ownerLabels: ownership('abcdef12').kubernetesLabels,
};
const [secret, deployment, service] = renderAccessObjects(input, {
  clientId: 'id.access',
  clientSecret: 'shh',
}) as any[];

describe('access objects', () => {
  it('names every object tunnel-access-<route>-<tunnel> within 63 characters, labels within limits', () => {
    for (const o of [secret, deployment, service]) {
      expect(o.metadata.name).toBe(`tunnel-access-${input.routeName}-${input.tunnelName}`);
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
      expect(o.metadata.name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      for (const v of Object.values(o.metadata.labels) as string[])
        expect(v).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
      for (const v of Object.values(o.metadata.labels) as string[]) expect(v.length).toBeLessThanOrEqual(63);
    }
    expect(inClusterAddress('abc', 'xyz', 'ns', 10000)).toBe(
      'tunnel-access-abc-xyz.ns.svc.cluster.local:10000',
    );
  });

  it('passes Pod Security "restricted" and OpenShift restricted-v2', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.hostNetwork ?? false).toBe(false);
    for (const c of pod.containers) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.securityContext.runAsUser).toBeUndefined();
      expect(c.command).toBeUndefined();
      expect(c.resources.requests).toBeTruthy();
      expect(c.readinessProbe.tcpSocket).toBeTruthy();
      expect(c.ports[0].containerPort).toBeGreaterThanOrEqual(1024);
    }
    expect(pod.volumes ?? []).toEqual([]);
  });

  it('runs access tcp with the token only through env from the Secret', () => {
    const c = deployment.spec.template.spec.containers[0];
    expect(c.args).toEqual(['access', 'tcp', '--hostname', input.hostname, '--url', '0.0.0.0:10000']);
    expect(JSON.stringify(deployment)).not.toContain('shh');
    expect(c.env.map((e: any) => e.name)).toEqual(['TUNNEL_SERVICE_TOKEN_ID', 'TUNNEL_SERVICE_TOKEN_SECRET']);
    expect(Buffer.from(secret.data['client-secret'], 'base64').toString()).toBe('shh');
    expect(service.spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 10000, targetPort: 'tcp' }] });
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });
});

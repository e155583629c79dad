/**
 * TCP routes reachable inside the cluster, protected by Cloudflare Access: through the API with
 * both emulators. A tcp route gets a service token, an Access application with a Service Auth
 * policy admitting only that token, then its DNS record, then a Secret, Deployment and Service in
 * the namespace; deleting the route or the tunnel removes every one of them. The reconciler runs
 * with a token holding exactly deploy/base/rbac.yaml's Role.
 */
import { execFile } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startKubernetesEmulator,
  type StartedKubernetesEmulator,
} from '../src/emulators/kubernetes/index.js';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

const run = promisify(execFile);
const NS = 'tunnel-control-plane';
const role = parseAllDocuments(readFileSync('deploy/base/rbac.yaml', 'utf8'))
  .map((d) => d.toJS())
  .find((d) => d.kind === 'Role');

let k8s: StartedKubernetesEmulator;
let cf: StartedCloudflareEmulator;
let stack: Stack;

const access = () => {
  const s = cf.control.state() as any;
  return { apps: s.accessApps, policies: s.accessPolicies, tokens: s.serviceTokens };
};
const objects = (name?: string) =>
  (k8s.control.objects({ namespace: NS }) as any[]).filter((o) => !name || o.metadata.name === name);

beforeAll(async () => {
  k8s = await startKubernetesEmulator({ port: 0, namespaces: [NS], readyDelayMs: 100, tls: true });
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
  const token = k8s.control.addToken({ namespace: NS, role });
  stack = await startStack({
    cf,
    configMode: 'remote',
    kubernetes: { kubeconfig: k8s.kubeconfig({ token }), namespace: NS },
  });
});
afterAll(async () => {
  await stack?.stop();
  await cf?.close();
  await k8s?.close();
});

describe('a tcp route', () => {
  let tunnel: string;
  let route: any;

  it('gets Access protection, DNS, and a Deployment + Service + Secret named as the proof of concept promised', async () => {
    const u = stack.as('user1');
    tunnel = (await u.post('/api/v1/tunnels', {})).body.name;
    const res = await u.post(`/api/v1/tunnels/${tunnel}/routes`, { service: 'tcp://192.168.1.10:10000' });
    expect(res.status).toBe(201);
    route = res.body;
    const name = `tunnel-access-${route.name}-${tunnel}`;
    expect(route.inCluster.address).toBe(`${name}.${NS}.svc.cluster.local:10000`);
    expect(route.protectedBy).toBe('access');

    const a = access();
    const app = a.apps.find((x: any) => x.fields.domain === route.hostname);
    expect(app).toBeTruthy();
    expect(app.fields.type).toBe('self_hosted');
    const token = a.tokens.find((t: any) => t.name === `tunnelplane-test-${tunnel}-${route.name}`);
    expect(token).toBeTruthy();
    const policy = a.policies.find((p: any) => p.appId === app.id);
    expect(policy.fields.decision).toBe('non_identity');
    expect(policy.fields.include).toEqual([{ service_token: { token_id: token.id } }]);
    expect(cfView(cf).records.find((r) => r.name === route.hostname)).toBeTruthy();

    const [secret] = objects(name).filter((o) => o.kind === 'Secret');
    expect(Buffer.from(secret.data['client-id'], 'base64').toString()).toBe(token.clientId);
    expect(Buffer.from(secret.data['client-secret'], 'base64').toString()).toBe(token.clientSecret);
    const [deployment] = objects(name).filter((o) => o.kind === 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].args).toEqual([
      'access',
      'tcp',
      '--hostname',
      route.hostname,
      '--url',
      '0.0.0.0:10000',
    ]);
    expect(JSON.stringify(deployment)).not.toContain(token.clientSecret);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.metadata.managedFields.map((f: any) => f.manager)).toContain('tunnelplane');
    const [service] = objects(name).filter((o) => o.kind === 'Service');
    expect(service.spec.ports[0]).toMatchObject({ port: 10000 });

    await eventually(
      async () =>
        (await u.get(`/api/v1/tunnels/${tunnel}/routes/${route.name}`)).body.inCluster.ready === true,
      10_000,
      100,
    );
  });

  it('is listed and read by kubectl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, k8s.kubeconfig());
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    const name = `tunnel-access-${route.name}-${tunnel}`;
    const { stdout } = await run(
      'kubectl',
      [
        'get',
        'deployments,services',
        '-n',
        NS,
        '-l',
        'app.kubernetes.io/managed-by=tunnelplane,tunnelplane.io/instance=test',
        '-o',
        'name',
        '--cache-dir',
        join(dir, 'cache'),
      ],
      { env },
    );
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual([`deployment.apps/${name}`, `service/${name}`]);
    const svc = JSON.parse(
      (
        await run(
          'kubectl',
          ['get', 'service', name, '-n', NS, '-o', 'json', '--cache-dir', join(dir, 'cache')],
          { env },
        )
      ).stdout,
    );
    expect(svc.metadata.labels['tunnelplane.io/tunnel']).toBe(tunnel);
  });

  it('reports the access pods failing, and recovering', async () => {
    const u = stack.as('user1');
    const name = `tunnel-access-${route.name}-${tunnel}`;
    k8s.control.setPodsFailing(NS, name, true, { reason: 'CrashLoopBackOff', message: 'cloudflared exited' });
    let r: any;
    // The emulated rollout updates the Deployment's status after its delay.
    await eventually(
      async () => {
        await stack.runtime.reconciler!.refreshReadiness();
        r = (await u.get(`/api/v1/tunnels/${tunnel}/routes/${route.name}`)).body;
        return r.inCluster.ready === false;
      },
      10_000,
      100,
    );
    expect(r.inCluster.reason).toMatch(/minimum availability|cloudflared exited|CrashLoopBackOff/);
    k8s.control.setPodsFailing(NS, name, false);
    await eventually(
      async () => {
        await stack.runtime.reconciler!.refreshReadiness();
        r = (await u.get(`/api/v1/tunnels/${tunnel}/routes/${route.name}`)).body;
        return r.inCluster.ready === true;
      },
      10_000,
      100,
    );
  });

  it('rolls the pods onto a rotated token', async () => {
    const name = `tunnel-access-${route.name}-${tunnel}`;
    const before = objects(name).find((o) => o.kind === 'Secret').data['client-secret'];
    const version = objects(name).find((o) => o.kind === 'Deployment').spec.template.metadata.annotations[
      'tunnelplane.io/token-version'
    ];
    expect(
      (await stack.as('user1').post(`/api/v1/admin/tunnels/${tunnel}/routes/${route.name}/rotate-token`))
        .status,
    ).toBe(403);
    expect(
      (await stack.as('admin').post(`/api/v1/admin/tunnels/${tunnel}/routes/${route.name}/rotate-token`))
        .status,
    ).toBe(202);
    // The Secret and the Deployment are applied one after the other: wait for both.
    const deployment = () => objects(name).find((o) => o.kind === 'Deployment');
    await eventually(
      () =>
        objects(name).find((o) => o.kind === 'Secret').data['client-secret'] !== before &&
        deployment()?.spec.template.metadata.annotations['tunnelplane.io/token-version'] !== version,
      10_000,
      50,
    );
    const token = access().tokens.find((t: any) => t.name === `tunnelplane-test-${tunnel}-${route.name}`);
    expect(
      Buffer.from(objects(name).find((o) => o.kind === 'Secret').data['client-secret'], 'base64').toString(),
    ).toBe(token.clientSecret);
    expect(deployment().spec.template.metadata.annotations['tunnelplane.io/token-version']).not.toBe(version);
  });

  it('repairs drift and collects orphans in the cluster and in Access, never touching unlabelled objects', async () => {
    const name = `tunnel-access-${route.name}-${tunnel}`;
    k8s.control.deleteObject('Deployment', NS, name);
    const app = access().apps.find((x: any) => x.fields.domain === route.hostname);
    await cfHand(cf).call('DELETE', `/accounts/${cf.accountId}/access/apps/${app.id}`);
    const orphan = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'tunnel-access-zz-gone',
        namespace: NS,
        labels: {
          'app.kubernetes.io/managed-by': 'tunnelplane',
          'tunnelplane.io/instance': 'test',
          'tunnelplane.io/route': 'zz',
          'tunnelplane.io/tunnel': 'gone',
        },
      },
      spec: { ports: [{ port: 10000 }] },
    };
    const foreign = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'someone-elses', namespace: NS, labels: { app: 'db' } },
      spec: { ports: [{ port: 5432 }] },
    };
    k8s.control.putObject(orphan);
    k8s.control.putObject(foreign);
    await cfHand(cf).call('POST', `/accounts/${cf.accountId}/access/apps`, {
      type: 'self_hosted',
      domain: 'gone.example.com',
      name: 'tunnelplane-test-gone-zz',
    });

    // This installation deleted the rows that named them: provably ours.
    await stack.tombstone('tunnel', 'gone');
    const result = await stack.runtime.reconciler!.resync();
    expect(result.orphanKubernetes).toBe(1);
    expect(result.orphanAccess).toBe(1);
    await stack.runtime.reconciler!.drain();
    expect(
      objects(name)
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['Deployment', 'Secret', 'Service']);
    expect(objects('tunnel-access-zz-gone')).toEqual([]);
    expect(objects('someone-elses')).toHaveLength(1);
    const apps = access().apps;
    expect(apps.find((x: any) => x.fields.domain === route.hostname)).toBeTruthy();
    expect(apps.find((x: any) => x.fields.name === 'tunnelplane-test-gone-zz')).toBeUndefined();
  });

  it('deleting the route removes every object it made; so does deleting the tunnel', async () => {
    const u = stack.as('user1');
    const name = `tunnel-access-${route.name}-${tunnel}`;
    expect((await u.del(`/api/v1/tunnels/${tunnel}/routes/${route.name}`)).status).toBe(204);
    expect(objects(name)).toEqual([]);
    expect(access().apps.filter((x: any) => x.fields.name?.startsWith('tunnelplane-'))).toEqual([]);
    expect(access().tokens.filter((t: any) => t.name.startsWith('tunnelplane-'))).toEqual([]);
    expect(cfView(cf).records.find((r) => r.name === route.hostname)).toBeUndefined();

    const r2 = (await u.post(`/api/v1/tunnels/${tunnel}/routes`, { service: 'ssh://10.0.0.5:22' })).body;
    expect(objects(`tunnel-access-${r2.name}-${tunnel}`)).toHaveLength(3);
    expect((await u.del(`/api/v1/tunnels/${tunnel}`)).status).toBe(204);
    expect(
      objects().filter((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'tunnelplane'),
    ).toEqual([]);
    expect(access().apps.filter((x: any) => x.fields.name?.startsWith('tunnelplane-'))).toEqual([]);
    expect(access().tokens.filter((t: any) => t.name.startsWith('tunnelplane-'))).toEqual([]);
    expect(cfView(cf).tunnels).toEqual([]);
  });
});

describe('least privilege', () => {
  it('with one verb removed, the reconciler reports a clear permission error', async () => {
    const narrowed = structuredClone(role);
    const secrets = narrowed.rules.find((r: any) => r.resources.includes('secrets'));
    narrowed.rules = narrowed.rules.filter((r: any) => r !== secrets);
    narrowed.rules.push({ apiGroups: [''], resources: ['services'], verbs: secrets.verbs });
    narrowed.rules.push({
      apiGroups: [''],
      resources: ['secrets'],
      verbs: secrets.verbs.filter((v: string) => v !== 'create'),
    });
    const token = k8s.control.addToken({ namespace: NS, role: narrowed });
    const cf2 = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
    const s2 = await startStack({
      cf: cf2,
      kubernetes: { kubeconfig: k8s.kubeconfig({ token }), namespace: NS },
    });
    try {
      const u = s2.as('user1');
      const t = (await u.post('/api/v1/tunnels', {})).body.name;
      const r = await u.post(`/api/v1/tunnels/${t}/routes?wait=3`, { service: 'tcp://10.9.9.9:5432' });
      expect(r.status).toBe(202);
      const tunnel = (await u.get(`/api/v1/tunnels/${t}`)).body;
      expect(tunnel.lastError).toMatch(/403/);
      expect(tunnel.lastError).toMatch(/forbidden/i);
      expect(tunnel.lastError).toMatch(/secrets/);
      expect(tunnel.lastError).toMatch(/rbac\.yaml/);
      await u.del(`/api/v1/tunnels/${t}?wait=0`);
    } finally {
      await s2.stop();
      await cf2.close();
    }
  });
});

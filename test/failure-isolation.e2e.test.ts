/**
 * One failing subsystem holds back only what needs it: with Kubernetes failing, HTTP routes (of
 * the same tunnel and of others) go live while the TCP route carries an error that says what is
 * wrong, and catches up once the cluster answers. A service token nearing its expiry is renewed
 * (refreshed and rotated) and the pods roll onto it. A Cloudflare that is rate limiting or
 * failing at start delays the start, it does not stop it.
 */
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

const NS = 'tunnel-control-plane';
let k8s: StartedKubernetesEmulator;
let cf: StartedCloudflareEmulator;
let stack: Stack;

beforeAll(async () => {
  k8s = await startKubernetesEmulator({ port: 0, namespaces: [NS], readyDelayMs: 50, tls: true });
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
  stack = await startStack({
    cf,
    configMode: 'remote',
    kubernetes: { kubeconfig: k8s.kubeconfig(), namespace: NS },
  });
});
afterAll(async () => {
  await stack?.stop();
  await cf?.close();
  await k8s?.close();
});

const deployment = (name: string) =>
  (k8s.control.objects({ namespace: NS }) as any[]).find(
    (o) => o.kind === 'Deployment' && o.metadata.name === name,
  );

describe('with Kubernetes failing', () => {
  it('HTTP routes go live, on the same tunnel and on others; the TCP route says why it waits, and catches up', async () => {
    const u = stack.as('user1');
    const a = (await u.post('/api/v1/tunnels?wait=10', {})).body.name;
    const b = (await u.post('/api/v1/tunnels?wait=10', {})).body.name;
    for (const method of ['GET', 'PATCH', 'DELETE', 'POST', 'PUT'])
      k8s.control.addFault({ method, path: '/**', status: 500, times: Infinity, message: 'etcd is down' });
    const tcp = await u.post(`/api/v1/tunnels/${a}/routes?wait=0`, { service: 'tcp://10.0.0.5:5432' });
    const sameTunnel = await u.post(`/api/v1/tunnels/${a}/routes?wait=0`, {
      service: 'http://localhost:8000',
    });
    const otherTunnel = await u.post(`/api/v1/tunnels/${b}/routes?wait=0`, {
      service: 'http://localhost:9000',
    });
    const route = async (t: string, name: string) =>
      (await u.get(`/api/v1/tunnels/${t}`)).body.routes.find((r: any) => r.name === name);
    await eventually(
      async () =>
        (await route(a, sameTunnel.body.name))?.phase === 'ready' &&
        (await route(b, otherTunnel.body.name))?.phase === 'ready',
      20_000,
      100,
    );
    const waiting = await eventually(
      async () => {
        const r = await route(a, tcp.body.name);
        return r.lastError ? r : null;
      },
      20_000,
      100,
    );
    expect(waiting.phase).toBe('pending');
    expect(waiting.lastError).toMatch(/etcd is down|500/);
    expect(waiting.errorCode).toBe('kubernetes.transient');
    // Protected and published meanwhile: only the pods wait.
    const records = cfView(cf).records.map((r) => r.name);
    expect(records).toEqual(
      expect.arrayContaining([sameTunnel.body.hostname, otherTunnel.body.hostname, tcp.body.hostname]),
    );

    k8s.control.clearFaults();
    await eventually(async () => (await route(a, tcp.body.name))?.phase === 'ready', 30_000, 100);
    expect(deployment(`tunnel-access-${tcp.body.name}-${a}`)).toBeTruthy();
  });
});

describe('a service token near its expiry', () => {
  it('is renewed before it expires, and the pods roll onto the new secret', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name;
    const r = (await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, { service: 'tcp://10.0.0.6:22' })).body;
    expect(r.phase).toBe('ready');
    const name = `tunnel-access-${r.name}-${t}`;
    const token = () =>
      (cf.control.state() as any).serviceTokens.find(
        (x: any) => x.name === `tunnelplane-${stack.runtime.installationId}-${t}-${r.name}`,
      );
    // Cloudflare's default duration: a year; the route shows when.
    const first = token();
    expect(Date.parse(first.expiresAt) - Date.now()).toBeGreaterThan(300 * 86_400_000);
    expect((await u.get(`/api/v1/tunnels/${t}`)).body.routes[0].serviceToken.expiresAt).toBe(first.expiresAt);
    await eventually(
      () =>
        deployment(name)?.spec.template.metadata.annotations['tunnelplane.io/token-version'] !== undefined,
    );
    const version = deployment(name).spec.template.metadata.annotations['tunnelplane.io/token-version'];

    // Ten days left, within the renewal window (30 days by default).
    cf.control.setServiceTokenExpiry(first.id, new Date(Date.now() + 10 * 86_400_000));
    await stack.runtime.reconciler!.resync();
    const metrics = (await fetch(`${stack.url}/metrics`).then((res) => res.text())).split('\n');
    expect(metrics).toContain('tunnelplane_service_tokens_expiring 1');
    await stack.runtime.reconciler!.drain();

    const renewed = token();
    expect(renewed.id).toBe(first.id);
    expect(Date.parse(renewed.expiresAt) - Date.now()).toBeGreaterThan(300 * 86_400_000);
    expect(renewed.clientSecret).not.toBe(first.clientSecret);
    await eventually(
      () => deployment(name)?.spec.template.metadata.annotations['tunnelplane.io/token-version'] !== version,
    );
    const secret = (k8s.control.objects({ namespace: NS }) as any[]).find(
      (o) => o.kind === 'Secret' && o.metadata.name === name,
    );
    expect(Buffer.from(secret.data['client-secret'], 'base64').toString()).toBe(renewed.clientSecret);
    const shown = (await u.get(`/api/v1/tunnels/${t}`)).body.routes[0];
    expect(shown.serviceToken.expiresAt).toBe(renewed.expiresAt);
    expect(shown.phase).toBe('ready');
    const events = (await u.get('/api/v1/events?limit=20')).body.items;
    expect(events.find((e: any) => e.action === 'route.token_renewed')).toBeTruthy();
    await stack.runtime.reconciler!.resync();
    expect((await fetch(`${stack.url}/metrics`).then((res) => res.text())).split('\n')).toContain(
      'tunnelplane_service_tokens_expiring 0',
    );
  });
});

describe('a route whose deletion is refused', () => {
  it('stays deleting and says why, on the route and on its tunnel', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name;
    const body = { service: 'http://localhost:1', allowIps: ['203.0.113.0/24'] };
    const r = (await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, body)).body;
    cf.control.addFault({
      method: 'DELETE',
      path: '/accounts/*/access/apps/*',
      times: 1000,
      action: { type: 'error', status: 403, code: 10000, message: 'Authentication error' },
    });
    try {
      expect((await u.del(`/api/v1/tunnels/${t}/routes/${r.name}?wait=0`)).status).toBe(202);
      await eventually(async () => {
        const view = (await u.get(`/api/v1/tunnels/${t}`)).body;
        const route = view.routes.find((x: any) => x.name === r.name);
        expect(route).toMatchObject({ phase: 'deleting', errorCode: 'cloudflare.permission' });
        expect(route.lastError).toMatch(/Authentication error/);
        expect(view.lastError).toMatch(/Authentication error/);
        return true;
      });
    } finally {
      cf.control.clearFaults();
    }
    // Refused for good (a permission): tried again at the longest backoff, and then it goes.
    await eventually(async () => (await u.get(`/api/v1/tunnels/${t}`)).body.routes.length === 0);
  });
});

describe('a tunnel Cloudflare refuses for good', () => {
  it('answers the waiting create with its error at once (202), not when the wait runs out', async () => {
    cf.control.addFault({
      method: 'POST',
      path: '/accounts/*/cfd_tunnel',
      times: 1000,
      action: { type: 'error', status: 403, code: 10000, message: 'Authentication error' },
    });
    try {
      // A 60 s wait; the test's own bound (20 s) fails it if the server holds the answer that long.
      const res = await stack.as('user2').post('/api/v1/tunnels?wait=60', {});
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ phase: 'error' });
      expect(res.body.lastError).toMatch(/Authentication error/);
    } finally {
      cf.control.clearFaults();
    }
  }, 20_000);
});

describe('Cloudflare at start', () => {
  it('rate limiting or failing: the start waits and retries, and says so; it does not stop', async () => {
    const faults = [
      cf.control.addFault({
        method: 'GET',
        path: '/user/tokens/verify',
        times: 2,
        action: { type: 'error', status: 429, retryAfter: 1 },
      }),
      cf.control.addFault({
        method: 'GET',
        path: '/zones',
        times: 1,
        action: { type: 'error', status: 502 },
      }),
    ];
    const started = await startStack({ cf, instance: null });
    try {
      expect((await started.as('user1').post('/api/v1/tunnels?wait=10', {})).status).toBe(201);
      expect(
        cf.control
          .faults()
          .filter((f) => faults.includes(f.id))
          .map((f) => f.injected),
      ).toEqual([2, 1]);
    } finally {
      for (const f of faults) cf.control.removeFault(f);
      await started.stop();
    }
  });
});

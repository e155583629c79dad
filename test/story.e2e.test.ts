/**
 * The proof of concept's user story, through the HTTP API, asserting the emulated Cloudflare:
 * create tunnel → list → credentials → an http and a tcp route → config.yaml → delete a route by
 * service → delete the tunnel → nothing of it is left. Then the same through the PoC's paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';
import { decodeTunnelToken } from '../src/domain/cloudflared-files.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('API v1 story (local mode)', () => {
  it('creates, routes, configures and deletes a tunnel, leaving nothing behind', async () => {
    const u = stack.as('user1');
    const created = await u.post('/api/v1/tunnels', {});
    expect(created.status).toBe(201);
    const t = created.body;
    expect(t.name).toMatch(/^[a-z]{8}$/);
    expect(t.phase).toBe('ready');
    expect(t.configMode).toBe('local');

    let cf = cfView(stack.cf);
    const cfTunnel = cf.tunnels.find((x) => x.id === t.id)!;
    expect(cfTunnel).toBeTruthy();
    expect(cfTunnel.name).toBe(`tunnelplane-test-${t.name}`);

    const list = await u.get('/api/v1/tunnels');
    expect(list.status).toBe(200);
    expect(list.body.items.map((x: any) => x.name)).toEqual([t.name]);

    const creds = await u.get(`/api/v1/tunnels/${t.name}/credentials`);
    expect(creds.status).toBe(200);
    expect(creds.body).toEqual({
      AccountTag: stack.cf.accountId,
      TunnelSecret: cfTunnel.secret,
      TunnelID: t.id,
      Endpoint: '',
    });

    const http = await u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'http://localhost:8000' });
    expect(http.status).toBe(201);
    expect(http.body.hostname).toMatch(new RegExp(`^[a-z]{8}-${t.name}\\.example\\.com$`));
    expect(http.body.phase).toBe('ready');
    const tcp = await u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'tcp://192.168.1.10:10000' });
    expect(tcp.status).toBe(201);
    expect(tcp.body.protocol).toBe('tcp');

    cf = cfView(stack.cf);
    for (const host of [http.body.hostname, tcp.body.hostname]) {
      const rec = cf.records.find((r) => r.name === host)!;
      expect(rec).toMatchObject({ type: 'CNAME', content: `${t.id}.cfargotunnel.com`, proxied: true });
      expect(rec.comment!.length).toBeLessThanOrEqual(100);
      expect(rec.comment).toBe(`managed-by:tunnelplane/test tunnel=${t.name} route=${host.split('-')[0]}`);
    }

    const config = await u.get(`/api/v1/tunnels/${t.name}/config`);
    expect(config.status).toBe(200);
    expect(config.headers.get('content-type')).toContain('application/yaml');
    const doc = parseYaml(config.text);
    expect(doc.tunnel).toBe(t.id);
    expect(doc['credentials-file']).toBeTruthy();
    expect(doc.ingress).toEqual([
      { hostname: tcp.body.hostname, service: 'tcp://192.168.1.10:10000' },
      { hostname: http.body.hostname, service: 'http://localhost:8000' },
      { service: 'http_status:404' },
    ]);

    const delRoute = await u.del(
      `/api/v1/tunnels/${t.name}/routes?service=${encodeURIComponent('http://localhost:8000')}`,
    );
    expect(delRoute.status).toBe(200);
    expect(delRoute.body).toEqual({ deleted: [http.body.name], pending: [] });
    cf = cfView(stack.cf);
    expect(cf.records.map((r) => r.name)).toEqual([tcp.body.hostname]);

    const del = await u.del(`/api/v1/tunnels/${t.name}`);
    expect(del.status).toBe(204);
    cf = cfView(stack.cf);
    expect(cf.tunnels).toEqual([]);
    expect(cf.records).toEqual([]);
    // The tcp route's Access application and service token went with it.
    const access = stack.cf.control.state() as any;
    expect(access.accessApps).toEqual([]);
    expect(access.accessPolicies).toEqual([]);
    expect(access.serviceTokens).toEqual([]);
    expect((await u.get(`/api/v1/tunnels/${t.name}`)).status).toBe(404);

    const events = await u.get('/api/v1/events');
    const actions = events.body.items.map((e: any) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tunnel.create',
        'route.create',
        'route.delete',
        'tunnel.delete',
        'tunnel.deleted',
      ]),
    );
  });
});

describe('remote mode', () => {
  it('keeps the Cloudflare configuration equal to the routes after every change', async () => {
    const u = stack.as('user2');
    const t = (await u.post('/api/v1/tunnels', { configMode: 'remote' })).body;
    expect(t.configMode).toBe('remote');
    const token = (await u.get(`/api/v1/tunnels/${t.name}/token`)).body.token;
    const decoded = decodeTunnelToken(token)!;
    const cfTunnel = cfView(stack.cf).tunnels.find((x) => x.id === t.id)!;
    expect(decoded).toEqual({ a: stack.cf.accountId, s: cfTunnel.secret, t: t.id });
    expect(cfTunnel.configSrc).toBe('cloudflare');

    const a = (
      await u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'http://localhost:3000', name: 'web' })
    ).body;
    expect(a.hostname).toBe(`web-${t.name}.example.com`);
    let ingress = cfView(stack.cf).tunnels.find((x) => x.id === t.id)!.ingress;
    expect(ingress).toEqual([
      { hostname: a.hostname, service: 'http://localhost:3000' },
      { service: 'http_status:404' },
    ]);

    const b = (await u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'ssh://10.0.0.5:22' })).body;
    ingress = cfView(stack.cf).tunnels.find((x) => x.id === t.id)!.ingress;
    expect(ingress).toEqual([
      { hostname: b.hostname, service: 'ssh://10.0.0.5:22' },
      { hostname: a.hostname, service: 'http://localhost:3000' },
      { service: 'http_status:404' },
    ]);

    expect((await u.del(`/api/v1/tunnels/${t.name}/routes/web`)).status).toBe(204);
    ingress = cfView(stack.cf).tunnels.find((x) => x.id === t.id)!.ingress;
    expect(ingress).toEqual([
      { hostname: b.hostname, service: 'ssh://10.0.0.5:22' },
      { service: 'http_status:404' },
    ]);

    expect((await u.del(`/api/v1/tunnels/${t.name}`)).status).toBe(204);
    expect(cfView(stack.cf).tunnels.find((x) => x.id === t.id)).toBeUndefined();
  });
});

describe('the proof of concept API', () => {
  it('serves the same story in the original shapes', async () => {
    const u = stack.as('user1');
    expect((await u.get('/')).text).toBe('Welcome');
    const created = await u.post('/tunnels');
    expect(created.status).toBe(200);
    expect(created.body.result).toBe('ok');
    const name = created.body.tunnel.name;
    const id = created.body.tunnel.config.tunnel;
    expect(created.body.tunnel.config).toEqual({ tunnel: id, ingress: [{ service: 'http_status:404' }] });

    const list = await u.get('/tunnels');
    expect(list.body).toEqual({
      result: 'ok',
      tunnels: [{ name, config: { tunnel: id, ingress: [{ service: 'http_status:404' }] } }],
    });

    const creds = await u.get(`/tunnels/${name}/credentials`);
    expect(creds.body).toEqual({
      AccountTag: stack.cf.accountId,
      TunnelSecret: cfView(stack.cf).tunnels.find((t) => t.id === id)!.secret,
      TunnelID: id,
      Endpoint: '',
    });

    const missing = await u.post(`/tunnels/${name}/routes`);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ message: "Missing parameter: 'service'" });

    const r1 = await u.post(`/tunnels/${name}/routes?service=${encodeURIComponent('http://localhost:8000')}`);
    expect(r1.body.result).toBe('ok');
    const r2 = await u.post(
      `/tunnels/${name}/routes?service=${encodeURIComponent('tcp://192.168.1.10:10000')}`,
    );
    const ingress = r2.body.tunnel.config.ingress;
    expect(ingress).toHaveLength(3);
    for (const rule of ingress.slice(0, 2)) {
      expect(cfView(stack.cf).records.find((r) => r.name === rule.hostname)).toMatchObject({
        content: `${id}.cfargotunnel.com`,
        proxied: true,
      });
    }
    expect(ingress[0].service).toBe('tcp://192.168.1.10:10000');
    expect(ingress[1].service).toBe('http://localhost:8000');
    expect(ingress[2]).toEqual({ service: 'http_status:404' });

    const cfg = parseYaml((await u.get(`/tunnels/${name}/config`)).text);
    expect(cfg.tunnel).toBe(id);
    expect(cfg.ingress).toEqual(ingress);

    const dr = await u.del(`/tunnels/${name}/routes?service=${encodeURIComponent('http://localhost:8000')}`);
    expect(dr.body.tunnel.config.ingress).toEqual([ingress[0], ingress[2]]);

    const dt = await u.del(`/tunnels/${name}`);
    expect(dt.body).toEqual({ result: 'ok', name });
    const cf = cfView(stack.cf);
    expect(cf.tunnels.find((t) => t.id === id)).toBeUndefined();
    expect(cf.records.filter((r) => r.content.startsWith(id))).toEqual([]);
  });

  it('answers 401 without or with bad credentials', async () => {
    const anon = await fetch(`${stack.url}/tunnels`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toContain('Basic');
    const bad = await stack.as('user1', 'wrong').get('/tunnels');
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('auth.invalid');
  });
});

describe('a hostname taken by a record Tunnelplane does not own', () => {
  it('fails that route alone, leaves the record untouched, and lets every other route go live', async () => {
    const u = stack.as('user1');
    const other = stack.as('user2');
    const t = (await u.post('/api/v1/tunnels', {})).body.name;
    const t2 = (await other.post('/api/v1/tunnels', {})).body.name;
    const foreign = await cfHand(stack.cf).createRecord({
      type: 'A',
      name: `api-${t}.example.com`,
      content: '192.0.2.10',
      proxied: false,
      comment: 'hand-made',
    });

    const [taken, fine, elsewhere] = await Promise.all([
      u.post(`/api/v1/tunnels/${t}/routes?wait=10`, { service: 'http://localhost:1', name: 'api' }),
      u.post(`/api/v1/tunnels/${t}/routes?wait=10`, { service: 'http://localhost:2', name: 'web' }),
      other.post(`/api/v1/tunnels/${t2}/routes?wait=10`, { service: 'http://localhost:3', name: 'app' }),
    ]);
    expect(fine.status).toBe(201);
    expect(elsewhere.status).toBe(201);
    expect(taken.status).toBe(202);
    const route = (await u.get(`/api/v1/tunnels/${t}/routes/api`)).body;
    expect(route.phase).toBe('error');
    expect(route.lastError).toMatch(/not managed by Tunnelplane/);
    expect(cfView(stack.cf).records.find((r) => r.id === foreign.id)).toMatchObject({
      type: 'A',
      content: '192.0.2.10',
      comment: 'hand-made',
    });
    expect((await u.get(`/api/v1/tunnels/${t}`)).body.phase).toBe('ready');

    // Once the record is gone, resync retries and the route goes live.
    await cfHand(stack.cf).deleteRecord(foreign.id);
    await stack.runtime.reconciler!.resync();
    await stack.runtime.reconciler!.drain();
    expect((await u.get(`/api/v1/tunnels/${t}/routes/api`)).body.phase).toBe('ready');
    await u.del(`/api/v1/tunnels/${t}`);
    await other.del(`/api/v1/tunnels/${t2}`);
    expect(cfView(stack.cf).records).toEqual([]);
  });
});

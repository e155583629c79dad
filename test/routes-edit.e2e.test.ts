/**
 * Routes as users need them (issue 16), through the API against the emulator: chosen hostnames
 * (and the reserved, taken and foreign ones refused with their own codes), changes in place with
 * PATCH guarded by If-Match (the hostname and record stay; only the objects concerned are written,
 * counted in the emulator's request log), Idempotency-Key on POSTs, cloudflared's origin options
 * in config.yaml and the remote configuration, Access groups and session length, and a tunnel
 * moved from local to remote configuration.
 */
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Api, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';
import { cfView } from './support/cloudflare-view.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: { access: { teamName: 'acme', identityProviderId: 'idp-okta-1', groupsClaim: 'groups' } },
  });
});
afterAll(async () => stack?.stop());

const writesSince = (since: number) =>
  stack.cf.control
    .requests({ since })
    .filter((r) => r.method !== 'GET' && r.status < 300)
    .map((r) => `${r.method} ${r.route}`);
const ready = (u: Api, tunnel: string, route: string) =>
  eventually(async () => {
    const r = await u.get(`/api/v1/tunnels/${tunnel}/routes/${route}`);
    return r.body.phase === 'ready' && r;
  });
const settled = (u: Api, tunnel: string) =>
  eventually(async () => {
    const t = await u.get(`/api/v1/tunnels/${tunnel}`);
    return t.body.observedGeneration >= t.body.generation && t.body.phase === 'ready' && t;
  });
const remoteIngress = (cfTunnelId: string) =>
  cfView(stack.cf).tunnels.find((t) => t.id === cfTunnelId)!.ingress!;
const appOf = (hostname: string) =>
  (stack.cf.control.state() as any).accessApps.find((a: any) => a.fields.domain === hostname);

describe('chosen hostnames', () => {
  it('give <label>.<zone>, and refuse reserved, taken, foreign and deeper names with their own codes', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels', { name: 'chosen' })).body.name;
    const mine = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:8000',
      hostname: 'myapp',
    });
    expect(mine.status).toBe(201);
    expect(mine.body).toMatchObject({ hostname: 'myapp.example.com', name: 'myapp', phase: 'ready' });
    expect(cfView(stack.cf).records.find((r) => r.name === 'myapp.example.com')).toBeTruthy();
    // The full name under the zone works as well as the label.
    const full = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:8001',
      hostname: 'My-Other-App.example.com',
    });
    expect(full.status).toBe(201);
    expect(full.body.hostname).toBe('my-other-app.example.com');

    const refused = async (hostname: string) =>
      (await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:8002', hostname })).body
        .error;
    expect((await refused('www')).code).toBe('route.hostname_reserved');
    expect((await refused('ns1')).code).toBe('route.hostname_reserved'); // a pattern: ns*
    expect((await refused('a.b')).code).toBe('route.invalid_hostname'); // two labels under the zone
    expect((await refused('app.other.org')).code).toBe('route.invalid_hostname');
    expect((await refused('-x')).code).toBe('route.invalid_hostname');

    // Another user cannot take it.
    const u2 = stack.as('user2');
    const t2 = (await u2.post('/api/v1/tunnels', { name: 'chosen2' })).body.name;
    const taken = await u2.post(`/api/v1/tunnels/${t2}/routes`, {
      service: 'http://localhost:1',
      hostname: 'myapp',
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('route.hostname_taken');

    // A record Tunnelplane did not make holds the name: refused at once, and left alone.
    const foreign = await cfHand(stack.cf).createRecord({
      type: 'A',
      name: 'legacy.example.com',
      content: '192.0.2.1',
    });
    const held = await u2.post(`/api/v1/tunnels/${t2}/routes`, {
      service: 'http://localhost:1',
      hostname: 'legacy',
    });
    expect(held.status).toBe(409);
    expect(held.body.error.code).toBe('route.hostname_foreign');
    expect(cfView(stack.cf).records.find((r) => r.id === foreign.id)).toMatchObject({ content: '192.0.2.1' });
    expect((await u2.get(`/api/v1/tunnels/${t2}/routes`)).body.items).toEqual([]);
  });
});

describe('PATCH on routes', () => {
  it('changes the service, then the protection, keeping the hostname and record, writing only what changed', async () => {
    const u = stack.as('user1');
    const t = await u.post('/api/v1/tunnels', { name: 'patched', configMode: 'remote' });
    expect(t.status).toBe(201);
    const cfTunnelId = t.body.id as string;
    const created = await u.post(`/api/v1/tunnels/patched/routes`, {
      service: 'http://localhost:8000',
      name: 'web',
    });
    expect(created.status).toBe(201);
    const hostname = created.body.hostname as string;
    const recordId = cfView(stack.cf).records.find((r) => r.name === hostname)!.id;
    await settled(u, 'patched');

    const got = await u.get('/api/v1/tunnels/patched/routes/web');
    const etag = got.headers.get('etag')!;
    expect(etag).toBe(`"${got.body.generation}"`);

    // The service: one configuration PUT, nothing else.
    let since = Date.now();
    const s = await u.request(
      'PATCH',
      '/api/v1/tunnels/patched/routes/web',
      { service: 'http://localhost:9000' },
      { 'if-match': etag },
    );
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({
      hostname,
      service: 'http://localhost:9000',
      generation: got.body.generation + 1,
    });
    expect(s.headers.get('etag')).toBe(`"${got.body.generation + 1}"`);
    await eventually(() => remoteIngress(cfTunnelId).some((r) => r.service === 'http://localhost:9000'));
    await settled(u, 'patched');
    expect(writesSince(since)).toEqual(['PUT /accounts/:account/cfd_tunnel/:tunnel/configurations']);

    // A stale If-Match changes nothing.
    const stale = await u.request(
      'PATCH',
      '/api/v1/tunnels/patched/routes/web',
      { service: 'http://localhost:1' },
      { 'if-match': etag },
    );
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({
      code: 'request.precondition_failed',
      details: { generation: got.body.generation + 1 },
    });
    expect((await u.get('/api/v1/tunnels/patched/routes/web')).body.service).toBe('http://localhost:9000');
    expect(
      (
        await u.request(
          'PATCH',
          '/api/v1/tunnels/patched/routes/web',
          { service: 'http://x:1' },
          { 'if-match': 'W/"x"' },
        )
      ).body.error.code,
    ).toBe('request.invalid_precondition');

    // An allow-list: its own Access application, made before anything else; the record stays.
    since = Date.now();
    const p = await u.request('PATCH', '/api/v1/tunnels/patched/routes/web', {
      allowIps: ['203.0.113.0/24'],
    });
    expect(p.status).toBe(200);
    expect(p.body.protectedBy).toBe('allow-list');
    await ready(u, 'patched', 'web');
    await settled(u, 'patched');
    expect(writesSince(since)).toEqual(['POST /accounts/:account/access/apps']);
    expect(stack.cf.control.evaluateAccess(appOf(hostname).id, { ip: '203.0.113.5' }).admitted).toBe(true);
    expect(stack.cf.control.evaluateAccess(appOf(hostname).id, { ip: '198.51.100.1' }).admitted).toBe(false);

    // People, and a session length: the same application is replaced, nothing else.
    since = Date.now();
    const people = await u.request('PATCH', '/api/v1/tunnels/patched/routes/web', {
      access: { emails: ['ada@example.org'], groups: ['platform'], sessionDuration: '8h' },
    });
    expect(people.status).toBe(200);
    expect(people.body.access).toEqual({
      emails: ['ada@example.org'],
      emailDomains: [],
      groups: ['platform'],
      sessionDuration: '8h',
    });
    await eventually(() => appOf(hostname).fields.session_duration === '8h');
    await settled(u, 'patched');
    expect(writesSince(since)).toEqual(['PUT /accounts/:account/access/apps/:app']);
    const app = appOf(hostname);
    const inGroup = {
      ip: '203.0.113.5',
      email: 'cy@example.org',
      oidc: { idp: 'idp-okta-1', claims: { groups: ['platform'] } },
    };
    expect(stack.cf.control.evaluateAccess(app.id, inGroup).admitted).toBe(true);
    expect(
      stack.cf.control.evaluateAccess(app.id, {
        ...inGroup,
        oidc: { idp: 'idp-okta-1', claims: { groups: ['data'] } },
      }).admitted,
    ).toBe(false);
    expect(
      stack.cf.control.evaluateAccess(app.id, { ip: '203.0.113.5', email: 'ada@example.org' }).admitted,
    ).toBe(true);
    expect(
      stack.cf.control.evaluateAccess(app.id, { ip: '198.51.100.1', email: 'ada@example.org' }).admitted,
    ).toBe(false);

    // Protection removed: the application goes, the record stays.
    since = Date.now();
    const open = await u.request('PATCH', '/api/v1/tunnels/patched/routes/web', {
      allowIps: null,
      access: null,
    });
    expect(open.body.protectedBy).toBeNull();
    await eventually(() => !appOf(hostname));
    await settled(u, 'patched');
    expect(writesSince(since)).toEqual(['DELETE /accounts/:account/access/apps/:app']);

    expect(
      cfView(stack.cf)
        .records.filter((r) => r.name === hostname)
        .map((r) => r.id),
    ).toEqual([recordId]);
    expect((await u.get('/api/v1/tunnels/patched/routes/web')).body.hostname).toBe(hostname);
  });

  it('refuses what cannot change in place, and what is not yours', async () => {
    const u = stack.as('user1');
    await u.post('/api/v1/tunnels', { name: 'fixed' });
    await u.post('/api/v1/tunnels/fixed/routes', { service: 'http://localhost:8000', name: 'web' });
    const tcp = await u.request('PATCH', '/api/v1/tunnels/fixed/routes/web', {
      service: 'tcp://localhost:5432',
    });
    expect(tcp.status).toBe(400);
    expect(tcp.body.error.code).toBe('route.protocol_change');
    const empty = await u.request('PATCH', '/api/v1/tunnels/fixed/routes/web', {});
    expect(empty.status).toBe(400);
    const other = await stack
      .as('user2')
      .request('PATCH', '/api/v1/tunnels/fixed/routes/web', { service: 'http://localhost:1' });
    expect(other.status).toBe(404);
    expect((await u.get('/api/v1/tunnels/fixed/routes/web')).body.service).toBe('http://localhost:8000');
  });
});

describe('Idempotency-Key', () => {
  it('answers a retried create with the first answer, creating and counting one tunnel', async () => {
    const u = stack.as('user2');
    const before = cfView(stack.cf).tunnels.length;
    const used = (await u.get('/api/v1/me')).body.usage.tunnels as number;
    const headers = { 'idempotency-key': 'c0ffee-1' };
    const first = await u.request('POST', '/api/v1/tunnels', { name: 'once' }, headers);
    const again = await u.request('POST', '/api/v1/tunnels', { name: 'once' }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(cfView(stack.cf).tunnels.length).toBe(before + 1);
    const me = (await u.get('/api/v1/me')).body;
    expect(me.usage.tunnels).toBe(used + 1);
    const own = (await u.get('/api/v1/tunnels')).body.items.filter((t: any) => t.name === 'once');
    expect(own).toHaveLength(1);

    // The same key for another request is refused; the same key of another user is theirs.
    const reused = await u.request('POST', '/api/v1/tunnels', { name: 'twice' }, headers);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency.key_reused');
    const theirs = await stack.as('user1').request('POST', '/api/v1/tunnels', { name: 'theirs' }, headers);
    expect(theirs.status).toBe(201);

    // Routes too: one route for two POSTs.
    const rh = { 'idempotency-key': 'route-1' };
    const r1 = await u.request(
      'POST',
      '/api/v1/tunnels/once/routes',
      { service: 'http://localhost:3000' },
      rh,
    );
    const r2 = await u.request(
      'POST',
      '/api/v1/tunnels/once/routes',
      { service: 'http://localhost:3000' },
      rh,
    );
    expect(r2.body).toEqual(r1.body);
    expect((await u.get('/api/v1/tunnels/once/routes')).body.items).toHaveLength(1);

    // A refused first request is not kept: a retry runs again.
    const bad = { 'idempotency-key': 'bad-1' };
    expect((await u.request('POST', '/api/v1/tunnels/once/routes', { service: 'ftp://x' }, bad)).status).toBe(
      400,
    );
    expect((await u.request('POST', '/api/v1/tunnels/once/routes', { service: 'ftp://x' }, bad)).status).toBe(
      400,
    );
    expect(
      (await u.request('POST', '/api/v1/tunnels', {}, { 'idempotency-key': 'bad key with spaces' })).body
        .error.code,
    ).toBe('request.invalid_idempotency_key');
  });
});

describe('origin request options', () => {
  const options = {
    noTLSVerify: true,
    originServerName: 'origin.internal',
    httpHostHeader: 'app.internal',
    connectTimeout: '10s',
    keepAliveTimeout: 60,
    disableChunkedEncoding: true,
    http2Origin: true,
  };

  it('appear in config.yaml (Go durations) and the remote configuration (integer seconds) in cloudflared key names', async () => {
    const u = stack.as('user1');
    await u.post('/api/v1/tunnels', { name: 'originl', configMode: 'local' });
    const l = await u.post('/api/v1/tunnels/originl/routes', {
      service: 'https://localhost:8443',
      name: 'tls',
      originRequest: { ...options, caPool: '/etc/cloudflared/ca.pem' },
    });
    expect(l.status).toBe(201);
    expect(l.body.originRequest).toMatchObject({ connectTimeout: 10, caPool: '/etc/cloudflared/ca.pem' });
    const yaml = parse((await u.get('/api/v1/tunnels/originl/config')).text);
    expect(yaml.ingress[0]).toEqual({
      hostname: l.body.hostname,
      service: 'https://localhost:8443',
      originRequest: {
        noTLSVerify: true,
        originServerName: 'origin.internal',
        caPool: '/etc/cloudflared/ca.pem',
        httpHostHeader: 'app.internal',
        disableChunkedEncoding: true,
        http2Origin: true,
        keepAliveTimeout: '60s',
        connectTimeout: '10s',
      },
    });

    const t = await u.post('/api/v1/tunnels', { name: 'originr', configMode: 'remote' });
    const r = await u.post('/api/v1/tunnels/originr/routes', {
      service: 'https://localhost:8443',
      name: 'tls',
      allowIps: ['203.0.113.0/24'],
      originRequest: { ...options, access: { required: true } },
    });
    expect(r.status).toBe(201);
    const aud = appOf(r.body.hostname).aud as string;
    const rule = await eventually(
      () => remoteIngress(t.body.id).find((x: any) => x.hostname === r.body.hostname) as any,
    );
    expect(rule.originRequest).toEqual({
      noTLSVerify: true,
      originServerName: 'origin.internal',
      httpHostHeader: 'app.internal',
      disableChunkedEncoding: true,
      http2Origin: true,
      keepAliveTimeout: 60,
      connectTimeout: 10,
      access: { required: true, teamName: 'acme', audTag: [aud] },
    });
  });

  it('are refused as cloudflared would, or where they mean nothing', async () => {
    const u = stack.as('user1');
    await u.post('/api/v1/tunnels', { name: 'originbad', configMode: 'remote' });
    const add = async (service: string, originRequest: unknown) =>
      (await u.post('/api/v1/tunnels/originbad/routes', { service, originRequest })).body.error;
    expect(await add('https://h:1', { caPool: '/ca.pem' })).toMatchObject({
      code: 'route.invalid_origin_request',
      details: { field: 'caPool' },
    });
    expect((await add('http://h:1', { noTLSVerify: true })).code).toBe('route.invalid_origin_request');
    expect((await add('https://h:1', { connectTimeout: '1.5s' })).code).toBe('route.invalid_origin_request');
    expect((await add('https://h:1', { connectTimeout: 'soon' })).code).toBe('route.invalid_origin_request');
    expect((await add('https://h:1', { noTLSVerify: 'yes' })).code).toBe('route.invalid_origin_request');
    expect((await add('https://h:1', { bogus: 1 })).code).toBe('route.invalid_origin_request');
    expect((await add('tcp://h:5432', { httpHostHeader: 'x' })).code).toBe('route.invalid_origin_request');
    // The JWT check needs Access on the route.
    expect((await add('https://h:1', { access: { required: true } })).code).toBe(
      'route.invalid_origin_request',
    );
    expect((await u.get('/api/v1/tunnels/originbad/routes')).body.items).toEqual([]);
  });
});

describe('PATCH on tunnels', () => {
  it('moves a tunnel from local to remote configuration (its ingress is PUT), never back', async () => {
    const u = stack.as('user2');
    const t = await u.post('/api/v1/tunnels', { name: 'moving', configMode: 'local' });
    await u.post('/api/v1/tunnels/moving/routes', { service: 'http://localhost:8000', name: 'web' });
    const got = (await settled(u, 'moving')) as Awaited<ReturnType<Api['get']>>;
    expect(remoteIngress(t.body.id)).toBeNull();
    const stale = await u.request(
      'PATCH',
      '/api/v1/tunnels/moving',
      { configMode: 'remote' },
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(412);
    const moved = await u.request(
      'PATCH',
      '/api/v1/tunnels/moving',
      { configMode: 'remote' },
      { 'if-match': got.headers.get('etag')! },
    );
    expect(moved.status).toBe(200);
    expect(moved.body.configMode).toBe('remote');
    await eventually(() => remoteIngress(t.body.id)?.some((r) => r.service === 'http://localhost:8000'));
    const back = await u.request('PATCH', '/api/v1/tunnels/moving', { configMode: 'local' });
    expect(back.status).toBe(400);
    expect(back.body.error.code).toBe('tunnel.config_mode_change');
  });
});

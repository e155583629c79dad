// Test controls: fault injection (errors, latency, hang, reset, drop-after-write) seen
// through the SDK's retry logic, the rate limit (429 + headers, recovery after the window),
// request log and stats, reset, and the same operations over HTTP under /__emulator/.
import Cloudflare, {
  APIConnectionError,
  APIConnectionTimeoutError,
  ConflictError,
  InternalServerError,
  RateLimitError,
} from 'cloudflare';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudflareEmulator, type StartedCloudflareEmulator } from './index.js';

let emu: StartedCloudflareEmulator;

function client(options: Partial<ConstructorParameters<typeof Cloudflare>[0]> = {}): Cloudflare {
  return new Cloudflare({
    apiToken: emu.token,
    baseURL: emu.url,
    apiKey: null,
    apiEmail: null,
    maxRetries: 0,
    ...options,
  });
}

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${emu.origin}/__emulator${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  emu = await startCloudflareEmulator({ retryAfterSeconds: 1 });
});
afterAll(async () => emu.close());
beforeEach(() => emu.control.reset());

describe('faults seen through the SDK', () => {
  it('retries an injected 5xx and succeeds (X-Stainless-Retry-Count in the log)', async () => {
    const id = emu.control.addFault({
      method: 'POST',
      path: '/accounts/*/cfd_tunnel',
      action: { type: 'error', status: 503, code: 10001, message: 'Service unavailable', retryAfter: 0 },
    });
    const tunnel = await client({ maxRetries: 2 }).zeroTrust.tunnels.cloudflared.create({
      account_id: emu.accountId,
      name: 'retried',
    });
    expect(tunnel.name).toBe('retried');
    const posts = emu.control.requests({ method: 'POST', route: '/accounts/:account/cfd_tunnel' });
    expect(posts.map((r) => [r.status, r.retryCount, r.faultId])).toEqual([
      [503, 0, id],
      [200, 1, undefined],
    ]);
    expect(emu.control.faults()[0]).toMatchObject({ id, matched: 1, injected: 1, remaining: 0 });
  });

  it('surfaces InternalServerError once retries are spent, using the default backoff', async () => {
    emu.control.addFault({ path: '/user/tokens/verify', times: 2, action: { type: 'error', status: 500 } });
    await expect(client({ maxRetries: 1 }).user.tokens.verify()).rejects.toBeInstanceOf(InternalServerError);
    expect(emu.control.requests().map((r) => r.retryCount)).toEqual([0, 1]);
  });

  it('retries a 429 after its small retry-after', async () => {
    emu.control.addFault({
      method: 'GET',
      path: '/zones',
      action: {
        type: 'error',
        status: 429,
        code: 971,
        message: 'Please wait and consider throttling your request speed',
        retryAfter: 0,
      },
    });
    const zones = await client({ maxRetries: 2 }).zones.list();
    expect(zones.result).toHaveLength(1);
    expect(emu.control.requests().map((r) => r.status)).toEqual([429, 200]);
    expect(emu.control.stats().rateLimited).toBe(1);
  });

  it('drop-after-write: the change is applied but the client sees a connection error', async () => {
    emu.control.addFault({
      method: 'POST',
      path: '/client/v4/accounts/*/cfd_tunnel',
      action: { type: 'drop-after-write' },
    });
    const error = await client()
      .zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'ghost' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(emu.control.state().tunnels.map((t) => t.name)).toEqual(['ghost']);
    expect(emu.control.requests()[0]).toMatchObject({ outcome: 'dropped-after-write', status: 200 });
  });

  it('drop-after-write then an SDK retry: the retry meets the tunnel it created (409/1013)', async () => {
    emu.control.addFault({ method: 'POST', path: '/accounts/**', action: { type: 'drop-after-write' } });
    const error = await client({ maxRetries: 1 })
      .zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'twice' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).errors[0]?.code).toBe(1013);
    expect(emu.control.state().tunnels).toHaveLength(1);
  });

  it('hang: the client times out; reset: the client sees a connection error', async () => {
    emu.control.addFault({ method: 'GET', path: '/accounts/*/cfd_tunnel', action: { type: 'hang' } });
    const hung = await client({ timeout: 150 })
      .zeroTrust.tunnels.cloudflared.list({ account_id: emu.accountId })
      .catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(APIConnectionTimeoutError);
    expect(emu.control.requests()[0]).toMatchObject({ outcome: 'hang', status: 0 });

    emu.control.addFault({ method: 'GET', pathRegex: '^/zones$', action: { type: 'reset' } });
    const reset = await client()
      .zones.list()
      .catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(APIConnectionError);
    expect(reset).not.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('adds latency per rule and globally', async () => {
    emu.control.addFault({ path: '/user/**', times: 1, action: { type: 'latency', ms: 80 } });
    let started = Date.now();
    await client().user.tokens.verify();
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    emu.control.setLatency(50);
    started = Date.now();
    await client().user.tokens.verify();
    await client().user.tokens.verify();
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('fails a seeded fraction of calls, the same way on every run', async () => {
    const run = async () => {
      emu.control.clearFaults();
      emu.control.addFault({
        path: '/user/tokens/verify',
        probability: 0.5,
        seed: 42,
        action: { type: 'error', status: 502 },
      });
      const statuses: number[] = [];
      for (let i = 0; i < 16; i += 1) {
        const res = await fetch(`${emu.url}/user/tokens/verify`, {
          headers: { authorization: `Bearer ${emu.token}` },
        });
        statuses.push(res.status);
      }
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failed = first.filter((s) => s === 502).length;
    expect(failed).toBeGreaterThan(2);
    expect(failed).toBeLessThan(14);
  });

  it('answers an injected error with a verbatim body when one is given', async () => {
    emu.control.addFault({
      path: '/zones',
      action: { type: 'error', status: 418, body: { teapot: true }, headers: { 'x-extra': 'yes' } },
    });
    const res = await fetch(`${emu.url}/zones`, { headers: { authorization: `Bearer ${emu.token}` } });
    expect(res.status).toBe(418);
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(await res.json()).toEqual({ teapot: true });
  });
});

describe('rate limit', () => {
  it('sends 429/971 with retry-after and Ratelimit headers past the budget, then recovers', async () => {
    emu.control.setRateLimit({ requests: 3, windowSeconds: 2 });
    const cf = client();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await cf.user.tokens.verify().asResponse();
      remaining.push(res.headers.get('ratelimit') ?? '');
      expect(res.headers.get('ratelimit-policy')).toBe('"burst";q=3;w=2');
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect(remaining.map((h) => /r=(\d+)/.exec(h)?.[1])).toEqual(['2', '1', '0']);

    const limited = (await cf.zones.list().catch((e: unknown) => e)) as RateLimitError;
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.errors).toEqual([
      { code: 971, message: 'Please wait and consider throttling your request speed' },
    ]);
    expect(limited.headers?.get('retry-after')).toBe('1');
    expect(limited.headers?.get('ratelimit')).toMatch(/^"default";r=0;t=[012]$/);
    expect(limited.headers?.get('ratelimit-policy')).toBe('"burst";q=3;w=2');
    await expect(cf.user.tokens.verify()).rejects.toBeInstanceOf(RateLimitError); // every call is blocked

    // The SDK honours retry-after (capped at 1 s here) and succeeds once the window is over.
    const verified = await client({ maxRetries: 4 }).user.tokens.verify();
    expect(verified.status).toBe('active');
    expect(emu.control.stats().rateLimited).toBeGreaterThanOrEqual(3);
  });

  it('counts the budget per token', async () => {
    emu.control.setRateLimit({ requests: 1, windowSeconds: 60 });
    await client().user.tokens.verify();
    await expect(client().user.tokens.verify()).rejects.toBeInstanceOf(RateLimitError);
    const other = new Cloudflare({
      apiToken: emu.control.addToken(),
      baseURL: emu.url,
      apiKey: null,
      apiEmail: null,
      maxRetries: 0,
    });
    expect((await other.user.tokens.verify()).status).toBe('active');
  });

  it('sends the real window length in retry-after when no cap is set', async () => {
    const uncapped = await startCloudflareEmulator({ rateLimit: { requests: 1, windowSeconds: 300 } });
    try {
      const call = () =>
        fetch(`${uncapped.url}/user/tokens/verify`, {
          headers: { authorization: `Bearer ${uncapped.token}` },
        });
      expect((await call()).headers.get('ratelimit')).toBe('"default";r=0;t=300');
      const res = await call();
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(299);
    } finally {
      await uncapped.close();
    }
  });
});

describe('request log, stats and reset', () => {
  it('filters the log by method, path prefix/regex, route and time', async () => {
    const cf = client();
    const t = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'logged' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const mark = Date.now();
    await cf.zeroTrust.tunnels.cloudflared.get(t.id ?? '', { account_id: emu.accountId });
    await cf.dns.records.create({ zone_id: emu.zoneId, type: 'A', name: 'l', content: '192.0.2.1', ttl: 1 });
    const all = emu.control.requests();
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({
      method: 'POST',
      path: `/accounts/${emu.accountId}/cfd_tunnel`,
      status: 200,
      body: { name: 'logged' },
    });
    expect(all[0]?.headers.authorization).toBe(`…${emu.token.slice(-4)}`);
    expect(emu.control.requests({ method: 'post' })).toHaveLength(2);
    expect(emu.control.requests({ pathPrefix: '/zones/' })).toHaveLength(1);
    expect(emu.control.requests({ pathRegex: /cfd_tunnel\/[0-9a-f-]{36}$/ })).toHaveLength(1);
    expect(emu.control.requests({ route: '/zones/:zone/dns_records' })).toHaveLength(1);
    expect(emu.control.requests({ since: mark }).map((r) => r.method)).toEqual(['GET', 'POST']);
    emu.control.clearRequests();
    expect(emu.control.requests()).toEqual([]);
    expect(emu.control.stats().total).toBe(3);
  });

  it('counts calls by route template and status', async () => {
    const cf = client();
    await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'one' });
    await cf.zeroTrust.tunnels.cloudflared
      .create({ account_id: emu.accountId, name: 'one' })
      .catch(() => undefined);
    await cf.dns.records.list({ zone_id: emu.zoneId });
    await fetch(`${emu.url}/nope`);
    const stats = emu.control.stats();
    expect(stats.byRoute).toEqual({
      'POST /accounts/:account/cfd_tunnel': 2,
      'GET /zones/:zone/dns_records': 1,
      'GET (unmatched)': 1,
    });
    expect(stats.byStatus).toEqual({ '200': 2, '409': 1, '400': 1 });
    expect(emu.control.requests({ status: 409 }).map((r) => [r.method, r.route])).toEqual([
      ['POST', '/accounts/:account/cfd_tunnel'],
    ]);
    expect(emu.control.requests({ status: 400 }).map((r) => r.path)).toEqual(['/nope']);
    expect(emu.control.requests({ status: 200 })).toHaveLength(2);
    expect(emu.control.requests({ status: 500 })).toEqual([]);
    const overHttp = (await control('GET', '/requests?status=409')).json as Array<{ status: number }>;
    expect(overHttp.map((r) => r.status)).toEqual([409]);
    expect(stats).toMatchObject({ total: 4, rateLimited: 0, faultsInjected: 0 });
    emu.control.resetStats();
    expect(emu.control.stats().total).toBe(0);
  });

  it('reset() drops resources and extra tokens/zones but keeps the start identity', async () => {
    const cf = client();
    await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'gone' });
    const extra = emu.control.addToken();
    emu.control.addZone('extra.example');
    emu.control.setLatency(5);
    emu.control.reset();
    const state = emu.control.state();
    expect(state.tunnels).toEqual([]);
    expect(state.zones.map((z) => z.name)).toEqual(['example.com']);
    expect(state.apiTokens.map((t) => t.value)).toEqual([emu.token]);
    expect(state.apiTokens.some((t) => t.value === extra)).toBe(false);
    expect((await cf.user.tokens.verify()).status).toBe('active');
  });

  it('keeps each zone apart: its own records, plan (comment length, batch size) and record quota', async () => {
    const cf = client();
    const second = emu.control.addZone('second.example', 'pro', { recordQuota: 2 });
    const cname = (name: string, comment = 'c') =>
      ({ type: 'CNAME', name, content: 'x.cfargotunnel.com', proxied: true, ttl: 1, comment }) as const;
    // The same name in two zones: two records, each listed only in its own zone.
    await cf.dns.records.create({ zone_id: emu.zoneId, ...cname('a') });
    const inSecond = await cf.dns.records.create({ zone_id: second.id, ...cname('a', 'p'.repeat(300)) });
    expect(inSecond.name).toBe('a.second.example');
    const names = async (zoneId: string) =>
      (await cf.dns.records.list({ zone_id: zoneId })).result.map((r) => r.name);
    expect(await names(emu.zoneId)).toEqual(['a.example.com']);
    expect(await names(second.id)).toEqual(['a.second.example']);
    // A 300-character comment is a Pro zone's right, not a Free zone's.
    await expect(
      cf.dns.records.create({ zone_id: emu.zoneId, ...cname('b', 'p'.repeat(300)) }),
    ).rejects.toThrow();
    // The second zone's quota (2) is its own: full there, room left in the first.
    await cf.dns.records.create({ zone_id: second.id, ...cname('b') });
    await expect(cf.dns.records.create({ zone_id: second.id, ...cname('c') })).rejects.toMatchObject({
      status: 400,
      errors: [expect.objectContaining({ code: 81045 })],
    });
    await cf.dns.records.create({ zone_id: emu.zoneId, ...cname('c') });
    // Batches follow each zone's plan: 201 operations are too many on Free only.
    const posts = Array.from({ length: 201 }, (_, i) => cname(`n${i}`));
    await expect(cf.dns.records.batch({ zone_id: emu.zoneId, posts })).rejects.toMatchObject({ status: 400 });
    await expect(cf.dns.records.batch({ zone_id: second.id, posts })).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 81045 })],
    });
    expect(() => emu.control.addZone('third.example', 'free', { recordQuota: -1 })).toThrow(/recordQuota/);
    emu.control.reset();
  });

  it('returns a deep copy from state()', () => {
    const state = emu.control.state();
    state.zones.length = 0;
    expect(emu.control.state().zones).toHaveLength(1);
  });

  it('rejects bad control input', () => {
    expect(() => emu.control.addFault({ action: { type: 'explode' } as never })).toThrow(/action.type/);
    for (const status of [99, 100, 101, 199, 600, 200.5]) {
      expect(() => emu.control.addFault({ action: { type: 'error', status } }), String(status)).toThrow(
        /status must be an HTTP status from 200 to 599/,
      );
    }
    expect(emu.control.faults()).toEqual([]);
    expect(emu.control.addFault({ action: { type: 'error', status: 200 } })).toMatch(/^fault-/);
    expect(emu.control.addFault({ action: { type: 'error', status: 599 } })).toMatch(/^fault-/);
    expect(() => emu.control.setRateLimit({ requests: 0, windowSeconds: 1 })).toThrow(/positive/);
    expect(() => emu.control.attachConnector('00000000-0000-4000-8000-000000000000')).toThrow(
      /unknown tunnel/,
    );
    expect(() => emu.control.addZone('not a zone')).toThrow(/invalid zone name/);
  });

  it('caps simulated connections per connector at 16', async () => {
    const t = await client().zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'cap' });
    const id = t.id ?? '';
    for (const connections of [0, 17, 1e9, 2.5]) {
      expect(() => emu.control.attachConnector(id, { connections }), String(connections)).toThrow(
        /connections must be an integer from 1 to 16/,
      );
    }
    expect((await control('POST', `/tunnels/${id}/connectors`, { connections: 100000 })).status).toBe(400);
    emu.control.attachConnector(id, { connections: 16 });
    expect(emu.control.state().tunnels[0]?.connectors[0]?.conns).toHaveLength(16);
  });
});

describe('request size', () => {
  const post = (body: string) =>
    fetch(`${emu.url}/zones/${emu.zoneId}/dns_records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
      body,
    });
  const padded = (bytes: number) => {
    const head = '{"type":"TXT","name":"big","ttl":1,"content":"';
    return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
  };

  it('answers 413 to bodies over 1 MiB and keeps them out of the log', async () => {
    const limit = 1024 * 1024;
    const atLimit = await post(padded(limit));
    expect(atLimit.status).toBe(400); // read and validated (TXT content too long), not refused for size
    const over = await post(padded(limit + 1));
    expect(over.status).toBe(413);
    expect(over.headers.get('content-type')).toBe('application/json');
    expect(await over.json()).toEqual({
      success: false,
      errors: [{ code: 10013, message: 'Request body too large: the limit is 1048576 bytes' }],
      messages: [],
      result: null,
    });
    expect(emu.control.state().dnsRecords).toEqual([]);
    const [, logged] = emu.control.requests();
    expect(logged).toMatchObject({ status: 413, route: '/zones/:zone/dns_records' });
    expect(logged?.body).toBe('[request body of 1048577 bytes not kept]');
    expect(emu.control.stats().byStatus['413']).toBe(1);
  });

  it('refuses oversized control bodies too', async () => {
    const res = await control('POST', '/faults', { action: { type: 'hang' }, pad: 'x'.repeat(1024 * 1024) });
    expect(res.status).toBe(413);
    expect(emu.control.faults()).toEqual([]);
  });
});

describe('control over HTTP (/__emulator/)', () => {
  it('serves every operation as JSON without authentication', async () => {
    expect((await control('GET', '/info')).json).toEqual({
      url: emu.url,
      origin: emu.origin,
      accountId: emu.accountId,
      zoneId: emu.zoneId,
      zoneName: emu.zoneName,
      token: emu.token,
    });

    const tunnel = await client().zeroTrust.tunnels.cloudflared.create({
      account_id: emu.accountId,
      name: 'http',
    });
    const attached = await control('POST', `/tunnels/${tunnel.id}/connectors`, { connections: 2 });
    expect(attached.status).toBe(201);
    const connectorId = (attached.json as { connectorId: string }).connectorId;
    expect(
      (await client().zeroTrust.tunnels.cloudflared.get(tunnel.id ?? '', { account_id: emu.accountId }))
        .status,
    ).toBe('degraded');
    expect((await control('DELETE', `/tunnels/${tunnel.id}/connectors/${connectorId}`)).status).toBe(200);
    expect((await control('DELETE', `/tunnels/${tunnel.id}/connectors/${connectorId}`)).status).toBe(404);
    expect(
      (await control('POST', '/tunnels/00000000-0000-4000-8000-000000000000/connectors', {})).status,
    ).toBe(404);

    const fault = await control('POST', '/faults', {
      method: 'GET',
      path: '/zones',
      action: { type: 'error', status: 500 },
    });
    expect(fault.status).toBe(201);
    const faultId = (fault.json as { id: string }).id;
    expect((await control('GET', '/faults')).json).toEqual([
      expect.objectContaining({ id: faultId, remaining: 1 }),
    ]);
    expect((await control('DELETE', `/faults/${faultId}`)).status).toBe(200);
    expect((await control('POST', '/faults', { action: { type: 'nope' } })).status).toBe(400);

    const token = ((await control('POST', '/tokens', { readOnly: true })).json as { token: string }).token;
    const ro = new Cloudflare({
      apiToken: token,
      baseURL: emu.url,
      apiKey: null,
      apiEmail: null,
      maxRetries: 0,
    });
    expect((await ro.user.tokens.verify()).status).toBe('active');
    const zone = await control('POST', '/zones', { name: 'http.example', plan: 'pro' });
    expect(zone).toMatchObject({
      status: 201,
      json: { name: 'http.example', plan: 'pro', accountId: emu.accountId },
    });

    expect((await control('PUT', '/latency', { ms: 0 })).status).toBe(200);
    expect((await control('PUT', '/rate-limit', { requests: 100, windowSeconds: 10 })).status).toBe(200);
    expect((await control('POST', '/faults', { action: { type: 'error', status: 100 } })).status).toBe(400);
    await client().zones.list();
    const requests = await control(
      'GET',
      `/requests?method=GET&pathPrefix=/zones&since=${new Date(Date.now() - 60_000).toISOString()}`,
    );
    expect(requests.json).toEqual([expect.objectContaining({ method: 'GET', path: '/zones', status: 200 })]);
    expect(
      ((await control('GET', '/stats')).json as { byRoute: Record<string, number> }).byRoute['GET /zones'],
    ).toBe(1);
    const state = (await control('GET', '/state')).json as { tunnels: Array<{ name: string }> };
    expect(state.tunnels.map((t) => t.name)).toEqual(['http']);

    expect((await control('DELETE', '/requests')).status).toBe(200);
    expect((await control('DELETE', '/stats')).status).toBe(200);
    expect((await control('POST', '/reset')).status).toBe(200);
    expect(emu.control.state().tunnels).toEqual([]);
    expect((await control('GET', '/nothing')).status).toBe(404);
    expect(emu.control.requests()).toEqual([]); // control calls are never logged
  });

  it('serves Access limits, service-token expiry, application policies and evaluation', async () => {
    const access = client().zeroTrust.access;
    expect((await control('GET', '/access-limits')).json).toMatchObject({
      serviceTokens: 50,
      applications: 500,
    });
    expect(await control('PUT', '/access-limits', { serviceTokens: 1 })).toMatchObject({
      status: 200,
      json: { serviceTokens: 1, applications: 500 },
    });
    expect((await control('PUT', '/access-limits', { serviceTokens: 'many' })).status).toBe(400);
    const token = await access.serviceTokens.create({ account_id: emu.accountId, name: 'ci' });
    await expect(access.serviceTokens.create({ account_id: emu.accountId, name: 'more' })).rejects.toThrow(
      /12142/,
    );

    const soon = new Date(Date.now() + 30_000).toISOString();
    expect((await control('PUT', `/service-tokens/${token.id}/expiry`, { expiresAt: soon })).status).toBe(
      200,
    );
    const got = await access.serviceTokens.get(token.id ?? '', { account_id: emu.accountId });
    expect(Date.parse(got.expires_at ?? '')).toBe(Date.parse(soon));
    expect((await control('PUT', `/service-tokens/${token.id}/expiry`, { expiresAt: true })).status).toBe(
      400,
    );
    expect(
      (
        await control('PUT', '/service-tokens/f174e90a-fafe-4643-bbbc-4a0ed4fc8415/expiry', {
          expiresAt: null,
        })
      ).status,
    ).toBe(404);

    await access.applications.create({
      account_id: emu.accountId,
      type: 'self_hosted',
      domain: 'db.example.com',
      policies: [
        {
          name: 'ci',
          decision: 'non_identity',
          include: [{ service_token: { token_id: token.id } }],
          require: [{ ip: { ip: '203.0.113.0/24' } }],
        } as never,
      ],
    });
    const policies = await control('GET', '/access/apps/db.example.com/policies');
    expect(policies.json).toEqual([
      expect.objectContaining({
        name: 'ci',
        decision: 'non_identity',
        require: [{ ip: { ip: '203.0.113.0/24' } }],
      }),
    ]);
    const serviceToken = { clientId: token.client_id, clientSecret: token.client_secret };
    expect(
      (await control('POST', '/access/apps/db.example.com/evaluate', { ip: '203.0.113.9', serviceToken }))
        .json,
    ).toMatchObject({ admitted: true, outcome: 'service_auth', policy: { name: 'ci' } });
    expect(
      (await control('POST', '/access/apps/db.example.com/evaluate', { ip: '198.51.100.9', serviceToken }))
        .json,
    ).toMatchObject({ admitted: false, outcome: 'no_policy_matched' });
    expect((await control('POST', '/access/apps/db.example.com/evaluate', { ip: 'nope' })).status).toBe(400);
    expect((await control('GET', '/access/apps/none.example.com/policies')).status).toBe(404);

    expect((await control('POST', '/reset')).status).toBe(200);
    expect(emu.control.accessLimits().serviceTokens).toBe(50);
  });

  it('PUT /rate-limit takes effect at once (a 429 past the new budget)', async () => {
    expect((await control('PUT', '/rate-limit', { requests: 2, windowSeconds: 60 })).status).toBe(200);
    const call = () =>
      fetch(`${emu.url}/user/tokens/verify`, { headers: { authorization: `Bearer ${emu.token}` } });
    const first = await call();
    expect(first.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=60');
    expect(first.headers.get('ratelimit')).toBe('"default";r=1;t=60');
    expect((await call()).status).toBe(200);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1'); // capped by retryAfterSeconds: 1
    expect((await control('PUT', '/rate-limit', { requests: 0, windowSeconds: 60 })).status).toBe(400);
    expect((await control('PUT', '/rate-limit', { requests: 5, windowSeconds: 60 })).status).toBe(200);
    expect((await call()).status).toBe(200); // new limit, windows restarted
  });

  it('PUT /latency takes effect at once (every Cloudflare call is delayed)', async () => {
    const call = async () => {
      const started = performance.now();
      const res = await fetch(`${emu.url}/user/tokens/verify`, {
        headers: { authorization: `Bearer ${emu.token}` },
      });
      expect(res.status).toBe(200);
      return performance.now() - started;
    };
    expect((await control('PUT', '/latency', { ms: 150 })).status).toBe(200);
    expect(await call()).toBeGreaterThanOrEqual(140);
    expect((await control('PUT', '/latency', { ms: -1 })).status).toBe(400);
    expect((await control('PUT', '/latency', { ms: 0 })).status).toBe(200);
    expect(await call()).toBeLessThan(100);
  });

  it('can make SDK clients fail fast on 409 when asked (x-should-retry: false)', async () => {
    const fast = await startCloudflareEmulator({ noRetryOn409: true });
    try {
      const cf = new Cloudflare({ apiToken: fast.token, baseURL: fast.url, apiKey: null, apiEmail: null });
      await cf.zeroTrust.tunnels.cloudflared.create({ account_id: fast.accountId, name: 'x' });
      await expect(
        cf.zeroTrust.tunnels.cloudflared.create({ account_id: fast.accountId, name: 'x' }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(fast.control.requests({ method: 'POST' })).toHaveLength(2);
    } finally {
      await fast.close();
    }
  });
});

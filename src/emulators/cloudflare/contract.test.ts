// Contract suite: every emulated endpoint driven through the official `cloudflare` SDK
// (the calls of reference §7.2), happy and error paths, with the SDK's own error classes.
import Cloudflare, {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
} from 'cloudflare';
import { Buffer } from 'node:buffer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudflareEmulator, type StartedCloudflareEmulator } from './index.js';

let emu: StartedCloudflareEmulator;
let cf: Cloudflare;
let account: string;
let zone: string;

function client(
  token = emu.token,
  options: Partial<ConstructorParameters<typeof Cloudflare>[0]> = {},
): Cloudflare {
  return new Cloudflare({
    apiToken: token,
    baseURL: emu.url,
    apiKey: null,
    apiEmail: null,
    maxRetries: 0,
    ...options,
  });
}

/** Runs `fn`, expects it to throw `type`, and returns the error's first Cloudflare code. */
async function failure<T extends abstract new (...args: never[]) => Error>(
  fn: () => Promise<unknown>,
  type: T,
): Promise<{ code: number | undefined; message: string; error: InstanceType<T> }> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    const errors = (error as { errors?: Array<{ code?: number; message?: string }> }).errors ?? [];
    return { code: errors[0]?.code, message: errors[0]?.message ?? '', error: error as InstanceType<T> };
  }
  throw new Error(`expected ${type.name}`);
}

/** The SDK 7.3.0 declares ruleset responses as `Ruleset | unknown` (= unknown); the shape it documents: */
interface RulesetResult {
  id: string;
  name: string;
  kind: string;
  phase: string;
  version: string;
  rules: Array<{
    id: string;
    action: string;
    expression: string;
    enabled: boolean;
    version: string;
    description?: string;
  }>;
}

const secret = Buffer.alloc(32, 7).toString('base64');
const catchAll = { hostname: '', service: 'http_status:404' };

beforeAll(async () => {
  emu = await startCloudflareEmulator();
  cf = client();
  account = emu.accountId;
  zone = emu.zoneId;
});
afterAll(async () => emu.close());
beforeEach(() => emu.control.reset());

describe('identity, tokens and zones', () => {
  it('verifies the token in the user and the account form', async () => {
    const user = await cf.user.tokens.verify();
    expect(user.status).toBe('active');
    expect(user.id).toMatch(/^[0-9a-f]{32}$/);
    const acct = await cf.accounts.tokens.verify({ account_id: account });
    expect(acct.id).toBe(user.id);
    const raw = await cf.user.tokens.verify().asResponse();
    expect(raw.headers.get('content-type')).toBe('application/json');
    const body = (await raw.json()) as { messages: Array<{ code: number; message: string }> };
    expect(body.messages[0]).toMatchObject({ code: 10000, message: 'This API Token is valid and active' });
  });

  it('rejects unknown, malformed and missing credentials with Cloudflare codes', async () => {
    const unknown = await failure(() => client('A'.repeat(40)).user.tokens.verify(), AuthenticationError);
    expect(unknown.code).toBe(1000);
    const elsewhere = await failure(
      () =>
        client('B'.repeat(40))
          .zones.list()
          .then((p) => p.result),
      PermissionDeniedError,
    );
    expect(elsewhere).toMatchObject({ code: 10000, message: 'Authentication error' });
    const malformed = await failure(() => client('short').user.tokens.verify(), BadRequestError);
    expect(malformed.code).toBe(6003);
    expect((malformed.error.errors[0] as { error_chain?: unknown }).error_chain).toEqual([
      { code: 6111, message: 'Invalid format for Authorization header' },
    ]);
    const missing = await fetch(`${emu.url}/user/tokens/verify`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      success: false,
      errors: [{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }],
    });
  });

  it('scopes tokens to their account and zones (403/10000 elsewhere)', async () => {
    const otherAccount = 'c'.repeat(32);
    const foreign = client(emu.control.addToken({ accountId: otherAccount }));
    const denied = await failure(
      () => foreign.zeroTrust.tunnels.cloudflared.list({ account_id: account }).then((p) => p.result),
      PermissionDeniedError,
    );
    expect(denied.code).toBe(10000);
    await failure(
      () => foreign.dns.records.list({ zone_id: zone }).then((p) => p.result),
      PermissionDeniedError,
    );
    const own = await foreign.zeroTrust.tunnels.cloudflared.list({ account_id: otherAccount });
    expect(own.result).toEqual([]);
    expect((await foreign.zones.list()).result).toEqual([]);

    const second = emu.control.addZone('second.example', 'free');
    await failure(
      () =>
        client(emu.control.addToken({ zoneIds: [second.id] }))
          .dns.records.list({ zone_id: zone })
          .then((p) => p.result),
      PermissionDeniedError,
    );
    const readOnly = client(emu.control.addToken({ readOnly: true }));
    expect((await readOnly.dns.records.list({ zone_id: zone })).result).toEqual([]);
    const write = await failure(
      () =>
        readOnly.dns.records.create({ zone_id: zone, type: 'A', name: 'x', content: '192.0.2.1', ttl: 1 }),
      PermissionDeniedError,
    );
    expect(write.code).toBe(10000);
    const dnsOnly = client(emu.control.addToken({ permissions: { dns: 'edit' } }));
    await failure(
      () => dnsOnly.zeroTrust.tunnels.cloudflared.create({ account_id: account, name: 't' }),
      PermissionDeniedError,
    );
  });

  it('lists and gets zones, with the name filter and the plan', async () => {
    emu.control.addZone('pro.example', 'pro');
    const all = [];
    for await (const z of cf.zones.list()) all.push(z.name);
    expect(all.sort()).toEqual(['example.com', 'pro.example']);
    const page = await cf.zones.list({ name: 'example.com' });
    expect(page.result.map((z) => z.id)).toEqual([zone]);
    expect(page.result[0]?.plan).toMatchObject({ legacy_id: 'free', name: 'Free Website' });
    expect(page.result_info).toMatchObject({ page: 1, count: 1, total_count: 1 });
    expect((await cf.zones.list({ name: 'nope.example' })).result).toEqual([]);
    const got = await cf.zones.get({ zone_id: zone });
    expect(got).toMatchObject({ id: zone, name: 'example.com', status: 'active' });
    expect((await failure(() => cf.zones.get({ zone_id: 'f'.repeat(32) }), PermissionDeniedError)).code).toBe(
      10000,
    );
    const malformed = await failure(() => cf.zones.get({ zone_id: 'not-an-id' }), BadRequestError);
    expect(malformed.error.errors.map((e) => e.code)).toEqual([7003, 7000]);
  });

  it('rejects a body that is not JSON with 6007', async () => {
    const res = await fetch(`${emu.url}/zones/${zone}/dns_records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
      body: '{"type":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([
      { code: 6007, message: 'Malformed JSON in request body' },
    ]);
  });

  it('answers unknown routes with 7003/7000', async () => {
    const res = await fetch(`${emu.url}/nothing/here`, { headers: { authorization: `Bearer ${emu.token}` } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: Array<{ code: number; message: string }> };
    expect(body.errors).toEqual([
      { code: 7003, message: 'Could not route to /nothing/here, perhaps your object identifier is invalid?' },
      { code: 7000, message: 'No route for that URI' },
    ]);
  });
});

describe('pagination parameters', () => {
  const get = (path: string) =>
    fetch(`${emu.url}${path}`, { headers: { authorization: `Bearer ${emu.token}` } });

  it('rejects per_page and page outside their ranges with 400 6008 (chain 11000)', async () => {
    const bad: Array<[string, string]> = [
      [`/accounts/${account}/cfd_tunnel?per_page=0`, 'per_page variable must be a number between 1 and 1000'],
      [
        `/accounts/${account}/cfd_tunnel?per_page=1001`,
        'per_page variable must be a number between 1 and 1000',
      ],
      [
        `/accounts/${account}/cfd_tunnel?per_page=2.5`,
        'per_page variable must be a number between 1 and 1000',
      ],
      [`/zones/${zone}/dns_records?per_page=0`, 'per_page variable must be a number between 1 and 5000000'],
      [`/zones/${zone}/dns_records?per_page=-3`, 'per_page variable must be a number between 1 and 5000000'],
      ['/zones?per_page=4', 'per_page variable must be a number between 5 and 50'],
      [
        `/accounts/${account}/access/apps?per_page=abc`,
        'per_page variable must be a number between 1 and 1000',
      ],
      [`/accounts/${account}/cfd_tunnel?page=0`, 'page variable must be a number between 1 and 2147483648'],
      [
        `/zones/${zone}/dns_records?page=2147483649`,
        'page variable must be a number between 1 and 2147483648',
      ],
      [
        `/accounts/${account}/access/service_tokens?page=x`,
        'page variable must be a number between 1 and 2147483648',
      ],
      [
        `/accounts/${account}/access/policies?page=1e3`,
        'page variable must be a number between 1 and 2147483648',
      ],
    ];
    for (const [path, reason] of bad) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { errors: unknown[] }).errors, path).toEqual([
        {
          code: 6008,
          message: 'Invalid request parameters',
          error_chain: [{ code: 11000, message: reason }],
        },
      ]);
    }
    const last = await get(`/zones/${zone}/dns_records?page=2147483648&per_page=5000000`);
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({
      result: [],
      result_info: { page: 2147483648, per_page: 5000000, count: 0, total_count: 0 },
    });
    await failure(
      () => cf.zeroTrust.tunnels.cloudflared.list({ account_id: account, per_page: 0 }).then((p) => p.result),
      BadRequestError,
    );
  });
});

describe('tunnels', () => {
  const tunnels = () => cf.zeroTrust.tunnels.cloudflared;

  it('creates a remotely managed tunnel with credentials_file and token (base64 JSON {a,s,t})', async () => {
    const { data } = await tunnels()
      .create({ account_id: account, name: 'remote', config_src: 'cloudflare', tunnel_secret: secret })
      .withResponse();
    const created = data as typeof data & { credentials_file: Record<string, string>; token: string };
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created).toMatchObject({
      account_tag: account,
      name: 'remote',
      status: 'inactive',
      remote_config: true,
      config_src: 'cloudflare',
      deleted_at: null,
      conns_active_at: null,
      tun_type: 'cfd_tunnel',
      connections: [],
    });
    expect(created.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(created.credentials_file).toEqual({
      AccountTag: account,
      TunnelID: created.id,
      TunnelName: 'remote',
      TunnelSecret: secret,
    });
    const decoded = Buffer.from(created.token, 'base64').toString('utf8');
    expect(decoded).toBe(JSON.stringify({ a: account, s: secret, t: created.id }));
    expect(Buffer.from(created.token, 'base64').toString('base64')).toBe(created.token); // padded standard base64
    expect(await tunnels().token.get(created.id ?? '', { account_id: account })).toBe(created.token);
  });

  it('creates a local tunnel without credentials in the response and generates a 32-byte secret', async () => {
    const { data } = await tunnels().create({ account_id: account, name: 'local' }).withResponse();
    expect(data).toMatchObject({ config_src: 'local', remote_config: false });
    expect(data).not.toHaveProperty('token');
    expect(data).not.toHaveProperty('credentials_file');
    const token = await tunnels().token.get(data.id ?? '', { account_id: account });
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { s: string };
    expect(Buffer.from(parsed.s, 'base64')).toHaveLength(32);
  });

  it('rejects duplicate names (409/1013) among non-deleted tunnels and bad secrets', async () => {
    const first = await tunnels().create({ account_id: account, name: 'dup' });
    const conflict = await failure(
      () => tunnels().create({ account_id: account, name: 'dup' }),
      ConflictError,
    );
    expect(conflict).toMatchObject({
      code: 1013,
      message:
        'You already have a tunnel with this name. Delete the existing tunnel, or choose a different name for your new tunnel',
    });
    const other = await tunnels().create({ account_id: account, name: 'other' });
    expect(
      (
        await failure(
          () => tunnels().edit(other.id ?? '', { account_id: account, name: 'dup' }),
          ConflictError,
        )
      ).code,
    ).toBe(1013);
    await tunnels().delete(first.id ?? '', { account_id: account });
    const reused = await tunnels().create({ account_id: account, name: 'dup' });
    expect(reused.id).not.toBe(first.id);
    await failure(
      () =>
        tunnels().create({
          account_id: account,
          name: 'weak',
          tunnel_secret: Buffer.alloc(16).toString('base64'),
        }),
      BadRequestError,
    );
    await failure(() => tunnels().create({ account_id: account, name: '' }), BadRequestError);
  });

  it('gets, renames and deletes; deleted tunnels stay listable with deleted_at', async () => {
    const t = await tunnels().create({ account_id: account, name: 'a' });
    const id = t.id ?? '';
    expect((await tunnels().get(id, { account_id: account })).name).toBe('a');
    const renamed = await tunnels().edit(id, { account_id: account, name: 'b', tunnel_secret: secret });
    expect(renamed.name).toBe('b');
    const deleted = await tunnels().delete(id, { account_id: account });
    expect(deleted.deleted_at).toMatch(/Z$/);
    expect((await tunnels().get(id, { account_id: account })).deleted_at).toBe(deleted.deleted_at);
    await failure(() => tunnels().token.get(id, { account_id: account }), NotFoundError);
    await failure(
      () => tunnels().get('00000000-0000-4000-8000-000000000000', { account_id: account }),
      NotFoundError,
    );
  });

  it('filters lists: is_deleted (omitted = all), name, uuid, prefixes, status and times', async () => {
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 2)); // created_at strictly after `before` (ms precision)
    const keep = await tunnels().create({ account_id: account, name: 'vpc1-keep' });
    const gone = await tunnels().create({ account_id: account, name: 'vpc1-gone' });
    const other = await tunnels().create({ account_id: account, name: 'other' });
    await new Promise((r) => setTimeout(r, 5));
    await tunnels().delete(gone.id ?? '', { account_id: account });
    emu.control.attachConnector(other.id ?? '');
    const names = async (params: Record<string, unknown>) =>
      (await tunnels().list({ account_id: account, ...params })).result.map((t) => t.name).sort();

    expect(await names({})).toEqual(['other', 'vpc1-gone', 'vpc1-keep']);
    expect(await names({ is_deleted: true })).toEqual(['vpc1-gone']);
    expect(await names({ is_deleted: false })).toEqual(['other', 'vpc1-keep']);
    expect(await names({ name: 'vpc1-keep' })).toEqual(['vpc1-keep']);
    expect(await names({ name: 'vpc1-kee' })).toEqual([]); // exact, not a prefix
    expect(await names({ name: 'vpc1' })).toEqual([]);
    expect(await names({ uuid: keep.id })).toEqual(['vpc1-keep']);
    expect(await names({ include_prefix: 'vpc1-' })).toEqual(['vpc1-gone', 'vpc1-keep']);
    expect(await names({ exclude_prefix: 'vpc1-' })).toEqual(['other']);
    expect(await names({ status: 'healthy' })).toEqual(['other']);
    expect(await names({ status: 'inactive', is_deleted: false })).toEqual(['vpc1-keep']);
    expect(await names({ existed_at: before })).toEqual([]);
    expect(await names({ existed_at: new Date().toISOString() })).toEqual(['other', 'vpc1-keep']);
    expect(await names({ was_active_at: new Date().toISOString() })).toEqual(['other']);
    expect(await names({ was_inactive_at: new Date().toISOString(), is_deleted: false })).toEqual([
      'vpc1-keep',
    ]);
  });

  it('auto-paginates with for-await and returns result: [] past the last page', async () => {
    for (let i = 0; i < 23; i += 1)
      await tunnels().create({ account_id: account, name: `t-${String(i).padStart(2, '0')}` });
    emu.control.clearRequests();
    const seen: string[] = [];
    for await (const t of tunnels().list({ account_id: account, per_page: 5, is_deleted: false }))
      seen.push(t.name ?? '');
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    const pages = emu.control.requests({ route: '/accounts/:account/cfd_tunnel', method: 'GET' });
    expect(pages.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3', '4', '5', '6']);
    const past = await tunnels().list({ account_id: account, per_page: 5, page: 9 });
    expect(past.result).toEqual([]);
    expect(past.result_info).toMatchObject({ page: 9, per_page: 5, count: 0, total_count: 23 });
    const big = await tunnels().list({ account_id: account, per_page: 1000 });
    expect(big.result).toHaveLength(23);
    expect(big.result_info).toMatchObject({ page: 1, per_page: 1000, count: 23, total_count: 23 });
    const defaults = await tunnels().list({ account_id: account });
    expect(defaults.result_info).toMatchObject({ per_page: 20, count: 20 });
  });

  it('replaces the remote configuration, bumping version, and validates ingress like cloudflared', async () => {
    const t = await tunnels().create({ account_id: account, name: 'cfg', config_src: 'cloudflare' });
    const id = t.id ?? '';
    const empty = await tunnels().configurations.get(id, { account_id: account });
    expect(empty).toMatchObject({ tunnel_id: id, version: 0, config: null, source: 'cloudflare' });
    const local = await tunnels().create({ account_id: account, name: 'cfg-local' });
    expect(await tunnels().configurations.get(local.id ?? '', { account_id: account })).toMatchObject({
      version: 0,
      source: 'local',
    });
    const v1 = await tunnels().configurations.update(id, {
      account_id: account,
      config: {
        ingress: [
          {
            hostname: 'app.example.com',
            service: 'http://localhost:8001',
            originRequest: { connectTimeout: 10 },
          },
          catchAll,
        ],
        originRequest: { noTLSVerify: true },
      },
    });
    expect(v1).toMatchObject({ tunnel_id: id, account_id: account, version: 1, source: 'cloudflare' });
    const v2 = await tunnels().configurations.update(id, {
      account_id: account,
      config: { ingress: [catchAll] },
    });
    expect(v2.version).toBe(2);
    expect(v2.config).toEqual({ ingress: [catchAll] });
    expect(await tunnels().configurations.get(id, { account_id: account })).toEqual(v2);

    const bad = await failure(
      () =>
        tunnels().configurations.update(id, {
          account_id: account,
          config: { ingress: [{ hostname: 'a.example.com', service: 'http://x:1' }] },
        }),
      BadRequestError,
    );
    expect(bad.message).toBe(
      'Bad Configuration: Validation failed: The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)',
    );
    const path = await failure(
      () =>
        tunnels().configurations.update(id, {
          account_id: account,
          config: { ingress: [{ hostname: 'a.example.com', service: 'http://localhost:8080/x' }, catchAll] },
        }),
      BadRequestError,
    );
    expect(path.message).toContain("ingress rules don't support proxying to a different path");
    const re2 = await tunnels().configurations.update(id, {
      account_id: account,
      config: {
        ingress: [
          { hostname: 'a.example.com', path: '(?i)^/api/(?P<v>v[12])/', service: 'http://x:1' },
          catchAll,
        ],
      },
    });
    expect(re2.version).toBe(3);
    const badRegex = await failure(
      () =>
        tunnels().configurations.update(id, {
          account_id: account,
          config: {
            ingress: [{ hostname: 'a.example.com', path: '[z-a]', service: 'http://x:1' }, catchAll],
          },
        }),
      BadRequestError,
    );
    expect(badRegex.message).toBe(
      'Bad Configuration: Validation failed: Rule #1 has an invalid regex: error parsing regexp: invalid character class range: `z-a`',
    );
    expect((await tunnels().configurations.get(id, { account_id: account })).version).toBe(3);
  });

  it('moves status inactive → healthy → degraded/down with simulated connectors; live tunnels cannot be deleted', async () => {
    const t = await tunnels().create({ account_id: account, name: 'run' });
    const id = t.id ?? '';
    const connectorId = emu.control.attachConnector(id, { version: '2026.8.2' });
    const healthy = await tunnels().get(id, { account_id: account });
    expect(healthy.status).toBe('healthy');
    expect(healthy.connections).toHaveLength(4);
    expect(healthy.conns_active_at).toMatch(/Z$/);
    expect(healthy.conns_inactive_at).toBeNull();
    expect(healthy.connections?.[0]).toMatchObject({
      client_id: connectorId,
      client_version: '2026.8.2',
      is_pending_reconnect: false,
    });

    const clients = await tunnels().connections.get(id, { account_id: account });
    expect(clients.result.map((c) => c.id)).toEqual([connectorId]);
    expect(clients.result[0]?.conns).toHaveLength(4);
    expect((await tunnels().connectors.get(connectorId, { account_id: account, tunnel_id: id })).id).toBe(
      connectorId,
    );

    const blocked = await failure(() => tunnels().delete(id, { account_id: account }), BadRequestError);
    expect(blocked).toMatchObject({
      code: 1022,
      message: 'Cannot delete tunnel because it has active connections',
    });

    emu.control.detachConnector(id, connectorId);
    const down = await tunnels().get(id, { account_id: account });
    expect(down).toMatchObject({ status: 'down', conns_active_at: null, connections: [] });
    expect(down.conns_inactive_at).toMatch(/Z$/);

    emu.control.attachConnector(id, { connections: 1 });
    expect((await tunnels().get(id, { account_id: account })).status).toBe('degraded');
    await tunnels().connections.delete(id, { account_id: account });
    expect((await tunnels().get(id, { account_id: account })).status).toBe('down');
    expect((await tunnels().delete(id, { account_id: account })).deleted_at).toBeTruthy();
  });

  it('deletes a connected tunnel with cascade=true', async () => {
    const t = await tunnels().create({ account_id: account, name: 'cascade' });
    emu.control.attachConnector(t.id ?? '');
    const deleted = await tunnels().delete(t.id ?? '', { account_id: account }, { query: { cascade: true } });
    expect(deleted.deleted_at).toBeTruthy();
    expect(deleted.connections).toEqual([]);
  });

  it('issues a management token', async () => {
    const t = await tunnels().create({ account_id: account, name: 'mgmt' });
    const token = await tunnels().management.create(t.id ?? '', { account_id: account, resources: ['logs'] });
    expect(token.split('.')).toHaveLength(3);
  });
});

describe('DNS records', () => {
  const records = () => cf.dns.records;

  it('accepts a proxied CNAME to <uuid>.cfargotunnel.com and forces TTL 1', async () => {
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: account, name: 'dns' });
    const record = await records().create({
      zone_id: zone,
      type: 'CNAME',
      name: 'k3j9x2',
      content: `${tunnel.id}.cfargotunnel.com`,
      proxied: true,
      ttl: 300,
      comment: 'managed-by:tunnelplane',
    });
    expect(record).toMatchObject({
      name: 'k3j9x2.example.com',
      type: 'CNAME',
      content: `${tunnel.id}.cfargotunnel.com`,
      proxied: true,
      proxiable: true,
      ttl: 1,
      comment: 'managed-by:tunnelplane',
      tags: [],
    });
    expect(record.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await records().get(record.id, { zone_id: zone })).toEqual(record);
    const apex = await records().create({
      zone_id: zone,
      type: 'A',
      name: '@',
      content: '192.0.2.10',
      ttl: 3600,
    });
    expect(apex).toMatchObject({ name: 'example.com', ttl: 3600, proxied: false, comment: null });
  });

  it('reports conflicts 81053/81054/81057, unknown records 81044 and bad content 9005', async () => {
    await records().create({ zone_id: zone, type: 'A', name: 'a', content: '192.0.2.1', ttl: 1 });
    await records().create({
      zone_id: zone,
      type: 'CNAME',
      name: 'c',
      content: 'target.example.net',
      ttl: 1,
    });
    const cname = await failure(
      () => records().create({ zone_id: zone, type: 'CNAME', name: 'a', content: 'x.example.net', ttl: 1 }),
      BadRequestError,
    );
    expect(cname).toMatchObject({
      code: 81053,
      message: 'An A, AAAA, or CNAME record with that host already exists.',
    });
    const a = await failure(
      () =>
        records().create({ zone_id: zone, type: 'A', name: 'c.example.com', content: '192.0.2.2', ttl: 1 }),
      BadRequestError,
    );
    expect(a).toMatchObject({ code: 81054, message: 'A CNAME record with that host already exists.' });
    const dup = await failure(
      () => records().create({ zone_id: zone, type: 'A', name: 'a', content: '192.0.2.1', ttl: 1 }),
      BadRequestError,
    );
    expect(dup).toMatchObject({ code: 81057, message: 'Record already exists.' });
    await records().create({ zone_id: zone, type: 'A', name: 'a', content: '192.0.2.9', ttl: 1 });
    const missing = await failure(() => records().get('0'.repeat(32), { zone_id: zone }), NotFoundError);
    expect(missing).toMatchObject({ code: 81044, message: 'Record does not exist.' });
    const ip = await failure(
      () => records().create({ zone_id: zone, type: 'A', name: 'bad', content: 'nope', ttl: 1 }),
      BadRequestError,
    );
    expect(ip).toMatchObject({ code: 9005, message: 'Content for A record must be a valid IPv4 address.' });
    await failure(
      () => records().create({ zone_id: zone, type: 'TXT', name: 't', content: 'x', ttl: 1, proxied: true }),
      BadRequestError,
    );
    await failure(
      () => records().create({ zone_id: zone, type: 'A', name: 't', content: '192.0.2.1', ttl: 5 }),
      BadRequestError,
    );
  });

  it('compares record content like DNS does: TXT case-sensitive, hostnames not, IPv6 canonically', async () => {
    await records().create({ zone_id: zone, type: 'TXT', name: 'txt', content: 'Hello', ttl: 1 });
    const lower = await records().create({
      zone_id: zone,
      type: 'TXT',
      name: 'txt',
      content: 'hello',
      ttl: 1,
    });
    expect(lower.content).toBe('hello');
    expect(
      (
        await failure(
          () => records().create({ zone_id: zone, type: 'TXT', name: 'TXT', content: 'Hello', ttl: 1 }),
          BadRequestError,
        )
      ).code,
    ).toBe(81057);
    await records().create({
      zone_id: zone,
      type: 'MX',
      name: 'mx',
      content: 'mail.example.net',
      priority: 10,
      ttl: 1,
    });
    expect(
      (
        await failure(
          () =>
            records().create({
              zone_id: zone,
              type: 'MX',
              name: 'mx',
              content: 'MAIL.Example.NET.',
              priority: 10,
              ttl: 1,
            }),
          BadRequestError,
        )
      ).code,
    ).toBe(81057);
    await records().create({ zone_id: zone, type: 'AAAA', name: 'v6', content: '2001:db8::1', ttl: 1 });
    for (const same of ['2001:0db8:0:0::1', '2001:DB8:0000:0000:0000:0000:0000:0001']) {
      const dup = await failure(
        () => records().create({ zone_id: zone, type: 'AAAA', name: 'v6', content: same, ttl: 1 }),
        BadRequestError,
      );
      expect(dup.code, same).toBe(81057);
    }
    await records().create({ zone_id: zone, type: 'AAAA', name: 'v6', content: '2001:db8::2', ttl: 1 });
  });

  it('takes TTL 1 (auto) or 60–86400, and rejects comments with line breaks', async () => {
    const create = (name: string, extra: Record<string, unknown>) =>
      records().create({ zone_id: zone, type: 'A', name, content: '192.0.2.1', ttl: 1, ...extra } as never);
    for (const ttl of [0, 2, 59, 86401, 60.5]) {
      const bad = await failure(() => create(`ttl${ttl}`.replace('.', '-'), { ttl }), BadRequestError);
      expect(bad.code, String(ttl)).toBe(9021);
    }
    for (const ttl of [1, 60, 86400]) expect((await create(`ok${ttl}`, { ttl })).ttl).toBe(ttl);
    for (const comment of ['a\nb', 'a\rb', 'trailing\n']) {
      const bad = await failure(() => create('c', { comment }), BadRequestError);
      expect(bad.message, JSON.stringify(comment)).toBe('Comment must not contain newlines.');
    }
    const r = await create('c', { comment: 'one line' });
    await failure(
      () => records().edit(r.id, { zone_id: zone, comment: 'two\nlines' } as never),
      BadRequestError,
    );
    expect((await records().get(r.id, { zone_id: zone })).comment).toBe('one line');
  });

  it('overwrites with PUT, merges with PATCH and deletes', async () => {
    const r = await records().create({
      zone_id: zone,
      type: 'CNAME',
      name: 'w',
      content: 'a.example.net',
      proxied: true,
      ttl: 1,
      comment: 'c1',
    });
    const put = await records().update(r.id, {
      zone_id: zone,
      type: 'CNAME',
      name: 'w',
      content: 'b.example.net',
      ttl: 120,
    });
    expect(put).toMatchObject({ content: 'b.example.net', proxied: false, ttl: 120, comment: null });
    const patched = await records().edit(r.id, {
      zone_id: zone,
      type: 'CNAME',
      name: 'w',
      proxied: true,
      comment: 'c2',
      ttl: 1,
    });
    expect(patched).toMatchObject({ content: 'b.example.net', proxied: true, comment: 'c2', ttl: 1 });
    expect(patched.comment_modified_on).toBeTruthy();
    const untouched = await records().edit(r.id, { zone_id: zone, content: 'c.example.net' } as never);
    expect(untouched).toMatchObject({ content: 'c.example.net', proxied: true, comment: 'c2', ttl: 1 });
    expect(untouched.comment_modified_on).toBe(patched.comment_modified_on);
    expect((await records().get(r.id, { zone_id: zone })).comment).toBe('c2');
    expect(await records().delete(r.id, { zone_id: zone })).toEqual({ id: r.id });
    await failure(() => records().delete(r.id, { zone_id: zone }), NotFoundError);
  });

  it('filters with dotted keys, match=any, ordering, and paginates across pages', async () => {
    for (let i = 0; i < 12; i += 1) {
      await records().create({
        zone_id: zone,
        type: 'A',
        name: `host${i}`,
        content: `192.0.2.${i + 1}`,
        ttl: 1,
        ...(i % 3 === 0 ? { comment: `owner:tp user=${i}` } : {}),
      });
    }
    await records().create({
      zone_id: zone,
      type: 'CNAME',
      name: 'alias',
      content: 'host1.example.com',
      ttl: 1,
    });
    const names = async (params: Record<string, unknown>) =>
      (await records().list({ zone_id: zone, ...params })).result.map((r) => r.name);

    expect(await names({ name: { exact: 'HOST1.example.com' } })).toEqual(['host1.example.com']);
    expect((await names({ name: { startswith: 'host1' } })).sort()).toEqual([
      'host1.example.com',
      'host10.example.com',
      'host11.example.com',
    ]);
    expect(await names({ content: { exact: '192.0.2.5' } })).toEqual(['host4.example.com']);
    expect(await names({ type: 'CNAME' })).toEqual(['alias.example.com']);
    expect((await names({ comment: { startswith: 'owner:tp' } })).length).toBe(4);
    expect((await names({ comment: { present: 'yes' } })).length).toBe(4);
    expect((await names({ comment: { absent: '' } })).length).toBe(9);
    expect((await names({ match: 'any', type: 'CNAME', content: { exact: '192.0.2.1' } })).sort()).toEqual([
      'alias.example.com',
      'host0.example.com',
    ]);
    expect(await names({ match: 'all', type: 'CNAME', content: { exact: '192.0.2.1' } })).toEqual([]);
    const byName = await names({ type: 'A', order: 'name', direction: 'desc', per_page: 3 });
    expect(byName).toEqual(['host9.example.com', 'host8.example.com', 'host7.example.com']);

    const first = await records().list({ zone_id: zone, per_page: 5 });
    expect(first.result_info).toMatchObject({ page: 1, per_page: 5, count: 5, total_count: 13 });
    const all = [];
    for await (const r of records().list({ zone_id: zone, per_page: 5 })) all.push(r.id);
    expect(new Set(all).size).toBe(13);
    expect((await records().list({ zone_id: zone, per_page: 5, page: 4 })).result).toEqual([]);
  });

  it('runs a batch deletes → patches → puts → posts, all or nothing', async () => {
    const a = await records().create({ zone_id: zone, type: 'A', name: 'x', content: '192.0.2.1', ttl: 1 });
    const b = await records().create({ zone_id: zone, type: 'A', name: 'y', content: '192.0.2.2', ttl: 1 });
    const c = await records().create({ zone_id: zone, type: 'A', name: 'z', content: '192.0.2.3', ttl: 1 });
    // The post of a CNAME at "x" only works because the delete of the A record at "x" runs first.
    const result = await records().batch({
      zone_id: zone,
      posts: [{ type: 'CNAME', name: 'x', content: 'tunnel.cfargotunnel.com', proxied: true, ttl: 1 }],
      puts: [{ id: c.id, type: 'A', name: 'z', content: '192.0.2.33', ttl: 1 }],
      patches: [{ id: b.id, content: '192.0.2.22' } as never],
      deletes: [{ id: a.id }],
    });
    expect(result.deletes?.map((r) => r.id)).toEqual([a.id]);
    expect(result.patches?.[0]).toMatchObject({ id: b.id, content: '192.0.2.22' });
    expect(result.puts?.[0]).toMatchObject({ id: c.id, content: '192.0.2.33' });
    expect(result.posts?.[0]).toMatchObject({ name: 'x.example.com', type: 'CNAME', proxied: true });

    const before = emu.control.state().dnsRecords;
    const bad = await failure(
      () =>
        records().batch({
          zone_id: zone,
          deletes: [{ id: b.id }],
          posts: [
            { type: 'A', name: 'ok', content: '192.0.2.50', ttl: 1 },
            { type: 'CNAME', name: 'x', content: 'again.example.net', ttl: 1 },
          ],
        }),
      BadRequestError,
    );
    expect(bad.code).toBe(81053);
    expect(emu.control.state().dnsRecords).toEqual(before);
    await failure(() => records().batch({ zone_id: zone, deletes: [{ id: '1'.repeat(32) }] }), NotFoundError);
    expect(emu.control.state().dnsRecords).toEqual(before);
  });

  it('runs patches before puts on the same record', async () => {
    const r = await records().create({ zone_id: zone, type: 'A', name: 'pp', content: '192.0.2.1', ttl: 1 });
    const result = await records().batch({
      zone_id: zone,
      puts: [{ id: r.id, type: 'A', name: 'pp', content: '192.0.2.3', ttl: 120 }],
      patches: [{ id: r.id, content: '192.0.2.2', comment: 'patched' } as never],
    });
    // The patch saw the original record; the put then replaced everything, comment included.
    expect(result.patches?.[0]).toMatchObject({ id: r.id, content: '192.0.2.2', comment: 'patched', ttl: 1 });
    expect(result.puts?.[0]).toMatchObject({ id: r.id, content: '192.0.2.3', comment: null, ttl: 120 });
    expect(await records().get(r.id, { zone_id: zone })).toMatchObject({
      content: '192.0.2.3',
      comment: null,
    });
  });

  it('runs deletes → patches → puts → posts, each step depending on the one before', async () => {
    const d = await records().create({ zone_id: zone, type: 'A', name: 'x', content: '192.0.2.1', ttl: 1 });
    const p = await records().create({ zone_id: zone, type: 'A', name: 'y', content: '192.0.2.2', ttl: 1 });
    const result = await records().batch({
      zone_id: zone,
      // Each list would fail (81057, identical record) if it ran before the one listed above it.
      posts: [{ type: 'A', name: 'x', content: '192.0.2.1', ttl: 1 }],
      puts: [{ id: p.id, type: 'A', name: 'x', content: '192.0.2.5', ttl: 1 }],
      patches: [{ id: p.id, name: 'x.example.com', content: '192.0.2.1' } as never],
      deletes: [{ id: d.id }],
    });
    expect(result.deletes?.map((r) => r.id)).toEqual([d.id]);
    expect(result.patches?.[0]).toMatchObject({ id: p.id, name: 'x.example.com', content: '192.0.2.1' });
    expect(result.puts?.[0]).toMatchObject({ id: p.id, name: 'x.example.com', content: '192.0.2.5' });
    const posted = result.posts?.[0];
    expect(posted).toMatchObject({ name: 'x.example.com', content: '192.0.2.1' });
    const state = emu.control
      .state()
      .dnsRecords.map((r) => `${r.id === posted?.id ? 'new' : r.id} ${r.name} ${r.content}`);
    expect(state.sort()).toEqual([`${p.id} x.example.com 192.0.2.5`, 'new x.example.com 192.0.2.1'].sort());
  });

  it('enforces the Free plan: 100-char comments, no tags, 200 batch operations, 200 records', async () => {
    await failure(
      () =>
        records().create({
          zone_id: zone,
          type: 'A',
          name: 'c',
          content: '192.0.2.1',
          ttl: 1,
          comment: 'x'.repeat(101),
        }),
      BadRequestError,
    );
    await records().create({
      zone_id: zone,
      type: 'A',
      name: 'c',
      content: '192.0.2.1',
      ttl: 1,
      comment: 'x'.repeat(100),
    });
    await failure(
      () =>
        records().create({
          zone_id: zone,
          type: 'A',
          name: 't',
          content: '192.0.2.1',
          ttl: 1,
          tags: ['owner:tp'],
        }),
      BadRequestError,
    );
    const post = (i: number) => ({
      type: 'A' as const,
      name: `r${i}`,
      content: '192.0.2.7',
      ttl: 1 as const,
    });
    const tooMany = await failure(
      () => records().batch({ zone_id: zone, posts: Array.from({ length: 201 }, (_, i) => post(i)) }),
      BadRequestError,
    );
    expect(tooMany.message).toContain('200');
    const mixed = await failure(
      () =>
        records().batch({
          zone_id: zone,
          deletes: [{ id: '1'.repeat(32) }],
          posts: Array.from({ length: 200 }, (_, i) => post(i)),
        }),
      BadRequestError,
    );
    expect(mixed.code).toBe(81064); // 201 operations in all: refused before any runs
    await records().delete(
      (await records().list({ zone_id: zone, name: { exact: 'c.example.com' } })).result[0]?.id ?? '',
      { zone_id: zone },
    );
    const exactly = await records().batch({
      zone_id: zone,
      posts: Array.from({ length: 200 }, (_, i) => post(i)),
    });
    expect(exactly.posts).toHaveLength(200);
    const quota = await failure(
      () => records().create({ zone_id: zone, type: 'A', name: 'last', content: '192.0.2.1', ttl: 1 }),
      BadRequestError,
    );
    expect(quota.code).toBe(81045);
  });

  it('counts comment length in Unicode code points', async () => {
    const create = (name: string, comment: string) =>
      records().create({ zone_id: zone, type: 'A', name, content: '192.0.2.1', ttl: 1, comment });
    expect((await create('emoji', '😀'.repeat(100))).comment).toBe('😀'.repeat(100)); // 200 UTF-16 units
    const long = await failure(() => create('emoji2', '😀'.repeat(101)), BadRequestError);
    expect(long.message).toBe('Comment is too long (maximum 100 characters).');
  });

  it('allows 500-char comments, tags and 3500-operation batches on Pro', async () => {
    const pro = emu.control.addZone('pro.example', 'pro');
    const r = await records().create({
      zone_id: pro.id,
      type: 'A',
      name: 'p',
      content: '192.0.2.1',
      ttl: 1,
      comment: 'x'.repeat(500),
      tags: ['owner:tp', 'user:42'],
    });
    expect(r).toMatchObject({ name: 'p.pro.example', tags: ['owner:tp', 'user:42'] });
    expect(r.tags_modified_on).toBeTruthy();
    await failure(
      () =>
        records().create({
          zone_id: pro.id,
          type: 'A',
          name: 'q',
          content: '192.0.2.1',
          ttl: 1,
          comment: 'x'.repeat(501),
        }),
      BadRequestError,
    );
    const tagged = await records().list({ zone_id: pro.id, tag: { exact: 'owner:tp' } });
    expect(tagged.result.map((x) => x.id)).toEqual([r.id]);
    const posts = Array.from({ length: 250 }, (_, i) => ({
      type: 'A' as const,
      name: `b${i}`,
      content: '192.0.2.9',
      ttl: 1 as const,
    }));
    expect((await records().batch({ zone_id: pro.id, posts })).posts).toHaveLength(250);
  });

  it('filters by name.contains, content.contains/endswith, proxied=false, tags, tag_match=any, and orders', async () => {
    const pro = emu.control.addZone('filters.example', 'pro');
    const mk = (name: string, type: string, content: string, extra: Record<string, unknown> = {}) =>
      records().create({ zone_id: pro.id, type, name, content, ttl: 1, ...extra } as never);
    await mk('alpha', 'A', '192.0.2.10', { ttl: 300, tags: ['env:prod', 'team:a'] });
    await mk('beta', 'A', '192.0.2.20', { proxied: true, tags: ['env:dev'] });
    await mk('gamma', 'CNAME', 'origin.example.net', { ttl: 120, tags: ['team:b'] });
    await mk('delta-alpha', 'TXT', 'v=spf1 -all', { ttl: 3600 });
    const names = async (params: Record<string, unknown>) =>
      (await records().list({ zone_id: pro.id, ...params } as never)).result.map((r) => r.name.split('.')[0]);

    expect((await names({ name: { contains: 'ALPHA' } })).sort()).toEqual(['alpha', 'delta-alpha']);
    expect(await names({ content: { contains: '.2.2' } })).toEqual(['beta']);
    expect(await names({ content: { endswith: '.NET' } })).toEqual(['gamma']);
    expect((await names({ proxied: false })).sort()).toEqual(['alpha', 'delta-alpha', 'gamma']);
    expect(await names({ proxied: true })).toEqual(['beta']);
    expect((await names({ tag: { present: 'team' } })).sort()).toEqual(['alpha', 'gamma']);
    expect((await names({ tag: { absent: 'env' } })).sort()).toEqual(['delta-alpha', 'gamma']);
    expect(
      (await names({ tag: { exact: 'env:dev', startswith: 'team:b' }, tag_match: 'any' } as never)).sort(),
    ).toEqual(['beta', 'gamma']);
    expect(
      await names({ tag: { exact: 'env:dev', startswith: 'team:b' }, tag_match: 'all' } as never),
    ).toEqual([]);

    expect(await names({ order: 'ttl', direction: 'desc' })).toEqual([
      'delta-alpha',
      'alpha',
      'gamma',
      'beta',
    ]);
    expect(await names({ order: 'ttl' })).toEqual(['beta', 'gamma', 'alpha', 'delta-alpha']);
    expect(await names({ order: 'content', direction: 'desc' })).toEqual([
      'delta-alpha',
      'gamma',
      'beta',
      'alpha',
    ]);
    expect(await names({ order: 'proxied', direction: 'desc' })).toEqual([
      'beta',
      'alpha',
      'delta-alpha',
      'gamma',
    ]);
    expect(await names({ order: 'proxied' })).toEqual(['alpha', 'delta-alpha', 'gamma', 'beta']);
  });
});

describe('rulesets (http_request_firewall_custom)', () => {
  const phase = 'http_request_firewall_custom';

  it('creates the entrypoint with PUT, then adds, edits and deletes single rules', async () => {
    const missing = await failure(() => cf.rulesets.phases.get(phase, { zone_id: zone }), NotFoundError);
    expect(missing.code).toBe(10003);
    const created = (await cf.rulesets.phases.update(phase, {
      zone_id: zone,
      rules: [
        {
          action: 'block',
          expression: '(http.host eq "a.example.com" and not ip.src in {203.0.113.0/24})',
          description: 'allow-list a',
        },
      ],
    })) as RulesetResult;
    expect(created).toMatchObject({ kind: 'zone', phase, version: '1', name: 'default' });
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.rules[0]).toMatchObject({
      action: 'block',
      enabled: true,
      version: '1',
      description: 'allow-list a',
    });

    const added = (await cf.rulesets.rules.create(created.id, {
      zone_id: zone,
      action: 'managed_challenge',
      expression: 'http.host eq "b.example.com"',
    })) as RulesetResult;
    expect(added.version).toBe('2');
    expect(added.rules).toHaveLength(2);
    const ruleId = added.rules[1]?.id ?? '';
    const edited = (await cf.rulesets.rules.edit(ruleId, {
      ruleset_id: created.id,
      zone_id: zone,
      action: 'block',
      expression: 'http.host eq "c.example.com"',
    })) as RulesetResult;
    expect(edited.rules[1]).toMatchObject({
      id: ruleId,
      action: 'block',
      expression: 'http.host eq "c.example.com"',
    });
    const afterDelete = (await cf.rulesets.rules.delete(ruleId, {
      ruleset_id: created.id,
      zone_id: zone,
    })) as RulesetResult;
    expect(afterDelete.rules.map((r) => r.id)).toEqual([created.rules[0]?.id]);
    expect((afterDelete.rules[0] as { ref?: string }).ref).toBe(created.rules[0]?.id); // ref defaults to the id
    expect(afterDelete.version).toBe('4');

    const fetched = (await cf.rulesets.phases.get(phase, { zone_id: zone })) as RulesetResult;
    expect(fetched.version).toBe('4');
    const listed = [];
    for await (const rs of cf.rulesets.list({ zone_id: zone })) listed.push(rs);
    expect(listed).toEqual([expect.objectContaining({ id: created.id, phase, kind: 'zone' })]);
    expect(listed[0]).not.toHaveProperty('rules');
    await failure(
      () => cf.rulesets.rules.delete('9'.repeat(32), { ruleset_id: created.id, zone_id: zone }),
      NotFoundError,
    );
  });

  it("keeps a rule's ref through PATCH", async () => {
    const rs = (await cf.rulesets.phases.update(phase, {
      zone_id: zone,
      rules: [{ action: 'block', expression: 'http.host eq "r.example.com"', ref: 'tp-owner-1' }],
    })) as RulesetResult;
    const ruleId = rs.rules[0]?.id ?? '';
    const edited = (await cf.rulesets.rules.edit(ruleId, {
      ruleset_id: rs.id,
      zone_id: zone,
      action: 'managed_challenge',
      expression: 'http.host eq "s.example.com"',
    })) as RulesetResult;
    expect(edited.rules[0]).toMatchObject({ id: ruleId, ref: 'tp-owner-1', action: 'managed_challenge' });
    const again = (await cf.rulesets.rules.edit(ruleId, {
      ruleset_id: rs.id,
      zone_id: zone,
      enabled: false,
    } as never)) as RulesetResult;
    expect(again.rules[0]).toMatchObject({ ref: 'tp-owner-1', enabled: false, action: 'managed_challenge' });
  });

  it('enforces 5 custom rules on Free and 20 on Pro, and rejects bad rules', async () => {
    const rule = (i: number) => ({
      action: 'block' as const,
      expression: `http.host eq "h${i}.example.com"`,
    });
    const five = (await cf.rulesets.phases.update(phase, {
      zone_id: zone,
      rules: [0, 1, 2, 3, 4].map(rule),
    })) as RulesetResult;
    expect(five.rules).toHaveLength(5);
    const sixth = await failure(
      () => cf.rulesets.rules.create(five.id, { zone_id: zone, ...rule(5) }),
      BadRequestError,
    );
    expect(sixth.message).toContain('5 out of 5');
    await failure(
      () => cf.rulesets.phases.update(phase, { zone_id: zone, rules: [0, 1, 2, 3, 4, 5].map(rule) }),
      BadRequestError,
    );
    const pro = emu.control.addZone('pro.example', 'pro');
    const twenty = (await cf.rulesets.phases.update(phase, {
      zone_id: pro.id,
      rules: Array.from({ length: 20 }, (_, i) => rule(i)),
    })) as RulesetResult;
    expect(twenty.rules).toHaveLength(20);

    await failure(
      () =>
        cf.rulesets.phases.update(phase, {
          zone_id: zone,
          rules: [{ action: 'rewrite' as never, expression: 'true' }],
        }),
      BadRequestError,
    );
    const unbalanced = await failure(
      () =>
        cf.rulesets.phases.update(phase, {
          zone_id: zone,
          rules: [{ action: 'block', expression: '(http.host eq "x"' }],
        }),
      BadRequestError,
    );
    expect(unbalanced.error.errors[0]).toMatchObject({ source: { pointer: '/rules/0/expression' } });
  });

  it('checks IP sets, set syntax and strings in expressions like wirefilter (400, pointer, its error form)', async () => {
    const allowList =
      '(http.host eq "a.example.com" and not ip.src in {203.0.113.0/24 198.51.100.7 2001:db8::/32}) or ' +
      '(http.host eq "b.example.com" and not ip.src in {192.0.2.0..192.0.2.15})';
    const rs = (await cf.rulesets.phases.update(phase, {
      zone_id: zone,
      rules: [{ action: 'block', expression: allowList }],
    })) as RulesetResult;
    expect(rs.rules[0]?.expression).toBe(allowList);

    const bad: Array<[string, RegExp]> = [
      ['not ip.src in {fe80::1%eth0}', /zone index/],
      ['not ip.src in {10.0.0.0/024}', /leading zero/],
      ['not ip.src in {10.0.0.1/24}', /host bits are set/],
      ['not ip.src in {10.0.0.0/33}', /out of range/],
      ['not ip.src in {10.0.0.0/8, 192.0.2.0/24}', /separated by spaces, not commas/],
      ['ip.src eq 10.0.0.0/8', /only allowed inside a set/],
      ["http.host eq 'a.example.com'", /double quotes/],
      ['http.host in {"a" b}', /expected a string in double quotes/],
    ];
    for (const [expression, reason] of bad) {
      const put = await failure(
        () => cf.rulesets.phases.update(phase, { zone_id: zone, rules: [{ action: 'block', expression }] }),
        BadRequestError,
      );
      expect(put.code, expression).toBe(20021);
      expect(put.message, expression).toMatch(/^Filter parsing error \(1:\d+\):\n/);
      expect(put.message, expression).toMatch(reason);
      expect(put.error.errors[0]).toMatchObject({ source: { pointer: '/rules/0/expression' } });
      const post = await failure(
        () => cf.rulesets.rules.create(rs.id, { zone_id: zone, action: 'block', expression }),
        BadRequestError,
      );
      expect(post.error.errors[0]).toMatchObject({ code: 20021, source: { pointer: '/expression' } });
      await failure(
        () =>
          cf.rulesets.rules.edit(rs.rules[0]?.id ?? '', {
            ruleset_id: rs.id,
            zone_id: zone,
            action: 'block',
            expression,
          }),
        BadRequestError,
      );
    }
    const after = (await cf.rulesets.phases.get(phase, { zone_id: zone })) as RulesetResult;
    expect(after).toMatchObject({ version: rs.version, rules: [{ expression: allowList }] });
  });

  it('takes expressions up to 4,096 characters', async () => {
    const of = (length: number) => {
      const head = 'http.host eq "';
      return `${head}${'a'.repeat(length - head.length - 1)}"`;
    };
    const longest = (await cf.rulesets.phases.update(phase, {
      zone_id: zone,
      rules: [{ action: 'block', expression: of(4096) }],
    })) as RulesetResult;
    expect(longest.rules[0]?.expression).toHaveLength(4096);
    const tooLong = await failure(
      () =>
        cf.rulesets.phases.update(phase, {
          zone_id: zone,
          rules: [{ action: 'block', expression: of(4097) }],
        }),
      BadRequestError,
    );
    expect(tooLong).toMatchObject({ code: 20021, message: expect.stringContaining('maximum is 4096') });
  });
});

describe('Access', () => {
  const access = () => cf.zeroTrust.access;

  it('creates service tokens whose secret is shown only on create and rotate', async () => {
    const created = await access().serviceTokens.create({
      account_id: account,
      name: 'db-access',
      duration: '8760h',
    });
    expect(created.client_id).toMatch(/^[0-9a-f]{32}\.access$/);
    expect(created.client_secret).toMatch(/^[0-9a-f]{64}$/);
    const id = created.id ?? '';
    const got = await access().serviceTokens.get(id, { account_id: account });
    expect(got).not.toHaveProperty('client_secret');
    expect(got).toMatchObject({ id, name: 'db-access', client_id: created.client_id, duration: '8760h' });
    const listed = await access().serviceTokens.list({ account_id: account });
    expect(listed.result.map((t) => t.id)).toEqual([id]);
    expect(listed.result[0]).not.toHaveProperty('client_secret');
    expect((await access().serviceTokens.update(id, { account_id: account, name: 'renamed' })).name).toBe(
      'renamed',
    );
    const refreshed = await access().serviceTokens.refresh(id, { account_id: account });
    expect(Date.parse(refreshed.expires_at ?? '')).toBeGreaterThanOrEqual(Date.parse(got.expires_at ?? ''));
    const rotated = await access().serviceTokens.rotate(id, { account_id: account });
    expect(rotated.client_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.client_secret).not.toBe(created.client_secret);
    expect(emu.control.state().serviceTokens[0]?.clientSecret).toBe(rotated.client_secret);
    await access().serviceTokens.delete(id, { account_id: account });
    await failure(() => access().serviceTokens.get(id, { account_id: account }), NotFoundError);
    await failure(
      () => access().serviceTokens.create({ account_id: account, name: 'x', duration: 'a year' }),
      BadRequestError,
    );
  });

  it('creates applications with aud and embedded reusable policies; app-scoped policies CRUD', async () => {
    const token = await access().serviceTokens.create({ account_id: account, name: 'svc' });
    const reusable = await access().policies.create({
      account_id: account,
      name: 'service auth',
      decision: 'non_identity',
      include: [{ service_token: { token_id: token.id ?? '' } }],
    });
    expect(reusable).toMatchObject({ name: 'service auth', decision: 'non_identity', reusable: true });
    const app = await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'db.example.com',
      name: 'db',
      session_duration: '24h',
      policies: [reusable.id ?? ''],
    });
    const appId = (app as { id?: string }).id ?? '';
    expect((app as { aud?: string }).aud).toMatch(/^[0-9a-f]{64}$/);
    expect(app).toMatchObject({ type: 'self_hosted', domain: 'db.example.com', name: 'db' });
    expect((app as { policies?: unknown[] }).policies).toEqual([
      expect.objectContaining({ id: reusable.id, precedence: 1 }),
    ]);
    expect((await access().policies.get(reusable.id ?? '', { account_id: account })).app_count).toBe(1);
    await failure(
      () => access().policies.delete(reusable.id ?? '', { account_id: account }),
      BadRequestError,
    );

    const scoped = await access().applications.policies.create(appId, {
      account_id: account,
      name: 'office',
      decision: 'allow',
      include: [{ ip: { ip: '203.0.113.0/24' } }],
      precedence: 2,
    } as never);
    const scopedId = (scoped as { id?: string }).id ?? '';
    const appPolicies = await access().applications.policies.list(appId, { account_id: account });
    expect(appPolicies.result.map((p) => (p as { id?: string }).id)).toEqual([reusable.id, scopedId]);
    const updated = await access().applications.policies.update(scopedId, {
      account_id: account,
      app_id: appId,
      name: 'office-2',
      decision: 'allow',
      include: [{ everyone: {} }],
    } as never);
    expect(updated).toMatchObject({ name: 'office-2' });
    expect(
      await access().applications.policies.get(scopedId, { account_id: account, app_id: appId }),
    ).toMatchObject({ name: 'office-2' });
    await access().applications.policies.delete(scopedId, { account_id: account, app_id: appId });

    const replaced = await access().applications.update(appId, {
      account_id: account,
      type: 'self_hosted',
      domain: 'db2.example.com',
      policies: [],
    });
    expect(replaced).toMatchObject({ domain: 'db2.example.com', name: 'db2.example.com', policies: [] });
    expect((await access().applications.get(appId, { account_id: account })).id).toBe(appId);
    expect((await access().applications.list({ account_id: account })).result).toHaveLength(1);
    await access().applications.delete(appId, { account_id: account });
    await failure(() => access().applications.get(appId, { account_id: account }), NotFoundError);

    const policies = await access().policies.update(reusable.id ?? '', {
      account_id: account,
      name: 'svc-2',
      decision: 'non_identity',
      include: [{ any_valid_service_token: {} }],
    });
    expect(policies.name).toBe('svc-2');
    expect((await access().policies.list({ account_id: account })).result).toHaveLength(1);
    await access().policies.delete(reusable.id ?? '', { account_id: account });
    await failure(() => access().policies.get(reusable.id ?? '', { account_id: account }), NotFoundError);
  });

  it("answers 400, not 500, for service-token durations beyond Go's time.Duration", async () => {
    for (const duration of ['99999999999h', '2562048h', '9223372037s']) {
      const created = await failure(
        () => access().serviceTokens.create({ account_id: account, name: 'huge', duration }),
        BadRequestError,
      );
      expect(created.code, duration).toBe(12130);
      expect(created.message).toContain('out of range');
    }
    const max = await access().serviceTokens.create({
      account_id: account,
      name: 'max',
      duration: '2562047h',
    });
    const expires = (max as { expires_at?: string }).expires_at ?? '';
    expect(Date.parse(expires)).toBeGreaterThan(Date.now() + 290 * 365 * 86_400_000);
    const id = max.id ?? '';
    const updated = await failure(
      () => access().serviceTokens.update(id, { account_id: account, duration: '99999999999h' } as never),
      BadRequestError,
    );
    expect(updated.message).toContain('out of range');
    expect((await access().serviceTokens.get(id, { account_id: account })).duration).toBe('2562047h');
    await failure(
      () =>
        access().applications.create({
          account_id: account,
          type: 'self_hosted',
          domain: 'long.example.com',
          session_duration: '99999999999h',
        }),
      BadRequestError,
    );
  });

  it('takes an application back with PUT with its own app-scoped policy ids', async () => {
    const app = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'round.example.com',
      policies: [{ name: 'inline', decision: 'allow', include: [{ everyone: {} }] } as never],
    })) as { id: string; policies: Array<{ id: string; precedence: number }> };
    const scopedId = app.policies[0]?.id ?? '';
    expect(scopedId).toMatch(/^[0-9a-f-]{36}$/);
    const fetched = (await access().applications.get(app.id, { account_id: account })) as Record<
      string,
      unknown
    >;
    const replaced = (await access().applications.update(app.id, {
      ...fetched,
      account_id: account,
    } as never)) as { policies: Array<{ id: string; name: string; precedence: number }> };
    expect(replaced.policies).toEqual([
      expect.objectContaining({ id: scopedId, name: 'inline', precedence: 1 }),
    ]);
    const byId = (await access().applications.update(app.id, {
      account_id: account,
      type: 'self_hosted',
      domain: 'round.example.com',
      policies: [scopedId],
    })) as { policies: Array<{ id: string }> };
    expect(byId.policies.map((p) => p.id)).toEqual([scopedId]);
    expect(emu.control.state().accessPolicies.map((p) => p.id)).toEqual([scopedId]);

    const other = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'other.example.com',
    })) as { id: string };
    const foreign = await failure(
      () =>
        access().applications.update(other.id, {
          account_id: account,
          type: 'self_hosted',
          domain: 'other.example.com',
          policies: [scopedId],
        }),
      BadRequestError,
    );
    expect(foreign.message).toContain(scopedId);
    await failure(
      () =>
        access().applications.create({
          account_id: account,
          type: 'self_hosted',
          domain: 'third.example.com',
          policies: [scopedId],
        }),
      BadRequestError,
    );
  });

  it('validates applications and policies', async () => {
    await failure(
      () =>
        access().policies.create({
          account_id: account,
          name: 'x',
          decision: 'maybe' as never,
          include: [{ everyone: {} }],
        }),
      BadRequestError,
    );
    await failure(
      () => access().policies.create({ account_id: account, name: 'x', decision: 'allow', include: [] }),
      BadRequestError,
    );
    await failure(
      () =>
        access().policies.create({
          account_id: account,
          name: 'x',
          decision: 'non_identity',
          include: [{ service_token: { token_id: 'nope' } }],
        }),
      BadRequestError,
    );
    await failure(
      () => access().applications.create({ account_id: account, type: 'self_hosted' } as never),
      BadRequestError,
    );
    await failure(
      () =>
        access().applications.create({
          account_id: account,
          type: 'self_hosted',
          domain: 'a.example.com',
          policies: ['missing'],
        }),
      BadRequestError,
    );
  });
});

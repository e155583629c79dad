// Access through the SDK: account limits (documented defaults, smaller ones per instance),
// strict policy rules, service-token expiry (control, refresh, rotate), and what the
// `evaluateAccess` helper says an application admits.
import Cloudflare, { BadRequestError } from 'cloudflare';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ControlError,
  startCloudflareEmulator,
  type AccessRequest,
  type StartedCloudflareEmulator,
} from './index.js';

let emu: StartedCloudflareEmulator;
let cf: Cloudflare;
let account: string;

function client(target: StartedCloudflareEmulator): Cloudflare {
  return new Cloudflare({
    apiToken: target.token,
    baseURL: target.url,
    apiKey: null,
    apiEmail: null,
    maxRetries: 0,
  });
}

/** Runs `fn`, expects a 400, and returns its first Cloudflare error. */
async function badRequest(fn: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    const [first] = (error as BadRequestError).errors as Array<{ code: number; message: string }>;
    return first ?? { code: 0, message: '' };
  }
  throw new Error('expected a 400');
}

const access = () => cf.zeroTrust.access;
const HOUR = 3_600_000;

beforeAll(async () => {
  emu = await startCloudflareEmulator();
  cf = client(emu);
  account = emu.accountId;
});
afterAll(async () => emu.close());
beforeEach(() => emu.control.reset());

describe('Access account limits', () => {
  it('defaults to the documented limits and enforces 50 service tokens', async () => {
    expect(emu.control.accessLimits()).toEqual({
      applications: 500,
      serviceTokens: 50,
      reusablePolicies: 500,
      rulesPerApplication: 1000,
      ipsPerRule: 1000,
      emailsPerRule: 1000,
    });
    for (let i = 0; i < 50; i += 1) {
      await access().serviceTokens.create({ account_id: account, name: `t${i}` });
    }
    const fiftyFirst = await badRequest(() =>
      access().serviceTokens.create({ account_id: account, name: 't50' }),
    );
    expect(fiftyFirst).toMatchObject({ code: 12142, message: expect.stringContaining('at most 50') });
    expect(emu.control.state().serviceTokens).toHaveLength(50);
  });

  it('takes smaller limits at start and refuses the next application, token and reusable policy', async () => {
    const small = await startCloudflareEmulator({
      accessLimits: { applications: 1, serviceTokens: 1, reusablePolicies: 1 },
    });
    try {
      const sdk = client(small).zeroTrust.access;
      const id = { account_id: small.accountId };
      const app = (await sdk.applications.create({
        ...id,
        type: 'self_hosted',
        domain: 'a.example.com',
      })) as { id: string };
      expect(
        await badRequest(() =>
          sdk.applications.create({ ...id, type: 'self_hosted', domain: 'b.example.com' }),
        ),
      ).toMatchObject({ code: 12141 });
      const token = await sdk.serviceTokens.create({ ...id, name: 'one' });
      expect(await badRequest(() => sdk.serviceTokens.create({ ...id, name: 'two' }))).toMatchObject({
        code: 12142,
      });
      const policy = { name: 'p', decision: 'allow' as const, include: [{ everyone: {} }] };
      await sdk.policies.create({ ...id, ...policy });
      expect(await badRequest(() => sdk.policies.create({ ...id, ...policy }))).toMatchObject({
        code: 12143,
      });
      // App-scoped policies are not reusable ones: they do not count against that limit.
      await sdk.applications.policies.create(app.id, { ...id, ...policy } as never);

      // Deleting frees the slot.
      await sdk.applications.delete(app.id, id);
      await sdk.applications.create({ ...id, type: 'self_hosted', domain: 'b.example.com' });
      await sdk.serviceTokens.delete(token.id ?? '', id);
      await sdk.serviceTokens.create({ ...id, name: 'two' });
      expect(small.control.state().accessApps).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it('counts the rules of all policies of an application, on every call that changes them', async () => {
    emu.control.setAccessLimits({ rulesPerApplication: 3 });
    const ip = (n: number) => ({ ip: { ip: `192.0.2.${n}` } });
    const reusable = await access().policies.create({
      account_id: account,
      name: 'two rules',
      decision: 'allow',
      include: [ip(1)],
      exclude: [ip(2)],
    });
    const tooMany = await badRequest(() =>
      access().applications.create({
        account_id: account,
        type: 'self_hosted',
        domain: 'db.example.com',
        policies: [
          reusable.id ?? '',
          { name: 'inline', decision: 'allow', include: [ip(3), ip(4)] } as never,
        ],
      }),
    );
    expect(tooMany).toMatchObject({ code: 12144, message: expect.stringContaining('at most 3 rules') });
    expect(emu.control.state().accessApps).toEqual([]);

    const app = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'db.example.com',
      policies: [reusable.id ?? ''],
    })) as { id: string };
    const scoped = (await access().applications.policies.create(app.id, {
      account_id: account,
      name: 'third',
      decision: 'allow',
      include: [ip(3)],
    } as never)) as { id: string };
    expect(
      await badRequest(() =>
        access().applications.policies.create(app.id, {
          account_id: account,
          name: 'fourth',
          decision: 'allow',
          include: [ip(4)],
        } as never),
      ),
    ).toMatchObject({ code: 12144 });
    expect(
      await badRequest(() =>
        access().applications.policies.update(scoped.id, {
          account_id: account,
          app_id: app.id,
          name: 'third',
          decision: 'allow',
          include: [ip(3), ip(4)],
        } as never),
      ),
    ).toMatchObject({ code: 12144 });
    expect(
      await badRequest(() =>
        access().policies.update(reusable.id ?? '', {
          account_id: account,
          name: 'three rules',
          decision: 'allow',
          include: [ip(1), ip(5)],
          exclude: [ip(2)],
        }),
      ),
    ).toMatchObject({ code: 12144 });
    expect(
      await badRequest(() =>
        access().applications.update(app.id, {
          account_id: account,
          type: 'self_hosted',
          domain: 'db.example.com',
          policies: [
            reusable.id ?? '',
            scoped.id,
            { name: 'x', decision: 'deny', include: [ip(9)] } as never,
          ],
        }),
      ),
    ).toMatchObject({ code: 12144 });
    // Nothing changed, and a replacement within the limit passes.
    expect(emu.control.accessPolicies(app.id).map((p) => p.name)).toEqual(['two rules', 'third']);
    await access().applications.policies.update(scoped.id, {
      account_id: account,
      app_id: app.id,
      name: 'third',
      decision: 'allow',
      include: [ip(7)],
    } as never);
    expect(emu.control.accessPolicies(app.id)[1]?.include).toEqual([ip(7)]);
  });

  it('limits the ip and email rules of one include, require or exclude list', async () => {
    emu.control.setAccessLimits({ ipsPerRule: 2, emailsPerRule: 1 });
    const ips = (n: number) => Array.from({ length: n }, (_, i) => ({ ip: { ip: `192.0.2.${i}` } }));
    const base = { account_id: account, name: 'p', decision: 'allow' as const };
    await access().policies.create({ ...base, include: ips(2), exclude: ips(2) });
    expect(await badRequest(() => access().policies.create({ ...base, include: ips(3) }))).toMatchObject({
      code: 12145,
      message: 'include may hold at most 2 IP addresses',
    });
    const emails = [{ email: { email: 'a@example.com' } }, { email: { email: 'b@example.com' } }];
    expect(
      await badRequest(() =>
        access().policies.create({ ...base, include: [{ everyone: {} }], require: emails }),
      ),
    ).toMatchObject({ code: 12146, message: 'require may hold at most 1 email addresses' });
    expect(
      await badRequest(() =>
        access().applications.create({
          account_id: account,
          type: 'self_hosted',
          domain: 'db.example.com',
          policies: [{ ...base, include: ips(3) } as never],
        }),
      ),
    ).toMatchObject({ code: 12145, message: 'policies[0].include may hold at most 2 IP addresses' });
  });

  it('validates limits and restores the start limits on reset()', async () => {
    expect(() => emu.control.setAccessLimits({ applications: -1 })).toThrow(ControlError);
    expect(() => emu.control.setAccessLimits({ apps: 3 } as never)).toThrow(/unknown Access limit "apps"/);
    await expect(startCloudflareEmulator({ accessLimits: { serviceTokens: 1.5 } })).rejects.toThrow(
      /serviceTokens must be an integer >= 0/,
    );
    emu.control.setAccessLimits({ applications: 0 });
    expect(
      await badRequest(() =>
        access().applications.create({ account_id: account, type: 'self_hosted', domain: 'a.example.com' }),
      ),
    ).toMatchObject({ code: 12141 });
    emu.control.reset();
    expect(emu.control.accessLimits().applications).toBe(500);
  });
});

describe('Access policy rules', () => {
  const policy = (include: unknown[], extra: Record<string, unknown> = {}) =>
    access().policies.create({
      account_id: account,
      name: 'p',
      decision: 'allow',
      include,
      ...extra,
    } as never);

  it.each([
    ['fe80::1%eth0', /zone index/],
    ['10.0.0.0/024', /leading zero/],
    ['10.0.0.0/33', /out of range for IPv4/],
    ['2001:db8::/129', /out of range for IPv6/],
    ['10.0.0.1/24', /host bits are set/],
    ['010.0.0.1', /leading zero/],
    ['10.0.0', /not an IPv4 address/],
    ['10.0.0.0 - 10.0.0.255', /not an IPv4 address/],
    ['', /include\[0\]\.ip\.ip is required/],
  ])('refuses the ip rule %j', async (ip, reason) => {
    const error = await badRequest(() => policy([{ ip: { ip } }]));
    expect(error.code).toBe(12130);
    expect(error.message).toMatch(reason);
    expect(emu.control.state().accessPolicies).toEqual([]);
  });

  it.each(['203.0.113.7', '203.0.113.0/24', '0.0.0.0/0', '2001:db8::/32', '::1', '2400:cb00:21:10a::/64'])(
    'accepts the ip rule %j',
    async (ip) => {
      expect((await policy([{ ip: { ip } }])).include).toEqual([{ ip: { ip } }]);
    },
  );

  it('accepts the four decisions and the rule kinds it evaluates', async () => {
    const token = await access().serviceTokens.create({ account_id: account, name: 'svc' });
    for (const decision of ['allow', 'deny', 'non_identity', 'bypass']) {
      await policy([{ everyone: {} }], { decision });
    }
    const all = await policy(
      [
        { email: { email: 'alice@example.com' } },
        { email_domain: { domain: 'example.com' } },
        { everyone: {} },
        { service_token: { token_id: token.id } },
        { any_valid_service_token: {} },
        { geo: { country_code: 'PT' } },
      ],
      { require: [{ ip: { ip: '192.0.2.0/24' } }], exclude: [{ email: { email: 'mallory@example.com' } }] },
    );
    expect(all.include).toHaveLength(6);
    expect(all.require).toEqual([{ ip: { ip: '192.0.2.0/24' } }]);
  });

  it('refuses malformed rules, naming the list, the index and the part', async () => {
    const cases: Array<[unknown[], Record<string, unknown>, RegExp]> = [
      [
        [{ email: { email: 'not-an-email' } }],
        {},
        /include\[0\]\.email\.email "not-an-email" is not an email/,
      ],
      [
        [{ email: { email: 'al\u0000ice@example.com' } }],
        {},
        /include\[0\]\.email\.email .* is not an email/,
      ],
      [
        [{ email_domain: { domain: '@example.com' } }],
        {},
        /email_domain\.domain "@example\.com" is not a domain/,
      ],
      [[{ everyone: {} }, { nope: {} }], {}, /include\[1\]: unknown rule type "nope"/],
      [
        [{ everyone: {}, ip: { ip: '192.0.2.1' } }],
        {},
        /include\[0\] must be an object with exactly one rule type/,
      ],
      [[{ everyone: true }], {}, /include\[0\]\.everyone must be an object/],
      [
        [{ service_token: { token_id: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415' } }],
        {},
        /service token .* does not exist/,
      ],
      [
        [{ everyone: {} }],
        { exclude: [{ ip: { ip: '10.0.0.1/8' } }] },
        /exclude\[0\]\.ip\.ip "10\.0\.0\.1\/8"/,
      ],
      [[{ everyone: {} }], { require: { ip: { ip: '10.0.0.0/8' } } }, /require must be an array of rules/],
      [[], {}, /include must contain at least one rule/],
      [
        [{ everyone: {} }],
        { decision: 'maybe' },
        /decision must be one of: allow, deny, non_identity, bypass/,
      ],
    ];
    for (const [include, extra, reason] of cases) {
      const error = await badRequest(() => policy(include, extra));
      expect(error.message, JSON.stringify([include, extra])).toMatch(reason);
    }
    expect(emu.control.state().accessPolicies).toEqual([]);
  });

  it('checks app-scoped and inline policies the same way', async () => {
    const inline = await badRequest(() =>
      access().applications.create({
        account_id: account,
        type: 'self_hosted',
        domain: 'db.example.com',
        policies: [{ name: 'x', decision: 'allow', include: [{ ip: { ip: 'fe80::1%eth0' } }] } as never],
      }),
    );
    expect(inline.message).toMatch(/^policies\[0\]\.include\[0\]\.ip\.ip "fe80::1%eth0"/);
    const app = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'db.example.com',
    })) as { id: string };
    const scoped = await badRequest(() =>
      access().applications.policies.create(app.id, {
        account_id: account,
        name: 'x',
        decision: 'non_identity',
        include: [{ ip: { ip: '10.0.0.0/024' } }],
      } as never),
    );
    expect(scoped.message).toMatch(/leading zero/);
    const update = await badRequest(() =>
      access().applications.update(app.id, {
        account_id: account,
        type: 'self_hosted',
        domain: 'db.example.com',
        policies: [{ name: 'x', decision: 'bypass', include: [{ ip: { ip: '10.0.0.1/24' } }] } as never],
      }),
    );
    expect(update.message).toMatch(/host bits are set/);
    expect(emu.control.accessPolicies(app.id)).toEqual([]);
  });
});

describe('service token expiry', () => {
  it('lists and gets duration and expires_at; refresh moves expiry to now + duration; rotate does not', async () => {
    const created = await access().serviceTokens.create({ account_id: account, name: 'ci', duration: '2h' });
    const id = created.id ?? '';
    const got = await access().serviceTokens.get(id, { account_id: account });
    expect(got).toMatchObject({ id, duration: '2h' });
    const createdAt = Date.parse((got as { created_at?: string }).created_at ?? '');
    expect(Date.parse(got.expires_at ?? '') - createdAt).toBe(2 * HOUR);
    const listed = (await access().serviceTokens.list({ account_id: account })).result[0];
    expect(listed).toMatchObject({ id, duration: '2h', expires_at: got.expires_at });

    const soon = new Date(Date.now() + 60_000);
    emu.control.setServiceTokenExpiry(id, soon);
    const nearExpiry = await access().serviceTokens.get(id, { account_id: account });
    expect(Date.parse(nearExpiry.expires_at ?? '')).toBe(soon.getTime());

    const rotated = await access().serviceTokens.rotate(id, { account_id: account });
    expect(rotated.client_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.client_secret).not.toBe(created.client_secret);
    expect((await access().serviceTokens.get(id, { account_id: account })).expires_at).toBe(
      nearExpiry.expires_at,
    );

    const before = Date.now();
    const refreshed = await access().serviceTokens.refresh(id, { account_id: account });
    const expires = Date.parse(refreshed.expires_at ?? '');
    expect(expires).toBeGreaterThanOrEqual(before + 2 * HOUR);
    expect(expires).toBeLessThanOrEqual(Date.now() + 2 * HOUR);
    expect(refreshed).toMatchObject({ duration: '2h' });
    expect(refreshed).not.toHaveProperty('client_secret');
  });

  it('gives forever tokens no expiry, and the control can set or clear one', async () => {
    const forever = await access().serviceTokens.create({
      account_id: account,
      name: 'f',
      duration: 'forever',
    });
    const id = forever.id ?? '';
    expect((await access().serviceTokens.get(id, { account_id: account })).expires_at).toBeNull();
    emu.control.setServiceTokenExpiry(id, '2030-01-02T03:04:05Z');
    expect((await access().serviceTokens.get(id, { account_id: account })).expires_at).toBe(
      '2030-01-02T03:04:05.000000Z',
    );
    emu.control.setServiceTokenExpiry(id, null);
    expect((await access().serviceTokens.get(id, { account_id: account })).expires_at).toBeNull();
    expect(() => emu.control.setServiceTokenExpiry(id, 'soon')).toThrow(/expiresAt must be a date/);
    expect(() => emu.control.setServiceTokenExpiry('f174e90a-fafe-4643-bbbc-4a0ed4fc8415', null)).toThrow(
      /unknown service token/,
    );
  });
});

describe('which requests an application admits (evaluateAccess)', () => {
  async function setUp() {
    const ci = await access().serviceTokens.create({ account_id: account, name: 'ci' });
    const other = await access().serviceTokens.create({ account_id: account, name: 'other' });
    const app = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'db.example.com',
      policies: [
        // Precedence order is deliberately not phase order.
        {
          name: 'staff',
          decision: 'allow',
          precedence: 1,
          include: [{ email_domain: { domain: 'example.com' } }],
          exclude: [{ email: { email: 'mallory@example.com' } }],
        },
        { name: 'nobody else', decision: 'deny', precedence: 2, include: [{ everyone: {} }] },
        {
          name: 'ci from the office',
          decision: 'non_identity',
          precedence: 3,
          include: [{ service_token: { token_id: ci.id } }],
          require: [{ ip: { ip: '203.0.113.0/24' } }],
        },
        { name: 'health check', decision: 'bypass', precedence: 4, include: [{ ip: { ip: '192.0.2.10' } }] },
      ] as never,
    })) as { id: string };
    return { app, ci, other };
  }

  it('follows Access order: bypass and service auth first, then allow/deny by precedence', async () => {
    const { ci, other } = await setUp();
    const token = (t: { client_id?: string; client_secret?: string }, secret = t.client_secret ?? '') => ({
      clientId: t.client_id ?? '',
      clientSecret: secret,
    });
    const table: Array<[string, AccessRequest, string, boolean]> = [
      ['health checker, no credentials', { ip: '192.0.2.10' }, 'bypass', true],
      ['ci token from the office', { ip: '203.0.113.5', serviceToken: token(ci) }, 'service_auth', true],
      ['ci token from elsewhere', { ip: '198.51.100.1', serviceToken: token(ci) }, 'login_required', false],
      [
        'another token from the office',
        { ip: '203.0.113.5', serviceToken: token(other) },
        'login_required',
        false,
      ],
      [
        'ci id with a wrong secret',
        { ip: '203.0.113.5', serviceToken: token(ci, '0'.repeat(64)) },
        'login_required',
        false,
      ],
      ['staff member', { ip: '198.51.100.1', email: 'alice@example.com' }, 'allow', true],
      ['staff member, e-mail in capitals', { ip: '198.51.100.1', email: 'Alice@Example.COM' }, 'allow', true],
      ['excluded staff member', { ip: '198.51.100.1', email: 'mallory@example.com' }, 'deny', false],
      ['outsider', { ip: '198.51.100.1', email: 'eve@example.net' }, 'deny', false],
      [
        'a token does not satisfy allow policies',
        { ip: '198.51.100.1', serviceToken: token(ci), email: 'eve@example.net' },
        'deny',
        false,
      ],
      ['no credentials', { ip: '2001:db8::1' }, 'login_required', false],
    ];
    for (const [what, request, outcome, admitted] of table) {
      expect(emu.control.evaluateAccess('db.example.com', request), what).toMatchObject({
        outcome,
        admitted,
      });
    }
    expect(emu.control.evaluateAccess('db.example.com', { ip: '192.0.2.10' }).policy).toMatchObject({
      name: 'health check',
      decision: 'bypass',
      precedence: 4,
    });
  });

  it('refuses expired and rotated-out service tokens', async () => {
    const { app, ci } = await setUp();
    const request = {
      ip: '203.0.113.5',
      serviceToken: { clientId: ci.client_id ?? '', clientSecret: ci.client_secret ?? '' },
    };
    expect(emu.control.evaluateAccess(app.id, request).outcome).toBe('service_auth');
    expect(emu.control.evaluateAccess(app.id, { ...request, at: Date.now() + 8761 * HOUR }).outcome).toBe(
      'login_required',
    );
    emu.control.setServiceTokenExpiry(ci.id ?? '', new Date(Date.now() - 1000));
    expect(emu.control.evaluateAccess(app.id, request).admitted).toBe(false);
    await access().serviceTokens.refresh(ci.id ?? '', { account_id: account });
    expect(emu.control.evaluateAccess(app.id, request).admitted).toBe(true);
    const rotated = await access().serviceTokens.rotate(ci.id ?? '', { account_id: account });
    expect(emu.control.evaluateAccess(app.id, request).admitted).toBe(false);
    const renewed = {
      ...request,
      serviceToken: { ...request.serviceToken, clientSecret: rotated.client_secret ?? '' },
    };
    expect(emu.control.evaluateAccess(app.id, renewed).admitted).toBe(true);
  });

  it('denies when no policy matches, and honours any_valid_service_token and precedence', async () => {
    const token = await access().serviceTokens.create({ account_id: account, name: 'any' });
    const presented = { clientId: token.client_id ?? '', clientSecret: token.client_secret ?? '' };
    const app = (await access().applications.create({
      account_id: account,
      type: 'self_hosted',
      domain: 'api.example.com',
      policies: [
        { name: 'services', decision: 'non_identity', include: [{ any_valid_service_token: {} }] } as never,
      ],
    })) as { id: string };
    expect(emu.control.evaluateAccess(app.id, { ip: '192.0.2.1', serviceToken: presented }).outcome).toBe(
      'service_auth',
    );
    expect(emu.control.evaluateAccess(app.id, { ip: '192.0.2.1' })).toEqual({
      admitted: false,
      outcome: 'no_policy_matched',
      policy: null,
    });
    await access().applications.policies.create(app.id, {
      account_id: account,
      name: 'block all',
      decision: 'deny',
      precedence: 5,
      include: [{ everyone: {} }],
    } as never);
    await access().applications.policies.create(app.id, {
      account_id: account,
      name: 'alice',
      decision: 'allow',
      precedence: 6,
      include: [{ email: { email: 'alice@example.com' } }],
    } as never);
    // The first matching allow/deny policy decides: block all comes first.
    expect(emu.control.evaluateAccess(app.id, { ip: '192.0.2.1', email: 'alice@example.com' }).outcome).toBe(
      'deny',
    );
  });

  it('shows the policies and rules of an application by id or domain, as copies', async () => {
    const { app } = await setUp();
    const policies = emu.control.accessPolicies('db.example.com');
    expect(policies.map((p) => [p.name, p.decision, p.precedence, p.reusable])).toEqual([
      ['staff', 'allow', 1, false],
      ['nobody else', 'deny', 2, false],
      ['ci from the office', 'non_identity', 3, false],
      ['health check', 'bypass', 4, false],
    ]);
    expect(
      policies.flatMap((p) => [...p.include, ...p.require]).filter((r) => 'ip' in (r as object)),
    ).toEqual([{ ip: { ip: '203.0.113.0/24' } }, { ip: { ip: '192.0.2.10' } }]);
    (policies[0]?.include as unknown[]).length = 0;
    expect(emu.control.accessPolicies(app.id)[0]?.include).toHaveLength(1);
    expect(() => emu.control.accessPolicies('nope.example.com')).toThrow(/unknown Access application/);
    expect(() => emu.control.evaluateAccess(app.id, { ip: '10.0.0.0/8' })).toThrow(
      /ip must be one IPv4 or IPv6 address/,
    );
  });
});

// Every response the emulator gives on a documented path (success and error) validates
// against Cloudflare's published OpenAPI description (the subset kept in fixtures/, see
// fixtures/README.md). The DNS batch endpoint is newer than that description, so its
// response is checked against the SDK's RecordBatchResponse type (records use the
// description's record schema). The suite fails, saying so, when the description is absent.
import Cloudflare from 'cloudflare';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudflareEmulator, type StartedCloudflareEmulator } from './index.js';
import { createOpenApiChecker, loadOpenApi } from './openapi-check.js';

const specPath = fileURLToPath(new URL('./fixtures/cloudflare-openapi-subset.json', import.meta.url));
/** SHA-256 of the fixture as copied from Cloudflare's subset (fixtures/README.md). */
const SPEC_SHA256 = '110813a68d5c169e56797a7f786ad1807e00e324995780bded859c252725d91c';

interface Captured {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

/** Operations (method + documented path) the scenario must cover with a 2xx answer. */
const EXPECTED_OPERATIONS = [
  'GET /user/tokens/verify',
  'GET /zones',
  'GET /zones/{zone_id}',
  'POST /accounts/{account_id}/cfd_tunnel',
  'GET /accounts/{account_id}/cfd_tunnel',
  'GET /accounts/{account_id}/cfd_tunnel/{tunnel_id}',
  'PATCH /accounts/{account_id}/cfd_tunnel/{tunnel_id}',
  'DELETE /accounts/{account_id}/cfd_tunnel/{tunnel_id}',
  'GET /accounts/{account_id}/cfd_tunnel/{tunnel_id}/token',
  'GET /accounts/{account_id}/cfd_tunnel/{tunnel_id}/configurations',
  'PUT /accounts/{account_id}/cfd_tunnel/{tunnel_id}/configurations',
  'GET /accounts/{account_id}/cfd_tunnel/{tunnel_id}/connections',
  'DELETE /accounts/{account_id}/cfd_tunnel/{tunnel_id}/connections',
  'GET /accounts/{account_id}/cfd_tunnel/{tunnel_id}/connectors/{connector_id}',
  'POST /accounts/{account_id}/cfd_tunnel/{tunnel_id}/management',
  'POST /zones/{zone_id}/dns_records',
  'GET /zones/{zone_id}/dns_records',
  'GET /zones/{zone_id}/dns_records/{dns_record_id}',
  'PUT /zones/{zone_id}/dns_records/{dns_record_id}',
  'PATCH /zones/{zone_id}/dns_records/{dns_record_id}',
  'DELETE /zones/{zone_id}/dns_records/{dns_record_id}',
  'GET /zones/{zone_id}/rulesets',
  'GET /zones/{zone_id}/rulesets/{ruleset_id}',
  'GET /zones/{zone_id}/rulesets/phases/{ruleset_phase}/entrypoint',
  'PUT /zones/{zone_id}/rulesets/phases/{ruleset_phase}/entrypoint',
  'POST /zones/{zone_id}/rulesets/{ruleset_id}/rules',
  'PATCH /zones/{zone_id}/rulesets/{ruleset_id}/rules/{rule_id}',
  'DELETE /zones/{zone_id}/rulesets/{ruleset_id}/rules/{rule_id}',
  'GET /accounts/{account_id}/access/apps',
  'POST /accounts/{account_id}/access/apps',
  'GET /accounts/{account_id}/access/apps/{app_id}',
  'PUT /accounts/{account_id}/access/apps/{app_id}',
  'DELETE /accounts/{account_id}/access/apps/{app_id}',
  'GET /accounts/{account_id}/access/apps/{app_id}/policies',
  'POST /accounts/{account_id}/access/apps/{app_id}/policies',
  'GET /accounts/{account_id}/access/apps/{app_id}/policies/{policy_id}',
  'PUT /accounts/{account_id}/access/apps/{app_id}/policies/{policy_id}',
  'DELETE /accounts/{account_id}/access/apps/{app_id}/policies/{policy_id}',
  'GET /accounts/{account_id}/access/policies',
  'POST /accounts/{account_id}/access/policies',
  'GET /accounts/{account_id}/access/policies/{policy_id}',
  'PUT /accounts/{account_id}/access/policies/{policy_id}',
  'DELETE /accounts/{account_id}/access/policies/{policy_id}',
  'GET /accounts/{account_id}/access/service_tokens',
  'POST /accounts/{account_id}/access/service_tokens',
  'GET /accounts/{account_id}/access/service_tokens/{service_token_id}',
  'PUT /accounts/{account_id}/access/service_tokens/{service_token_id}',
  'DELETE /accounts/{account_id}/access/service_tokens/{service_token_id}',
  'POST /accounts/{account_id}/access/service_tokens/{service_token_id}/refresh',
  'POST /accounts/{account_id}/access/service_tokens/{service_token_id}/rotate',
];

/**
 * Properties where the live API sends null but the description types them non-nullable
 * (e.g. the tunnel example in Cloudflare's docs has `"deleted_at": null`).
 */
const NULL_TOLERATED = new Set([
  'deleted_at',
  'conns_active_at',
  'conns_inactive_at',
  'comment',
  'expires_at',
]);

/**
 * Contradictions inside the description itself, excused narrowly: `rulesets_RuleAction`
 * has pattern ^[a-z]+$ while `ManagedChallengeRule`/`JsChallengeRule` require the actions
 * `managed_challenge`/`js_challenge`, so no response holding such a rule can validate.
 */
const SPEC_DEFECTS: Array<(issue: { path: string; message: string }, body: unknown) => boolean> = [
  (issue, body) => {
    const match = /^\/result\/rules\/(\d+)\/action$/.exec(issue.path);
    if (!match || issue.message !== 'does not match ^[a-z]+$') return false;
    const rules = (body as { result?: { rules?: Array<{ action?: string }> } }).result?.rules ?? [];
    return ['managed_challenge', 'js_challenge'].includes(rules[Number(match[1])]?.action ?? '');
  },
];

let emu: StartedCloudflareEmulator;
let checker: ReturnType<typeof createOpenApiChecker>;
const captured: Captured[] = [];

async function scenario(cf: Cloudflare): Promise<void> {
  const account = emu.accountId;
  const zone = emu.zoneId;
  const swallow = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch {
      // error responses are captured and validated too
    }
  };

  await cf.user.tokens.verify();
  await cf.accounts.tokens.verify({ account_id: account });
  await cf.zones.list({ name: emu.zoneName });
  await cf.zones.get({ zone_id: zone });
  await swallow(() => cf.zones.get({ zone_id: 'a'.repeat(32) }));

  const tunnels = cf.zeroTrust.tunnels.cloudflared;
  const local = await tunnels.create({ account_id: account, name: 'local' });
  const remote = await tunnels.create({
    account_id: account,
    name: 'remote',
    config_src: 'cloudflare',
    tunnel_secret: Buffer.alloc(32, 1).toString('base64'),
  });
  const id = remote.id ?? '';
  await swallow(() => tunnels.create({ account_id: account, name: 'remote' }));
  await swallow(() => tunnels.create({ account_id: account, name: 'bad', tunnel_secret: 'short' }));
  await tunnels.list({ account_id: account });
  await tunnels.list({ account_id: account, per_page: 1, page: 5 });
  await tunnels.get(id, { account_id: account });
  await swallow(() => tunnels.get('00000000-0000-4000-8000-000000000000', { account_id: account }));
  await tunnels.edit(id, { account_id: account, name: 'renamed' });
  await tunnels.token.get(id, { account_id: account });
  await tunnels.configurations.get(id, { account_id: account });
  await tunnels.configurations.update(id, {
    account_id: account,
    config: {
      ingress: [
        {
          hostname: 'a.example.com',
          service: 'http://localhost:8080',
          originRequest: { connectTimeout: 10 },
        },
        { hostname: '', service: 'http_status:404' },
      ],
    },
  });
  await tunnels.configurations.get(id, { account_id: account });
  await swallow(() =>
    tunnels.configurations.update(id, {
      account_id: account,
      config: { ingress: [{ hostname: 'a.example.com', service: 'http://x:1' }] },
    }),
  );
  const connector = emu.control.attachConnector(id);
  await tunnels.get(id, { account_id: account });
  await tunnels.list({ account_id: account, status: 'healthy' });
  await tunnels.connections.get(id, { account_id: account });
  await tunnels.connectors.get(connector, { account_id: account, tunnel_id: id });
  await swallow(() =>
    tunnels.connectors.get('00000000-0000-4000-8000-000000000000', { account_id: account, tunnel_id: id }),
  );
  await tunnels.management.create(id, { account_id: account, resources: ['logs'] });
  await swallow(() => tunnels.delete(id, { account_id: account }));
  await tunnels.connections.delete(id, { account_id: account });
  await tunnels.get(id, { account_id: account });
  await tunnels.delete(id, { account_id: account });
  await tunnels.delete(local.id ?? '', { account_id: account });
  await tunnels.list({ account_id: account, is_deleted: true });

  const records = cf.dns.records;
  const cname = await records.create({
    zone_id: zone,
    type: 'CNAME',
    name: 'app',
    content: `${id}.cfargotunnel.com`,
    proxied: true,
    ttl: 1,
    comment: 'managed',
  });
  const a = await records.create({ zone_id: zone, type: 'A', name: 'a', content: '192.0.2.1', ttl: 3600 });
  await records.create({
    zone_id: zone,
    type: 'MX',
    name: '@',
    content: 'mail.example.com',
    priority: 10,
    ttl: 1,
  });
  await records.create({ zone_id: zone, type: 'TXT', name: '_v', content: 'v=spf1 -all', ttl: 1 });
  await swallow(() =>
    records.create({ zone_id: zone, type: 'A', name: 'app', content: '192.0.2.2', ttl: 1 }),
  );
  await swallow(() => records.create({ zone_id: zone, type: 'A', name: 'x', content: 'nope', ttl: 1 }));
  await records.list({ zone_id: zone });
  await records.list({ zone_id: zone, name: { exact: 'app.example.com' }, page: 3 });
  await records.get(cname.id, { zone_id: zone });
  await swallow(() => records.get('0'.repeat(32), { zone_id: zone }));
  await records.update(a.id, {
    zone_id: zone,
    type: 'A',
    name: 'a',
    content: '192.0.2.3',
    ttl: 1,
    proxied: true,
  });
  await records.edit(a.id, { zone_id: zone, type: 'A', name: 'a', comment: 'patched', ttl: 1 });
  await records.batch({
    zone_id: zone,
    posts: [{ type: 'A', name: 'b', content: '192.0.2.4', ttl: 1 }],
    deletes: [{ id: a.id }],
  });
  await swallow(() =>
    records.batch({ zone_id: zone, posts: [{ type: 'A', name: 'b', content: '192.0.2.4', ttl: 1 }] }),
  );
  await records.delete(cname.id, { zone_id: zone });

  const phase = 'http_request_firewall_custom';
  await swallow(() => cf.rulesets.phases.get(phase, { zone_id: zone }));
  const ruleset = (await cf.rulesets.phases.update(phase, {
    zone_id: zone,
    rules: [
      {
        action: 'block',
        expression: 'ip.src in {203.0.113.0/24}',
        action_parameters: { response: { status_code: 403, content: 'no', content_type: 'text/plain' } },
      },
    ],
  })) as { id: string };
  await cf.rulesets.phases.get(phase, { zone_id: zone });
  await cf.rulesets.list({ zone_id: zone });
  await cf.rulesets.get(ruleset.id, { zone_id: zone });
  // SDK 7.3.0 types ruleset responses as unknown, hence the casts.
  const added = (await cf.rulesets.rules.create(ruleset.id, {
    zone_id: zone,
    action: 'skip',
    expression: 'http.host eq "x.example.com"',
    action_parameters: { ruleset: 'current' },
  })) as { rules: Array<{ id: string }> };
  const ruleId = added.rules[1]?.id ?? '';
  await cf.rulesets.rules.edit(ruleId, {
    ruleset_id: ruleset.id,
    zone_id: zone,
    action: 'managed_challenge',
    expression: 'http.host eq "y.example.com"',
  });
  await cf.rulesets.rules.delete(ruleId, { ruleset_id: ruleset.id, zone_id: zone });
  await swallow(() =>
    cf.rulesets.rules.create(ruleset.id, { zone_id: zone, action: 'block', expression: '(' }),
  );

  const access = cf.zeroTrust.access;
  const token = await access.serviceTokens.create({ account_id: account, name: 'svc' });
  const tokenId = token.id ?? '';
  await access.serviceTokens.list({ account_id: account });
  await access.serviceTokens.get(tokenId, { account_id: account });
  await access.serviceTokens.update(tokenId, { account_id: account, name: 'svc-2' });
  await access.serviceTokens.refresh(tokenId, { account_id: account });
  await access.serviceTokens.rotate(tokenId, { account_id: account });
  await swallow(() =>
    access.serviceTokens.get('00000000-0000-4000-8000-000000000000', { account_id: account }),
  );
  const policy = await access.policies.create({
    account_id: account,
    name: 'svc',
    decision: 'non_identity',
    include: [{ service_token: { token_id: tokenId } }],
  });
  await access.policies.list({ account_id: account });
  await access.policies.get(policy.id ?? '', { account_id: account });
  await access.policies.update(policy.id ?? '', {
    account_id: account,
    name: 'svc',
    decision: 'non_identity',
    include: [{ any_valid_service_token: {} }],
    require: [{ ip: { ip: '203.0.113.0/24' } }],
  });
  await swallow(() =>
    access.policies.create({ account_id: account, name: 'bad', decision: 'maybe' as never, include: [] }),
  );
  const app = (await access.applications.create({
    account_id: account,
    type: 'self_hosted',
    domain: 'db.example.com',
    policies: [policy.id ?? ''],
  })) as { id?: string };
  const appId = app.id ?? '';
  await access.applications.list({ account_id: account });
  await access.applications.get(appId, { account_id: account });
  await access.applications.update(appId, {
    account_id: account,
    type: 'self_hosted',
    domain: 'db.example.com',
    name: 'db',
    policies: [policy.id ?? ''],
  });
  const scoped = (await access.applications.policies.create(appId, {
    account_id: account,
    name: 'office',
    decision: 'allow',
    include: [{ email_domain: { domain: 'example.com' } }],
  } as never)) as { id?: string };
  await access.applications.policies.list(appId, { account_id: account });
  await access.applications.policies.get(scoped.id ?? '', { account_id: account, app_id: appId });
  await access.applications.policies.update(scoped.id ?? '', {
    account_id: account,
    app_id: appId,
    name: 'office',
    decision: 'allow',
    include: [{ everyone: {} }],
  } as never);
  await access.applications.policies.delete(scoped.id ?? '', { account_id: account, app_id: appId });
  await access.applications.delete(appId, { account_id: account });
  await swallow(() => access.applications.get(appId, { account_id: account }));
  await access.policies.delete(policy.id ?? '', { account_id: account });
  await access.serviceTokens.delete(tokenId, { account_id: account });
}

beforeAll(async () => {
  // Throws "Cloudflare OpenAPI subset is absent: expected it at …" when the file is missing.
  checker = createOpenApiChecker(loadOpenApi(specPath));
  emu = await startCloudflareEmulator();
  const capture = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const text = await response.clone().text();
    captured.push({
      method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
      path: url.pathname.replace(/^\/client\/v4/, ''),
      status: response.status,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    });
    return response;
  };
  const cf = new Cloudflare({
    apiToken: emu.token,
    baseURL: emu.url,
    apiKey: null,
    apiEmail: null,
    maxRetries: 0,
    fetch: capture as typeof fetch,
  });
  await scenario(cf);
});
afterAll(async () => emu?.close());

describe('responses match the published OpenAPI description', () => {
  it('validates every documented response, success and error', () => {
    const failures: string[] = [];
    const nulls = new Set<string>();
    for (const call of captured) {
      const check = checker.checkResponse(call.method, call.path, call.status, call.body);
      if (!check.operation) continue;
      const real = check.issues.filter((issue) => !SPEC_DEFECTS.some((excused) => excused(issue, call.body)));
      for (const issue of real)
        failures.push(
          `${call.method} ${call.path} → ${call.status} (${check.statusKey}): ${issue.path} ${issue.message}`,
        );
      for (const at of check.nullsAccepted) nulls.add(at.split('/').at(-1) ?? at);
    }
    expect(failures).toEqual([]);
    expect([...nulls].filter((name) => !NULL_TOLERATED.has(name))).toEqual([]);
    expect(checker.unknownKeywords()).toEqual([]);
  });

  it('covers every emulated documented operation with a 2xx and each family with an error', () => {
    const ok = new Set<string>();
    const failed = new Set<string>();
    for (const call of captured) {
      const operation = checker.operationFor(call.method, call.path);
      if (!operation) continue;
      (call.status < 300 ? ok : failed).add(`${call.method} ${operation}`);
    }
    expect(EXPECTED_OPERATIONS.filter((op) => !ok.has(op))).toEqual([]);
    for (const family of [
      'cfd_tunnel',
      'dns_records',
      'rulesets',
      'access/apps',
      'access/policies',
      'access/service_tokens',
      '/zones/{zone_id}',
    ]) {
      expect(
        [...failed].some((op) => op.includes(family)),
        `an error response for ${family}`,
      ).toBe(true);
    }
  });

  it('is not vacuous: broken bodies fail, and most calls were checked', () => {
    const created = captured.find(
      (c) => c.method === 'POST' && /\/cfd_tunnel$/.test(c.path) && c.status === 200,
    );
    const body = structuredClone(created?.body) as { result: Record<string, unknown>; success?: boolean };
    body.result.status = 'bogus';
    body.result.id = 'not-a-uuid';
    delete body.success;
    const issues = checker
      .checkResponse('POST', created?.path ?? '', 200, body)
      .issues.map((i) => `${i.path} ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringContaining('missing required property "success"'),
        expect.stringMatching(/matches none of anyOf/),
      ]),
    );
    const record = captured.find(
      (c) => c.method === 'POST' && /dns_records$/.test(c.path) && c.status === 200,
    );
    const broken = structuredClone(record?.body) as { result: Record<string, unknown> };
    broken.result.ttl = 5;
    expect(checker.checkResponse('POST', record?.path ?? '', 200, broken).issues).not.toEqual([]);
    expect(captured.filter((c) => checker.operationFor(c.method, c.path)).length).toBeGreaterThan(70);
  });

  it('answers the account-form token verify like the user form', () => {
    const call = captured.find((c) => c.path === `/accounts/${emu.accountId}/tokens/verify`);
    expect(checker.checkSchema('iam_response_single_segment', call?.body).issues).toEqual([]);
  });

  it('answers the DNS batch endpoint with the SDK RecordBatchResponse shape', () => {
    const record = {
      allOf: [
        { $ref: '#/components/schemas/dns-records_dns-record' },
        { required: ['id', 'name', 'type', 'ttl', 'proxiable', 'meta', 'created_on', 'modified_on'] },
      ],
    };
    const list = { type: 'array', items: record };
    const batchResponse = {
      type: 'object',
      required: ['success', 'errors', 'messages', 'result'],
      properties: {
        success: { enum: [true] },
        errors: { type: 'array', maxItems: 0 },
        result: { type: 'object', properties: { deletes: list, patches: list, puts: list, posts: list } },
      },
    };
    const batches = captured.filter((c) => c.path.endsWith('/dns_records/batch'));
    const success = batches.find((c) => c.status === 200);
    const failure = batches.find((c) => c.status >= 400);
    expect(checker.validate(success?.body, batchResponse)).toEqual([]);
    expect((success?.body as { result: { posts: unknown[]; deletes: unknown[] } }).result.posts).toHaveLength(
      1,
    );
    expect(checker.checkSchema('dns-records_api-response-common-failure', failure?.body).issues).toEqual([]);
  });

  it('says so when the description is absent', () => {
    const missing = fileURLToPath(new URL('./no-such-dir/cloudflare-openapi-subset.json', import.meta.url));
    expect(() => loadOpenApi(missing)).toThrow(
      /Cloudflare OpenAPI subset is absent: expected it at .*no-such-dir/,
    );
  });

  it('reads the fixture kept in the repository, byte for byte as published', () => {
    const hash = createHash('sha256').update(readFileSync(specPath)).digest('hex');
    expect(hash, 'fixtures/cloudflare-openapi-subset.json was changed (reformatted?)').toBe(SPEC_SHA256);
  });

  it('sends application/json on every response', async () => {
    const res = await fetch(`${emu.url}/zones`, { headers: { authorization: 'Bearer nope nope' } });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});

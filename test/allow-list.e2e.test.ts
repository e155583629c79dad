/**
 * Source-IP allow-lists: every allow-listed route's host is folded into one WAF custom rule of
 * the zone (Free plans have 5), in place before the DNS record exists; rules without our ref are
 * never touched; hand edits are reverted at resync; deleting the routes removes the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

const firewallRules = () => {
  const rs = (stack.cf.control.state() as any).rulesets.find((r: any) => r.phase === 'http_request_firewall_custom');
  return (rs?.rules ?? []) as Array<{ id: string; ref: string; expression: string; action: string }>;
};

describe('allow-lists', () => {
  it('fold every allow-listed route into one rule, leave other rules alone, revert hand edits, and go with the routes', async () => {
    const u = stack.as('user1');
    const hand = cfHand(stack.cf);
    // Someone else's rule in the zone, made before ours.
    await hand.call('PUT', `/zones/${stack.cf.zoneId}/rulesets/phases/http_request_firewall_custom/entrypoint`, {
      rules: [{ action: 'block', expression: '(ip.src eq 192.0.2.1)', description: 'not ours', ref: 'theirs' }],
    });

    const t = (await u.post('/api/v1/tunnels', {})).body.name;
    const a = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:8000', allowIps: ['203.0.113.0/24', '198.51.100.7'] });
    expect(a.status).toBe(201);
    expect(a.body.allowIps).toEqual(['198.51.100.7', '203.0.113.0/24']);
    expect(a.body.protectedBy).toBe('allow-list');
    const b = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:9000', allowIps: ['10.0.0.0/8'] });
    const open = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:7000' });
    expect(open.body.allowIps).toBeNull();

    let rules = firewallRules();
    expect(rules.map((r) => r.ref)).toEqual(['theirs', 'tunnelplane-test-allowlist-1']);
    const ours = rules[1]!;
    expect(ours.action).toBe('block');
    expect(ours.expression).toContain(`(http.host eq "${a.body.hostname}" and not ip.src in {198.51.100.7 203.0.113.0/24})`);
    expect(ours.expression).toContain(`(http.host eq "${b.body.hostname}" and not ip.src in {10.0.0.0/8})`);
    expect(ours.expression).not.toContain(open.body.hostname);

    const bad = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:1', allowIps: ['not-an-ip'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('route.invalid_allow_list');

    // A hand edit of our rule is reverted at resync; theirs is untouched.
    const rulesetId = (stack.cf.control.state() as any).rulesets.find((r: any) => r.phase === 'http_request_firewall_custom').id;
    await hand.call('PATCH', `/zones/${stack.cf.zoneId}/rulesets/${rulesetId}/rules/${ours.id}`, { action: 'block', expression: '(ip.src eq 192.0.2.99)', ref: ours.ref });
    await stack.runtime.reconciler!.resync();
    rules = firewallRules();
    expect(rules.find((r) => r.ref === 'tunnelplane-test-allowlist-1')!.expression).toBe(ours.expression);
    expect(rules.find((r) => r.ref === 'theirs')!.expression).toBe('(ip.src eq 192.0.2.1)');

    expect((await u.del(`/api/v1/tunnels/${t}/routes/${a.body.name}`)).status).toBe(204);
    expect(firewallRules().find((r) => r.ref === 'tunnelplane-test-allowlist-1')!.expression).not.toContain(a.body.hostname);
    expect((await u.del(`/api/v1/tunnels/${t}`)).status).toBe(204);
    expect(firewallRules().map((r) => r.ref)).toEqual(['theirs']);
  });
});

describe('Access for people on an HTTP route', () => {
  it('puts an Access application with an allow policy for the given emails and domains in front of the route', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels', {})).body.name;
    const r = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:3000',
      access: { emails: ['Alice@Example.org'], emailDomains: ['corp.example'] },
    });
    expect(r.status).toBe(201);
    expect(r.body.protectedBy).toBe('access');
    expect(r.body.access).toEqual({ emails: ['alice@example.org'], emailDomains: ['corp.example'] });
    const s = stack.cf.control.state() as any;
    const app = s.accessApps.find((a: any) => a.fields.domain === r.body.hostname);
    expect(app.fields.type).toBe('self_hosted');
    const policy = s.accessPolicies.find((p: any) => p.appId === app.id);
    expect(policy.fields.decision).toBe('allow');
    expect(policy.fields.include).toEqual([{ email: { email: 'alice@example.org' } }, { email_domain: { domain: 'corp.example' } }]);
    expect(s.serviceTokens.filter((x: any) => x.name.startsWith('tunnelplane-'))).toEqual([]);

    const tcp = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'tcp://h:1', access: { emails: ['a@b.co'] } });
    expect(tcp.status).toBe(400);
    expect(tcp.body.error.code).toBe('route.invalid_access');
    const bad = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://h:1', access: { emails: ['nope'] } });
    expect(bad.body.error.code).toBe('route.invalid_access');

    expect((await u.del(`/api/v1/tunnels/${t}`)).status).toBe(204);
    const after = stack.cf.control.state() as any;
    expect(after.accessApps.filter((a: any) => a.fields.domain === r.body.hostname)).toEqual([]);
    expect(after.accessPolicies.filter((p: any) => p.appId === app.id)).toEqual([]);
  });
});

/**
 * Source-IP allow-lists and Access for people: each protected route has an Access application
 * of its own (no route's protection is shared with another's), in place before its DNS record
 * exists. What Access would admit is asked of the emulator's evaluator. A hand edit of a route's
 * policies is put back at resync; deleting the route removes its application; an installation
 * upgraded from the WAF-rule allow-lists keeps its old rules until every allow-list is in Access,
 * then removes only its own rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';
import { cfView } from './support/cloudflare-view.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

const appOf = (hostname: string) =>
  (stack.cf.control.state() as any).accessApps.find((a: any) => a.fields.domain === hostname);
const admits = (hostname: string, request: { ip: string; email?: string }) =>
  stack.cf.control.evaluateAccess(appOf(hostname).id, request);

describe('allow-lists', () => {
  it('protect each route with an Access application of its own that admits only the listed sources', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels', {})).body.name;
    const a = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:8000',
      allowIps: ['203.0.113.0/24', '198.51.100.7'],
    });
    expect(a.status).toBe(201);
    expect(a.body.allowIps).toEqual(['198.51.100.7', '203.0.113.0/24']);
    expect(a.body.protectedBy).toBe('allow-list');
    const b = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:9000',
      allowIps: ['10.0.0.0/8', '2001:db8::/32'],
    });
    const open = await u.post(`/api/v1/tunnels/${t}/routes`, { service: 'http://localhost:7000' });
    expect(open.body.allowIps).toBeNull();
    expect(open.body.protectedBy).toBeNull();

    expect(admits(a.body.hostname, { ip: '203.0.113.9' }).admitted).toBe(true);
    expect(admits(a.body.hostname, { ip: '198.51.100.7' }).admitted).toBe(true);
    expect(admits(a.body.hostname, { ip: '198.51.100.8' }).admitted).toBe(false);
    expect(admits(a.body.hostname, { ip: '10.1.2.3' }).admitted).toBe(false);
    // Nobody gets in by signing in: an allow-list admits sources, not people.
    expect(admits(a.body.hostname, { ip: '192.0.2.1', email: 'anyone@example.org' }).admitted).toBe(false);
    expect(admits(b.body.hostname, { ip: '10.200.0.1' }).admitted).toBe(true);
    expect(admits(b.body.hostname, { ip: '2001:db8:1::5' }).admitted).toBe(true);
    expect(admits(b.body.hostname, { ip: '203.0.113.9' }).admitted).toBe(false);
    expect(appOf(open.body.hostname)).toBeUndefined();
    // No WAF rule is made for them: the zone's rules are left to their owners.
    expect(
      (stack.cf.control.state() as any).rulesets.filter(
        (r: any) => r.phase === 'http_request_firewall_custom',
      ),
    ).toEqual([]);

    const bad = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:1',
      allowIps: ['not-an-ip'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('route.invalid_allow_list');

    // A hand edit of a route's policies is put back at resync, the others' are untouched.
    const app = appOf(a.body.hostname);
    await cfHand(stack.cf).call('PUT', `/accounts/${stack.cf.accountId}/access/apps/${app.id}`, {
      type: 'self_hosted',
      domain: a.body.hostname,
      name: app.fields.name,
      policies: [{ name: 'opened by hand', decision: 'bypass', include: [{ everyone: {} }] }],
    });
    expect(admits(a.body.hostname, { ip: '192.0.2.1' }).admitted).toBe(true);
    await stack.runtime.reconciler!.resync();
    await stack.runtime.reconciler!.drain();
    expect(admits(a.body.hostname, { ip: '192.0.2.1' }).admitted).toBe(false);
    expect(admits(a.body.hostname, { ip: '203.0.113.9' }).admitted).toBe(true);
    expect(admits(b.body.hostname, { ip: '10.200.0.1' }).admitted).toBe(true);

    expect((await u.del(`/api/v1/tunnels/${t}/routes/${a.body.name}`)).status).toBe(204);
    expect(appOf(a.body.hostname)).toBeUndefined();
    expect(appOf(b.body.hostname)).toBeTruthy();
    expect((await u.del(`/api/v1/tunnels/${t}`)).status).toBe(204);
    expect((stack.cf.control.state() as any).accessApps).toEqual([]);
  });

  it('of an installation from before per-route Access: its old WAF rules stay until every allow-list is in Access, then only ours go', async () => {
    const hand = cfHand(stack.cf);
    // The old allow-lists, folded into our rules, beside someone else's rule.
    await hand.call(
      'PUT',
      `/zones/${stack.cf.zoneId}/rulesets/phases/http_request_firewall_custom/entrypoint`,
      {
        rules: [
          { action: 'block', expression: '(ip.src eq 192.0.2.1)', description: 'not ours', ref: 'theirs' },
          {
            action: 'block',
            expression: '(http.host eq "old.example.com" and not ip.src in {10.0.0.0/8})',
            description: 'Tunnelplane',
            ref: 'tunnelplane-test-allowlist-1',
          },
        ],
      },
    );
    await stack.runtime.store.settings.set('firewall_hash', 'from the WAF days');
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels', {})).body.name;
    const r = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:8000',
      allowIps: ['10.0.0.0/8'],
    });
    expect(r.status).toBe(201);
    const refs = () =>
      (stack.cf.control.state() as any).rulesets
        .find((x: any) => x.phase === 'http_request_firewall_custom')
        .rules.map((x: any) => x.ref);
    await stack.runtime.reconciler!.resync();
    expect(refs()).toEqual(['theirs']);
    expect(await stack.runtime.store.settings.get('firewall_hash')).toBeNull();
    expect(admits(r.body.hostname, { ip: '10.0.0.1' }).admitted).toBe(true);
    expect((await u.del(`/api/v1/tunnels/${t}`)).status).toBe(204);
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
    expect(policy.fields.include).toEqual([
      { email: { email: 'alice@example.org' } },
      { email_domain: { domain: 'corp.example' } },
    ]);
    expect(s.serviceTokens.filter((x: any) => x.name.startsWith('tunnelplane-'))).toEqual([]);
    expect(admits(r.body.hostname, { ip: '192.0.2.1', email: 'alice@example.org' }).admitted).toBe(true);
    expect(admits(r.body.hostname, { ip: '192.0.2.1', email: 'bob@corp.example' }).admitted).toBe(true);
    expect(admits(r.body.hostname, { ip: '192.0.2.1', email: 'mallory@example.org' }).admitted).toBe(false);

    // People and an allow-list: those people, from those sources only.
    const both = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://localhost:3001',
      access: { emails: ['alice@example.org'] },
      allowIps: ['203.0.113.0/24'],
    });
    expect(both.status).toBe(201);
    expect(admits(both.body.hostname, { ip: '203.0.113.5', email: 'alice@example.org' }).admitted).toBe(true);
    expect(admits(both.body.hostname, { ip: '192.0.2.1', email: 'alice@example.org' }).admitted).toBe(false);
    expect(admits(both.body.hostname, { ip: '203.0.113.5', email: 'mallory@example.org' }).admitted).toBe(
      false,
    );

    const tcp = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'tcp://h:1',
      access: { emails: ['a@b.co'] },
    });
    expect(tcp.status).toBe(400);
    expect(tcp.body.error.code).toBe('route.invalid_access');
    const bad = await u.post(`/api/v1/tunnels/${t}/routes`, {
      service: 'http://h:1',
      access: { emails: ['nope'] },
    });
    expect(bad.body.error.code).toBe('route.invalid_access');

    expect((await u.del(`/api/v1/tunnels/${t}`)).status).toBe(204);
    const after = stack.cf.control.state() as any;
    expect(after.accessApps.filter((a: any) => a.fields.domain === r.body.hostname)).toEqual([]);
    expect(after.accessPolicies.filter((p: any) => p.appId === app.id)).toEqual([]);
    expect(cfView(stack.cf).records).toEqual([]);
  });
});

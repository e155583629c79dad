/**
 * A name that is not ours is never covered: a route whose hostname holds a record someone
 * else made (the operator's own site, another installation's route on the same zone) is
 * refused with dns.foreign_record before any Access application of ours covers that name, and
 * if the record appears after our application was made, the application goes. The record
 * itself is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';
import { cfView } from './support/cloudflare-view.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

const appsOn = (hostname: string) => cfView(stack.cf).accessApps.filter((a) => a.domain === hostname);
const tokensNamed = (name: string) => cfView(stack.cf).serviceTokens.filter((t) => t.name === name);

describe('a hostname someone else holds', () => {
  const protections: Array<[string, Record<string, unknown>]> = [
    ['Access for people', { service: 'http://localhost:1', access: { emails: ['mallory@evil.example'] } }],
    ['an allow-list', { service: 'http://localhost:1', allowIps: ['198.51.100.0/24'] }],
    ['a TCP route', { service: 'tcp://10.0.0.5:5432' }],
  ];
  it.each(protections)('with %s: refused, and no application of ours covers it', async (_what, body) => {
    const hand = cfHand(stack.cf);
    const tunnel = `page${Math.random().toString(36).slice(2, 7)}`;
    const hostname = `status-${tunnel}.example.com`;
    const site = await hand.createRecord({ type: 'A', name: hostname, content: '192.0.2.80', proxied: true });
    const u = stack.as('user1');
    expect((await u.post(`/api/v1/tunnels?wait=10`, { name: tunnel })).status).toBe(201);
    await u.post(`/api/v1/tunnels/${tunnel}/routes?wait=10`, { name: 'status', ...body });
    const route = await eventually(async () => {
      const r = (await u.get(`/api/v1/tunnels/${tunnel}/routes/status`)).body;
      expect(r.phase).toBe('error');
      return r;
    });
    expect(route.errorCode).toBe('dns.foreign_record');
    expect(appsOn(hostname)).toEqual([]);
    expect(tokensNamed(`tunnelplane-test-${tunnel}-status`)).toEqual([]);
    const rec = cfView(stack.cf).records.find((r) => r.name === hostname)!;
    expect([rec.id, rec.type, rec.content]).toEqual([site.id, 'A', '192.0.2.80']);
  });

  it("another installation's route on the same zone is left alone", async () => {
    const hand = cfHand(stack.cf);
    const hostname = 'api-shop.example.com';
    await hand.createRecord({
      type: 'CNAME',
      name: hostname,
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: 'managed-by:tunnelplane/prod tunnel=shop route=api',
    });
    const u = stack.as('user2');
    await u.post(`/api/v1/tunnels?wait=10`, { name: 'shop' });
    await u.post(`/api/v1/tunnels/shop/routes?wait=10`, {
      name: 'api',
      service: 'http://localhost:1',
      access: { emailDomains: ['example.org'] },
    });
    await eventually(async () =>
      expect((await u.get(`/api/v1/tunnels/shop/routes/api`)).body.errorCode).toBe('dns.foreign_record'),
    );
    expect(appsOn(hostname)).toEqual([]);
  });

  it('a record that appears after our application was made: the application goes, the record stays', async () => {
    const hand = cfHand(stack.cf);
    const tunnel = `late${Math.random().toString(36).slice(2, 7)}`;
    const hostname = `docs-${tunnel}.example.com`;
    const u = stack.as('user1');
    await u.post(`/api/v1/tunnels?wait=10`, { name: tunnel });
    // The record's create fails (the application is made first), and meanwhile someone takes the name.
    stack.cf.control.addFault({
      method: 'POST',
      path: '/zones/*/dns_records/batch',
      times: 1,
      action: { type: 'error', status: 500, code: 1000, message: 'Internal' },
    });
    await u.post(`/api/v1/tunnels/${tunnel}/routes?wait=0`, {
      name: 'docs',
      service: 'http://localhost:1',
      access: { emails: ['a@example.com'] },
    });
    await eventually(() => expect(appsOn(hostname)).toHaveLength(1));
    await hand.createRecord({ type: 'A', name: hostname, content: '192.0.2.81', proxied: false });
    await eventually(async () =>
      expect((await u.get(`/api/v1/tunnels/${tunnel}/routes/docs`)).body.errorCode).toBe(
        'dns.foreign_record',
      ),
    );
    await eventually(() => expect(appsOn(hostname)).toEqual([]));
    expect(
      cfView(stack.cf)
        .records.filter((r) => r.name === hostname)
        .map((r) => r.content),
    ).toEqual(['192.0.2.81']);
  });
});

import { describe, expect, it } from 'vitest';
import { accessPolicies, policiesHash } from '../../domain/access-policies.js';
import type { Route, Tunnel } from '../../domain/model.js';
import { route as modelRoute, tunnel } from '../../../test/support/model.js';
import { newWork, type Work } from '../work.js';
import {
  byZone,
  claimTargets,
  dnsInputs,
  dnsWant,
  namesToLookUp,
  planClaim,
  planDns,
  type DnsOp,
  type DnsRouteInput,
  type DnsWant,
  type FoundRecord,
  type DnsWrite,
  writesToSend,
} from './dns-plan.js';

const HOST = 'web-tun.example.com';
const COMMENT = 'managed-by:tunnelplane/t tunnel=tun route=web';
const TARGET = 'abc.cfargotunnel.com';
const route = (over: Partial<DnsRouteInput>): DnsRouteInput => ({
  routeId: 'r1',
  hostname: HOST,
  zone: 'example.com',
  comment: COMMENT,
  want: 'present',
  content: TARGET,
  recordId: null,
  uncertain: false,
  ...over,
});
const rec = (over: Partial<FoundRecord>): FoundRecord => ({
  id: 'rec1',
  name: HOST,
  type: 'CNAME',
  content: TARGET,
  proxied: true,
  comment: COMMENT,
  ...over,
});
const cname = { name: HOST, content: TARGET, comment: COMMENT };

describe('planDns', () => {
  const cases: Array<[string, DnsRouteInput, FoundRecord[] | undefined | null, DnsOp[]]> = [
    [
      'a new live route gets its record',
      route({}),
      undefined,
      [{ kind: 'post', routeId: 'r1', record: cname }],
    ],
    ['a live route with its record: nothing', route({ recordId: 'rec1' }), undefined, []],
    ['a route waiting for its protection gets no record', route({ want: 'hold' }), undefined, []],
    ['a held route keeps the record it has', route({ want: 'hold', recordId: 'rec1' }), undefined, []],
    ['a route whose tunnel does not exist yet waits', route({ content: null }), undefined, []],
    [
      'a deleted route with a record: delete it',
      route({ want: 'absent', recordId: 'rec1' }),
      undefined,
      [{ kind: 'delete', routeId: 'r1', id: 'rec1' }],
    ],
    ['a deleted route without a record: nothing', route({ want: 'absent' }), undefined, []],
    // After an answer was lost: the look decides.
    [
      'lost create, our record is there: adopt it',
      route({ uncertain: true }),
      [rec({})],
      [{ kind: 'settle', routeId: 'r1', recordId: 'rec1' }],
    ],
    [
      'lost create, nothing there: create',
      route({ uncertain: true }),
      [],
      [{ kind: 'post', routeId: 'r1', record: cname }],
    ],
    [
      'lost answer, our record points elsewhere: patch it',
      route({ uncertain: true }),
      [rec({ content: 'old.cfargotunnel.com' })],
      [{ kind: 'patch', routeId: 'r1', id: 'rec1', record: cname }],
    ],
    [
      'our record not proxied: patch it',
      route({ uncertain: true }),
      [rec({ proxied: false })],
      [{ kind: 'patch', routeId: 'r1', id: 'rec1', record: cname }],
    ],
    [
      'a foreign record holds the name: the route cannot go live, nothing is touched',
      route({ uncertain: true }),
      [rec({ id: 'theirs', type: 'A', content: '192.0.2.1', comment: null })],
      [{ kind: 'foreign', routeId: 'r1', hostname: HOST, type: 'A' }],
    ],
    [
      'ours and a foreign record at the name: ours is adopted',
      route({ uncertain: true }),
      [rec({ id: 'theirs', type: 'TXT', comment: null }), rec({})],
      [{ kind: 'settle', routeId: 'r1', recordId: 'rec1' }],
    ],
    [
      'lost delete, our record is still there: delete it',
      route({ want: 'absent', uncertain: true, recordId: 'rec1' }),
      [rec({})],
      [{ kind: 'delete', routeId: 'r1', id: 'rec1' }],
    ],
    [
      'lost delete, it is gone: settle',
      route({ want: 'absent', uncertain: true, recordId: 'rec1' }),
      [],
      [{ kind: 'settle', routeId: 'r1', recordId: null }],
    ],
    [
      'a deleted route never deletes a foreign record',
      route({ want: 'absent', uncertain: true }),
      [rec({ id: 'theirs', comment: 'by hand' })],
      [{ kind: 'settle', routeId: 'r1', recordId: null }],
    ],
    [
      'held and uncertain: our record is adopted, not duplicated',
      route({ want: 'hold', uncertain: true }),
      [rec({})],
      [{ kind: 'settle', routeId: 'r1', recordId: 'rec1' }],
    ],
    [
      'held and uncertain, nothing there: settle empty',
      route({ want: 'hold', uncertain: true }),
      [],
      [{ kind: 'settle', routeId: 'r1', recordId: null }],
    ],
    [
      'uncertain but the lookup failed: unresolved, nothing sent',
      route({ uncertain: true }),
      null,
      [{ kind: 'unresolved', routeId: 'r1' }],
    ],
  ];
  for (const [name, input, found, expected] of cases) {
    it(name, () => {
      const map = found === null ? null : new Map(found ? [[HOST, found]] : []);
      expect(planDns([input], map)).toEqual(expected);
    });
  }

  it('a failed lookup leaves routes that needed none to go ahead', () => {
    const ops = planDns(
      [route({ uncertain: true }), route({ routeId: 'r2', hostname: 'b.example.com' })],
      null,
    );
    expect(ops).toEqual([
      { kind: 'unresolved', routeId: 'r1' },
      { kind: 'post', routeId: 'r2', record: { ...cname, name: 'b.example.com' } },
    ]);
  });

  it('looks up only the names of uncertain routes, once each', () => {
    expect(
      namesToLookUp([
        route({ uncertain: true }),
        route({ routeId: 'r2', uncertain: true }),
        route({ routeId: 'r3', hostname: 'x' }),
      ]),
    ).toEqual([HOST]);
  });
});

// The routes as the store hands them (test/support/model.ts), for what is decided before the plan.
const people = { emails: ['a@example.com'], emailDomains: [] };
const guarded = (id: string, o: Partial<Route['objects']> = {}, over: Partial<Route> = {}) =>
  modelRoute(
    id,
    { access: people, ...over },
    {
      accessAppId: 'app',
      accessPoliciesHash: policiesHash(
        accessPolicies({ tcpLike: false, allowIps: null, access: people }, null),
      ),
      ...o,
    },
  );
const failed = (id: string) => (w: Work) => w.routeFailures.set(id, new Error('x'));
const none = () => undefined;

describe('dnsWant', () => {
  // situation, tunnel, route, what the pass did, legacy WAF rules, want
  const cases: Array<[string, Partial<Tunnel>, Route, (w: Work) => void, boolean, DnsWant]> = [
    ['a plain HTTP route needs no protection: present', {}, modelRoute('a'), none, false, 'present'],
    [
      'a protected route whose application holds its policies: present',
      {},
      guarded('a'),
      none,
      false,
      'present',
    ],
    ['a deleted route: absent', {}, modelRoute('a', { deleting: true }), none, false, 'absent'],
    ['a route of a deleted tunnel: absent', { deleting: true }, modelRoute('a'), none, false, 'absent'],
    [
      'protection pending (no application yet): hold',
      {},
      guarded('a', { accessAppId: null }),
      none,
      false,
      'hold',
    ],
    [
      'policies out of date but an application stands: hold (the record stays)',
      {},
      guarded('a', { accessPoliciesHash: null }),
      failed('a'),
      false,
      'hold',
    ],
    [
      'its application vanished and could not be made again: withdrawn',
      {},
      guarded('a', { accessAppId: null }),
      failed('a'),
      false,
      'absent',
    ],
    [
      'the same with an uncertain write: withdrawn',
      {},
      guarded('a', { accessAppId: null, dnsRecordId: null, dnsUncertain: true }),
      failed('a'),
      false,
      'absent',
    ],
    [
      'no application, but no record either: hold',
      {},
      guarded('a', { accessAppId: null, dnsRecordId: null }),
      failed('a'),
      false,
      'hold',
    ],
    [
      'an allow-list still in the legacy WAF rules: its protection stands, hold',
      {},
      modelRoute('a', { allowIps: ['10.0.0.0/8'] }),
      failed('a'),
      true,
      'hold',
    ],
  ];
  it.each(cases)('%s', (_name, t, r, then, legacy, want) => {
    const w = newWork(tunnel(t), [r]);
    then(w);
    expect(dnsWant(w, r, legacy)).toBe(want);
  });
});

describe('dnsInputs', () => {
  const comment = (t: string, r: string) => `ours ${t}/${r}`;
  // situation, tunnel, routes, what the pass did, the routes planned for
  const cases: Array<[string, Partial<Tunnel>, Route[], (w: Work) => void, string[]]> = [
    ['every route of a tunnel still worked on', {}, [modelRoute('a'), modelRoute('b')], none, ['a', 'b']],
    ['its tunnel failed in this pass', {}, [modelRoute('a')], (w) => (w.failure = new Error('x')), []],
    ['deleted in this pass', {}, [modelRoute('a')], (w) => (w.done = true), []],
    ['no Cloudflare tunnel yet', { cfTunnelId: null }, [modelRoute('a')], none, []],
    [
      'a deleted tunnel without a Cloudflare tunnel still withdraws',
      { cfTunnelId: null, deleting: true },
      [modelRoute('a')],
      none,
      ['a'],
    ],
    [
      'a blocked route is left out',
      {},
      [modelRoute('a')],
      (w) => w.blocked.set('a', { code: 'x', message: 'x' }),
      [],
    ],
    ['a route that failed earlier waits', {}, [guarded('a', { accessPoliciesHash: null })], failed('a'), []],
    ['unless its name must be withdrawn', {}, [guarded('a', { accessAppId: null })], failed('a'), ['a']],
  ];
  it.each(cases)('%s', (_name, t, routes, then, planned) => {
    const w = newWork(tunnel(t), routes);
    then(w);
    expect(dnsInputs([w], { legacyFirewall: false, comment }).map((i) => i.routeId)).toEqual(planned);
  });

  it('says what each route wants, with our comment, the tunnel target and what is recorded', () => {
    const w = newWork(tunnel(), [modelRoute('a', {}, { dnsUncertain: true })]);
    const w2 = newWork(tunnel({ id: 't2', cfTunnelId: null, deleting: true }), [modelRoute('b')]);
    expect(dnsInputs([w, w2], { legacyFirewall: false, comment })).toEqual([
      {
        routeId: 'a',
        hostname: 'a-tun.example.com',
        zone: 'example.com',
        comment: 'ours tun/a',
        want: 'present',
        content: 'cf1.cfargotunnel.com',
        recordId: 'rec',
        uncertain: true,
      },
      {
        routeId: 'b',
        hostname: 'b-tun.example.com',
        zone: 'example.com',
        comment: 'ours tun/b',
        want: 'absent',
        content: null,
        recordId: 'rec',
        uncertain: false,
      },
    ]);
  });
});

describe('byZone', () => {
  it('groups inputs by zone, zones in first-seen order, inputs in their order', () => {
    const inputs = [
      route({ routeId: 'a', zone: 'b.org' }),
      route({ routeId: 'b', zone: 'example.com' }),
      route({ routeId: 'c', zone: 'b.org' }),
    ];
    expect([...byZone(inputs)].map(([z, g]) => [z, g.map((i) => i.routeId)])).toEqual([
      ['b.org', ['a', 'c']],
      ['example.com', ['b']],
    ]);
    expect(byZone([]).size).toBe(0);
  });
});

describe('claimTargets', () => {
  const cases: Array<[string, Route, (w: Work) => void, boolean]> = [
    [
      'a new protected route: its name is looked at',
      guarded('a', { dnsRecordId: null, accessAppId: null }),
      none,
      true,
    ],
    ['a plain route needs no look', modelRoute('a', {}, { dnsRecordId: null }), none, false],
    ['it holds its record already', guarded('a'), none, false],
    [
      'its write is uncertain (the name was free then)',
      guarded('a', { dnsRecordId: null, dnsUncertain: true }),
      none,
      false,
    ],
    ['a deleted route', guarded('a', { dnsRecordId: null }, { deleting: true }), none, false],
    ['failed earlier in the pass', guarded('a', { dnsRecordId: null }), failed('a'), false],
    ['its tunnel failed', guarded('a', { dnsRecordId: null }), (w) => (w.failure = new Error('x')), false],
    [
      'its tunnel was deleted in this pass',
      guarded('a', { dnsRecordId: null }),
      (w) => (w.done = true),
      false,
    ],
  ];
  it.each(cases)('%s', (_name, r, then, looked) => {
    const w = newWork(tunnel(), [r]);
    then(w);
    expect(claimTargets([w])).toEqual(looked ? [{ w, r }] : []);
  });
});

describe('planClaim', () => {
  const cases: Array<[string, FoundRecord[], ReturnType<typeof planClaim>]> = [
    ['the name is free: nothing', [], []],
    ['our record, unrecorded: the sync looks', [rec({})], [{ kind: 'mark_uncertain' }]],
    ["someone else's record: blocked", [rec({ type: 'A', comment: null })], [{ kind: 'foreign', type: 'A' }]],
    [
      'ours beside a foreign one: blocked',
      [rec({}), rec({ type: 'TXT', comment: 'by hand' })],
      [{ kind: 'foreign', type: 'TXT' }],
    ],
  ];
  it.each(cases)('%s', (_name, atName, ops) => {
    expect(planClaim(atName, COMMENT)).toEqual(ops);
  });
});

describe('writesToSend', () => {
  const post = (id: string): DnsWrite => ({
    kind: 'post',
    routeId: id,
    record: {
      name: `${id}.example.com`,
      content: 't.cfargotunnel.com',
      proxied: true,
      comment: 'c',
    } as never,
  });
  const del = (id: string): DnsWrite => ({ kind: 'delete', routeId: id, id: `rec-${id}` });
  const heldIds = (ids: string[]) => (op: DnsWrite) => ids.includes(op.routeId);
  const ids = (ops: DnsWrite[]) => ops.map((op) => op.routeId);
  const cases: Array<[string, DnsWrite[], string[], number, string[], string[]]> = [
    ['nothing held: everything goes', [post('a'), post('b')], [], 2, ['a', 'b'], []],
    ['only held creates: no batch at all', [post('a'), post('b')], ['a', 'b'], 2, [], ['a', 'b']],
    [
      'held creates fill the batch that goes anyway',
      [post('a'), post('b'), post('c')],
      ['b', 'c'],
      2,
      ['a', 'b'],
      ['c'],
    ],
    ['a full batch leaves no room', [post('a'), post('b'), post('c')], ['c'], 2, ['a', 'b'], ['c']],
    ['deletes are never held', [del('a'), post('b')], ['a', 'b'], 10, ['a', 'b'], []],
  ];
  it.each(cases)('%s', (_name, writes, held, limit, send, hold) => {
    const out = writesToSend(writes, heldIds(held), limit);
    expect(ids(out.send)).toEqual(send);
    expect(ids(out.hold)).toEqual(hold);
  });
});

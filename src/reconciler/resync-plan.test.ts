import { describe, expect, it } from 'vitest';
import { accessPolicies, policiesHash } from '../domain/access-policies.js';
import { tunnelCname } from '../domain/names.js';
import { ownership } from '../domain/ownership.js';
import type { Route } from '../domain/model.js';
import type { ResyncRoute, ResyncTunnel } from '../store/index.js';
import type { AccessApp, DnsRecord } from '../providers/cloudflare/index.js';
import type { ManagedObject } from '../providers/kubernetes/index.js';
import { route } from '../../test/support/model.js';
import {
  accessClaims,
  accessRepair,
  accessSuspect,
  checkRoute,
  classifyRecord,
  comparableConfigs,
  missingTunnels,
  orphanAccess,
  orphanKubernetes,
  orphanTunnels,
  type RouteFacts,
} from './resync-plan.js';

const own = ownership('inst');
const at = (r: Route, t: Partial<ResyncRoute['tunnel']> = {}): ResyncRoute => ({
  route: r,
  tunnel: { name: 'tun', ownerId: 'u1', deleting: false, cfTunnelId: 'cf1', ...t },
});
const record = (over: Partial<DnsRecord> = {}): DnsRecord => ({
  id: 'rec',
  name: 'web-tun.example.com',
  type: 'CNAME',
  content: tunnelCname('cf1'),
  proxied: true,
  comment: own.dnsComment('tun', 'web'),
  createdAt: null,
  ...over,
});

describe('classifyRecord', () => {
  const web = (o: Parameters<typeof route>[2] = {}, over: Partial<Route> = {}) => route('web', over, o);
  const cases: Array<[string, DnsRecord, ResyncRoute | undefined, string]> = [
    ['no route at its name: an orphan candidate', record(), undefined, 'orphan'],
    ["the route's own record, as it should be", record(), at(web()), 'intact'],
    [
      "the route's own record, pointed elsewhere by hand",
      record({ content: 'x.example.net' }),
      at(web()),
      'drifted',
    ],
    ["the route's own record, no longer proxied", record({ proxied: false }), at(web()), 'drifted'],
    ["the route's own record, made an A record", record({ type: 'A' }), at(web()), 'drifted'],
    [
      "the route's own record while its tunnel has no Cloudflare tunnel",
      record(),
      at(web(), { cfTunnelId: null }),
      'drifted',
    ],
    [
      'another record, the route uncertain: the pass decides',
      record({ id: 'r2' }),
      at(web({ dnsUncertain: true })),
      'pass',
    ],
    [
      'another record of ours naming this route, which holds its own: a duplicate',
      record({ id: 'r2' }),
      at(web()),
      'duplicate',
    ],
    [
      'its own record, the route lost its id: the pass adopts it',
      record({ id: 'r2' }),
      at(web({ dnsRecordId: null })),
      'pass',
    ],
    [
      'our marker naming another route at this name: an orphan candidate',
      record({ id: 'r2', comment: own.dnsComment('tun', 'old') }),
      at(web({ dnsRecordId: null })),
      'orphan',
    ],
    [
      'its own record but the route is being deleted: an orphan candidate',
      record({ id: 'r2' }),
      at(web({ dnsRecordId: null }, { deleting: true })),
      'orphan',
    ],
    [
      'its own record but the tunnel is being deleted: an orphan candidate',
      record({ id: 'r2' }),
      at(web({ dnsRecordId: null }), { deleting: true }),
      'orphan',
    ],
  ];
  it.each(cases)('%s', (_, rec, where, kind) => {
    expect(classifyRecord(rec, where, own, 'example.com').kind).toBe(kind);
  });

  it("names the marker's tunnel and route on the orphan", () => {
    const v = classifyRecord(record({ comment: own.dnsComment('a', 'b') }), undefined, own, 'other.org');
    expect(v).toEqual({
      kind: 'orphan',
      orphan: {
        kind: 'dns',
        id: 'rec',
        name: 'web-tun.example.com',
        zone: 'other.org',
        tunnel: 'a',
        route: 'b',
        createdAt: null,
      },
    });
    const d = classifyRecord(record({ id: 'r2' }), at(route('web')), own, 'example.com');
    expect(d).toMatchObject({ kind: 'duplicate', recordId: 'rec' });
  });
});

describe('checkRoute', () => {
  const NOW = Date.parse('2026-06-01T00:00:00Z');
  const DAY = 86_400_000;
  const facts = (over: Partial<RouteFacts> = {}): RouteFacts => ({
    recordsListed: new Set(['example.com']),
    intact: new Set(['rec']),
    tokenExpiry: new Map(),
    renewBefore: NOW + 30 * DAY,
    kubernetesListed: false,
    ...over,
  });
  const tcp = (o: Parameters<typeof route>[2] = {}, over: Partial<Route> = {}) =>
    route(
      'db',
      { protocol: 'tcp', service: 'tcp://10.0.0.1:5432', ...over },
      { serviceTokenId: 'tok', ...o },
    );
  const expiry = (days: number) => new Date(NOW + days * DAY).toISOString();

  type Row = [string, ResyncRoute, Partial<RouteFacts>, Partial<ReturnType<typeof checkRoute>>];
  const cases: Row[] = [
    ['a converged route: nothing', at(route('web')), {}, { requeue: false, repair: null, fact: null }],
    [
      'its record vanished: forget it (uncertain) and requeue',
      at(route('web')),
      { intact: new Set() },
      { requeue: true, repair: { dnsRecordId: null, dnsUncertain: true } },
    ],
    [
      'records could not be listed: nothing taken for gone',
      at(route('web')),
      { intact: new Set(), recordsListed: new Set() },
      { repair: null },
    ],
    [
      "another zone's records were listed, not its own: nothing taken for gone",
      at(route('web')),
      { intact: new Set(), recordsListed: new Set(['other.org']) },
      { repair: null },
    ],
    [
      'its record vanished from its own zone (a second zone): forgotten',
      at(route('web', { zone: 'other.org', hostname: 'web-tun.other.org' })),
      { intact: new Set(), recordsListed: new Set(['example.com', 'other.org']) },
      { requeue: true, repair: { dnsRecordId: null, dnsUncertain: true } },
    ],
    [
      'a deleted route whose record is gone: the pass deletes it anyway',
      at(route('web', { deleting: true })),
      { intact: new Set() },
      { repair: null, requeue: false },
    ],
    [
      'a tunnel without a Cloudflare tunnel: its records are not compared',
      at(route('web'), { cfTunnelId: null }),
      { intact: new Set() },
      { repair: null },
    ],
    [
      'stuck in error on a foreign record: requeued, nothing forgotten',
      at(route('web', { phase: 'error' }, { dnsRecordId: null, dnsUncertain: true })),
      {},
      { requeue: true, repair: null },
    ],
    [
      'in error for another reason with its record: not requeued',
      at(route('web', { phase: 'error' })),
      {},
      { requeue: false },
    ],
    [
      'a token Cloudflare says expires later than we thought: learnt, no pass',
      at(tcp({ serviceTokenExpiresAt: expiry(10) })),
      { tokenExpiry: new Map([['tok', expiry(100)]]) },
      { fact: { serviceTokenExpiresAt: expiry(100) }, requeue: false, expiring: false },
    ],
    [
      'a token nearing expiry (as Cloudflare says): renewed',
      at(tcp({ serviceTokenExpiresAt: expiry(100) })),
      { tokenExpiry: new Map([['tok', expiry(5)]]) },
      { fact: { serviceTokenExpiresAt: expiry(5) }, requeue: true, expiring: true },
    ],
    [
      'a token nearing expiry, tokens not listed: the row says so',
      at(tcp({ serviceTokenExpiresAt: expiry(5) })),
      { tokenExpiry: null },
      { fact: null, expiring: true, requeue: true },
    ],
    [
      'a deleted TCP route with an old token: left alone',
      at(tcp({ serviceTokenExpiresAt: expiry(5) }, { deleting: true })),
      {},
      { expiring: false, requeue: false },
    ],
    [
      'a live TCP route with Kubernetes listed: its objects wanted and applied again',
      at(tcp({ k8sHash: 'h' })),
      { kubernetesListed: true },
      { kubernetesWanted: 'tunnel-access-db-tun', repair: { k8sHash: null }, requeue: true },
    ],
    [
      'a live TCP route not applied yet: wanted, nothing to forget',
      at(tcp({ k8sHash: null })),
      { kubernetesListed: true },
      { kubernetesWanted: 'tunnel-access-db-tun', repair: null },
    ],
    [
      'Kubernetes not listed: TCP objects left alone',
      at(tcp({ k8sHash: 'h' })),
      {},
      { kubernetesWanted: null, repair: null },
    ],
    [
      'a deleted TCP route: its objects are not wanted',
      at(tcp({ k8sHash: 'h' }, { deleting: true })),
      { kubernetesListed: true },
      { kubernetesWanted: null },
    ],
    [
      'an allow-list not yet in Access: counted (the old WAF rules stay)',
      at(route('web', { allowIps: ['203.0.113.0/24'] })),
      {},
      { unprotectedAllowList: true },
    ],
  ];
  it.each(cases)('%s', (_, where, f, expected) => {
    expect(checkRoute(where, facts(f))).toMatchObject(expected);
  });
});

describe('Access drift', () => {
  const people = { emails: ['a@example.com'], emailDomains: [] };
  const hash = policiesHash(accessPolicies({ tcpLike: false, allowIps: null, access: people }, null));
  const app = (
    policies = accessPolicies({ tcpLike: false, allowIps: null, access: people }, null),
  ): AccessApp =>
    ({
      id: 'app',
      name: own.accessName('tun', 'web'),
      domain: 'web-tun.example.com',
      aud: 'aud',
      policies,
      sessionDuration: '24h',
    }) as AccessApp;
  const protectedWeb = (over: Partial<Route> = {}) =>
    route('web', { access: people, ...over }, { accessAppId: 'app', accessPoliciesHash: hash });
  const listing = (apps: AccessApp[] = [app()], tokenIds: string[] = []) => ({
    apps: new Map(apps.map((a) => [a.id, a])),
    tokenIds: new Set(tokenIds),
  });
  const cases: Array<[string, ResyncRoute, ReturnType<typeof listing>, ReturnType<typeof accessSuspect>]> = [
    ['its application listed as we left it: nothing', at(protectedWeb()), listing(), null],
    [
      'its application missing from the listing: a suspect',
      at(protectedWeb()),
      listing([]),
      { lostApp: true, lostToken: false, editedPolicies: false },
    ],
    [
      'its policies edited by hand: a suspect',
      at(protectedWeb()),
      listing([app([{ name: 'x', decision: 'allow', include: [{ everyone: {} }] }] as never)]),
      { lostApp: false, lostToken: false, editedPolicies: true },
    ],
    [
      'its service token missing: a suspect',
      at(
        route('db', { protocol: 'tcp', service: 'tcp://h:1' }, { accessAppId: 'app', serviceTokenId: 'tok' }),
      ),
      listing([{ ...app(), policies: [] } as AccessApp]),
      { lostApp: false, lostToken: true, editedPolicies: true },
    ],
    [
      'its domain edited by hand: a suspect (the application is put back)',
      at(protectedWeb()),
      listing([{ ...app(), domain: 'elsewhere.example.com' }]),
      { lostApp: false, lostToken: false, editedPolicies: true },
    ],
    ['a deleted route: not a suspect', at(protectedWeb({ deleting: true })), listing([]), null],
    ['a public route: not a suspect', at(route('web')), listing([]), null],
  ];
  it.each(cases)('%s', (_, where, l, expected) => {
    expect(accessSuspect(where, l)).toEqual(expected);
  });

  it('forgets only what is gone for sure, and always puts the policies again', () => {
    expect(accessRepair({ app: false, token: false, editedPolicies: false })).toBeNull();
    expect(accessRepair({ app: true, token: false, editedPolicies: false })).toEqual({
      accessAppId: null,
      accessAud: null,
      accessPoliciesHash: null,
    });
    expect(accessRepair({ app: false, token: true, editedPolicies: false })).toEqual({
      serviceTokenId: null,
      serviceTokenClientId: null,
      serviceTokenSealed: null,
      serviceTokenExpiresAt: null,
      accessPoliciesHash: null,
    });
    expect(accessRepair({ app: false, token: false, editedPolicies: true })).toEqual({
      accessPoliciesHash: null,
    });
  });

  it("a route's row accounts for its objects by id and by name, even while it is being deleted", () => {
    expect(accessClaims(at(protectedWeb({ deleting: true })), own)).toEqual([
      'app',
      own.accessName('tun', 'web'),
    ]);
  });
});

describe('orphans from the listings', () => {
  const t = (over: Partial<ResyncTunnel> = {}): ResyncTunnel => ({
    id: 't1',
    ownerId: 'u1',
    name: 'tun',
    cfTunnelId: 'cf1',
    deleting: false,
    configMode: 'remote',
    configHash: 'h',
    ...over,
  });

  it('a Cloudflare tunnel is ours to keep when a row names it by id or by name', () => {
    const createdAt = '2026-01-01T00:00:00Z';
    const listed = [
      { id: 'cf1', name: own.tunnelName('tun'), createdAt },
      { id: 'cf2', name: own.tunnelName('made-before-its-id-was-kept'), createdAt },
      { id: 'cf3', name: own.tunnelName('gone'), createdAt },
    ];
    const rows = [t(), t({ id: 't2', name: 'made-before-its-id-was-kept', cfTunnelId: null })];
    expect(orphanTunnels(listed, rows, own)).toEqual([
      { kind: 'tunnel', id: 'cf3', name: own.tunnelName('gone'), tunnel: 'gone', route: null, createdAt },
    ]);
  });

  it('tunnels missing from the listing, and configurations that can be compared', () => {
    const rows = [
      t(),
      t({ id: 't2', cfTunnelId: 'cf2' }),
      t({ id: 't3', cfTunnelId: 'cf3', deleting: true }),
      t({ id: 't4', cfTunnelId: null }),
      t({ id: 't5', cfTunnelId: 'cf5', configMode: 'local' }),
      t({ id: 't6', cfTunnelId: 'cf6', configHash: null }),
    ];
    const listed = new Set(['cf1', 'cf5', 'cf6']);
    expect(missingTunnels(rows, listed).map((x) => x.id)).toEqual(['t2']);
    expect(comparableConfigs(rows, listed).map((x) => x.id)).toEqual(['t1']);
  });

  it('Access objects no row accounts for, by id or by name', () => {
    const apps = [
      { id: 'a1', name: own.accessName('tun', 'web') },
      { id: 'a2', name: own.accessName('tun', 'old') },
    ] as AccessApp[];
    const tokens = [{ id: 's1', name: own.accessName('tun', 'db') }] as never[];
    expect(orphanAccess(apps, tokens, new Set([own.accessName('tun', 'web'), 's1']), own)).toEqual([
      { kind: 'access-app', id: 'a2', name: own.accessName('tun', 'old'), tunnel: 'tun', route: 'old' },
    ]);
  });

  it('Kubernetes objects no live TCP route wants (or without our route labels)', () => {
    const obj = (name: string, labels: Record<string, string>) =>
      ({ kind: 'Deployment', name, labels }) as ManagedObject;
    const objects = [
      obj('tunnel-access-db-tun', { 'tunnelplane.io/route': 'db', 'tunnelplane.io/tunnel': 'tun' }),
      obj('tunnel-access-old-tun', { 'tunnelplane.io/route': 'old', 'tunnelplane.io/tunnel': 'tun' }),
      obj('stray', {}),
    ];
    expect(orphanKubernetes(objects, new Set(['tunnel-access-db-tun'])).map((o) => [o.id, o.route])).toEqual([
      ['tunnel-access-old-tun', 'old'],
      ['stray', null],
    ]);
  });
});

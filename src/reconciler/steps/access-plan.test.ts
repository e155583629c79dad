import { describe, expect, it } from 'vitest';
import { accessPolicies, policiesHash } from '../../domain/access-policies.js';
import type { Route, RouteObjects } from '../../domain/model.js';
import { route, tunnel } from '../../../test/support/model.js';
import { newWork } from '../work.js';
import { accessTargets, planAccess, planAccessRemoval, type AccessOp } from './access-plan.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const opts = { now: NOW, renewBeforeMs: 30 * DAY };
const tcpHash = (token: string) =>
  policiesHash(accessPolicies({ tcpLike: true, allowIps: null, access: null }, token));
const people = { emails: ['a@example.com'], emailDomains: [] };
const peopleHash = policiesHash(accessPolicies({ tcpLike: false, allowIps: null, access: people }, null));
const tcp = (o: Partial<RouteObjects> = {}) =>
  route('db', { protocol: 'tcp', service: 'tcp://10.0.0.1:5432' }, { dnsRecordId: null, ...o });
const converged = { accessAppId: 'app', serviceTokenId: 'tok', accessPoliciesHash: tcpHash('tok') };
const kinds = (ops: AccessOp[]) => ops.map((o) => o.kind);

describe('planAccess', () => {
  const cases: Array<[string, Route, string[]]> = [
    [
      'a new TCP route: mark, token, then application, then settled',
      tcp(),
      ['mark_uncertain', 'create_token', 'create_app', 'clear_uncertain'],
    ],
    [
      'a new route with Access for people needs no token',
      route('web', { access: people }, { dnsRecordId: null }),
      ['mark_uncertain', 'create_app', 'clear_uncertain'],
    ],
    ['a converged TCP route: nothing', tcp(converged), []],
    [
      'a converged route for people: nothing',
      route('web', { access: people }, { accessAppId: 'app', accessPoliciesHash: peopleHash }),
      [],
    ],
    [
      'the people changed: the application is updated in place',
      route(
        'web',
        { access: { emails: ['b@example.com'], emailDomains: [] } },
        { accessAppId: 'app', accessPoliciesHash: peopleHash },
      ),
      ['update_app'],
    ],
    [
      'policies edited by hand (hash forgotten by resync): put again',
      tcp({ ...converged, accessPoliciesHash: null }),
      ['update_app'],
    ],
    [
      'an admin asked for a new secret: rotate',
      tcp({ ...converged, rotateRequested: true }),
      ['rotate_token'],
    ],
    [
      'the token expires within the renewal window: renew (which rotates too)',
      tcp({
        ...converged,
        serviceTokenExpiresAt: new Date(NOW + 10 * DAY).toISOString(),
        rotateRequested: true,
      }),
      ['renew_token'],
    ],
    [
      'the token expires later: nothing',
      tcp({ ...converged, serviceTokenExpiresAt: new Date(NOW + 60 * DAY).toISOString() }),
      [],
    ],
    [
      'after a lost answer the look found both: settle only',
      tcp({ ...converged, accessUncertain: true }),
      ['clear_uncertain'],
    ],
    [
      'after a lost answer the look found the application only: a token, the application updated to name it',
      tcp({ accessAppId: 'app', accessUncertain: true }),
      ['create_token', 'update_app', 'clear_uncertain'],
    ],
    [
      'after a lost answer the look found nothing: create both, still marked',
      tcp({ accessUncertain: true }),
      ['create_token', 'create_app', 'clear_uncertain'],
    ],
    [
      'the token vanished (forgotten by resync): a new one, and the application names it',
      tcp({ accessAppId: 'app', accessPoliciesHash: tcpHash('tok') }),
      ['mark_uncertain', 'create_token', 'update_app', 'clear_uncertain'],
    ],
  ];
  it.each(cases)('%s', (_name, r, ops) => {
    expect(kinds(planAccess(r, opts))).toEqual(ops);
  });
});

describe('planAccessRemoval', () => {
  const cases: Array<[string, Partial<RouteObjects>, string[]]> = [
    [
      'application, then token',
      { accessAppId: 'app', serviceTokenId: 'tok' },
      ['delete_app', 'delete_token'],
    ],
    ['only an application', { accessAppId: 'app' }, ['delete_app']],
    ['uncertain, the look found nothing: settle', { accessUncertain: true }, ['clear_uncertain']],
    ['nothing left', {}, []],
  ];
  it.each(cases)('%s', (_name, o, ops) => {
    expect(kinds(planAccessRemoval(tcp(o)))).toEqual(ops);
  });
});

describe('accessTargets', () => {
  it('protects live routes that need it, and takes protection off deleted or unprotected ones once their record is gone', () => {
    const w = newWork(tunnel(), [
      tcp(), // live, needs Access
      route('plain', {}, { dnsRecordId: 'rec' }), // needs nothing, has nothing
      route('was-protected', {}, { accessAppId: 'app' }), // protection dropped: removed (its record stays)
      route('gone', { deleting: true }, { dnsRecordId: null, accessAppId: 'app' }), // deleted, record gone
      route('going', { deleting: true }, { dnsRecordId: 'rec', accessAppId: 'app' }), // record first
      route('unsure', { deleting: true }, { dnsRecordId: null, dnsUncertain: true, accessAppId: 'app' }), // record maybe
    ]);
    const t = accessTargets(w);
    expect(t.ensure.map((r) => r.name)).toEqual(['db']);
    expect(t.remove.map((r) => r.name)).toEqual(['was-protected', 'gone']);
  });

  it('skips routes that failed or are blocked in this pass', () => {
    const w = newWork(tunnel(), [
      tcp(),
      route('gone', { deleting: true }, { dnsRecordId: null, accessAppId: 'app' }),
    ]);
    w.routeFailures.set(w.routes[0]!.id, new Error('x'));
    w.blocked.set(w.routes[1]!.id, { code: 'dns.record_quota', message: 'x' });
    expect(accessTargets(w)).toEqual({ ensure: [], remove: [] });
  });

  it("takes our application off a name someone else's record holds, even though the route is blocked", () => {
    const w = newWork(tunnel(), [
      route('taken', { access: people }, { dnsRecordId: null, accessAppId: 'app' }),
      route('quota', { access: people }, { dnsRecordId: null, accessAppId: 'app2' }),
    ]);
    w.blocked.set(w.routes[0]!.id, { code: 'dns.foreign_record', message: 'x' });
    w.blocked.set(w.routes[1]!.id, { code: 'dns.record_quota', message: 'x' });
    expect(accessTargets(w).remove.map((r) => r.name)).toEqual(['taken']);
    expect(accessTargets(w).ensure).toEqual([]);
  });
});

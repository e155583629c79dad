import { describe, expect, it } from 'vitest';
import {
  afterRefusedBatch,
  namesToLookUp,
  planDns,
  type DnsOp,
  type DnsRouteInput,
  type FoundRecord,
} from './dns-plan.js';

const HOST = 'web-tun.example.com';
const COMMENT = 'managed-by:tunnelplane/t tunnel=tun route=web';
const TARGET = 'abc.cfargotunnel.com';
const route = (over: Partial<DnsRouteInput>): DnsRouteInput => ({
  routeId: 'r1',
  hostname: HOST,
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

describe('afterRefusedBatch', () => {
  it('a refused delete keeps its record, a refused create made none, a refused patch is looked at again', () => {
    expect(
      afterRefusedBatch([
        { kind: 'delete', routeId: 'a', id: 'rec-a' },
        { kind: 'post', routeId: 'b', record: cname },
        { kind: 'patch', routeId: 'c', id: 'rec-c', record: cname },
      ]),
    ).toEqual([
      { routeId: 'a', recordId: 'rec-a', uncertain: false },
      { routeId: 'b', recordId: null, uncertain: false },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type { Route, Tunnel } from '../../domain/model.js';
import { route, tunnel } from '../../../test/support/model.js';
import { newWork, type Work } from '../work.js';
import { deletionTargets, planDeletion, type DeletionOp } from './deletions-plan.js';

describe('planDeletion', () => {
  const cases: Array<[string, Partial<Tunnel>, Array<DeletionOp['kind']>]> = [
    [
      'a Cloudflare tunnel: connections cleaned, tunnel deleted, then the rows',
      { deleting: true },
      ['clean_connections', 'delete_tunnel', 'delete_rows'],
    ],
    ['never created in Cloudflare: only the rows', { deleting: true, cfTunnelId: null }, ['delete_rows']],
  ];
  it.each(cases)('%s', (_name, t, ops) => {
    expect(planDeletion(tunnel(t)).map((o) => o.kind)).toEqual(ops);
  });
});

describe('deletionTargets', () => {
  const gone = (id: string, over: Partial<Route> = {}) =>
    route(id, { deleting: true, ...over }, { dnsRecordId: null, k8sRemoved: true });
  const tcp = { protocol: 'tcp', service: 'tcp://10.0.0.1:22' };
  const cases: Array<[string, Partial<Tunnel>, Route[], (w: Work) => void, boolean, boolean]> = [
    // situation, tunnel, routes, what the pass did, kubernetes enabled, deleted now
    ['deleted, every route gone', { deleting: true }, [gone('a')], () => undefined, true, true],
    ['deleted, no routes', { deleting: true }, [], () => undefined, true, true],
    ['a live tunnel', {}, [gone('a')], () => undefined, true, false],
    [
      'a route still has its record',
      { deleting: true },
      [gone('a'), route('b', { deleting: true })],
      () => undefined,
      true,
      false,
    ],
    [
      'a route still has an Access application',
      { deleting: true },
      [route('a', { deleting: true }, { dnsRecordId: null, accessAppId: 'app' })],
      () => undefined,
      true,
      false,
    ],
    [
      "a TCP route's pods are not removed yet",
      { deleting: true },
      [route('a', { deleting: true, ...tcp }, { dnsRecordId: null })],
      () => undefined,
      true,
      false,
    ],
    [
      'the same without a cluster: nothing to wait for',
      { deleting: true },
      [route('a', { deleting: true, ...tcp }, { dnsRecordId: null })],
      () => undefined,
      false,
      true,
    ],
    [
      'a route failed in this pass',
      { deleting: true },
      [gone('a')],
      (w) => w.routeFailures.set('a', new Error('x')),
      true,
      false,
    ],
    [
      'the tunnel failed in this pass',
      { deleting: true },
      [gone('a')],
      (w) => (w.failure = new Error('x')),
      true,
      false,
    ],
    ['already deleted in this pass', { deleting: true }, [gone('a')], (w) => (w.done = true), true, false],
  ];
  it.each(cases)('%s', (_name, t, routes, then, k8s, included) => {
    const w = newWork(tunnel(t), routes);
    then(w);
    expect(deletionTargets([w], k8s)).toEqual(included ? [w] : []);
  });
});

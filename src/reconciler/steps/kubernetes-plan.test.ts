import { describe, expect, it } from 'vitest';
import type { Route, RouteObjects } from '../../domain/model.js';
import { route, tunnel } from '../../../test/support/model.js';
import { newWork, type Work } from '../work.js';
import {
  kubernetesTargets,
  objectsHash,
  planPodRemoval,
  planPods,
  podObjects,
  readinessPatches,
  type AppliedRoute,
  type PodSettings,
} from './kubernetes-plan.js';

const settings: PodSettings = {
  namespace: 'ns',
  image: 'cloudflare/cloudflared:1',
  replicas: 1,
  port: 10000,
  ownerLabels: { 'app.kubernetes.io/managed-by': 'tunnelplane' },
};
const tcp = (id: string, o: Partial<RouteObjects> = {}, over: Partial<Route> = {}) =>
  route(
    id,
    { protocol: 'tcp', service: 'tcp://10.0.0.1:22', ...over },
    { accessAppId: 'app', serviceTokenId: 'tok', serviceTokenSealed: 'sealed', ...o },
  );

describe('kubernetesTargets', () => {
  // situation, route, what the pass did, where it goes
  const cases: Array<[string, Route, (w: Work) => void, 'apply' | 'remove' | null]> = [
    ['a live protected TCP route: its pods', tcp('a'), () => undefined, 'apply'],
    [
      'an HTTP route has none',
      route('a', { allowIps: ['10.0.0.0/8'] }, { accessAppId: 'app' }),
      () => undefined,
      null,
    ],
    [
      'no Access application yet: not before its protection',
      tcp('a', { accessAppId: null }),
      () => undefined,
      null,
    ],
    [
      'no token secret held yet: nothing to run with',
      tcp('a', { serviceTokenSealed: null }),
      () => undefined,
      null,
    ],
    ['a deleted TCP route: its pods go', tcp('a', {}, { deleting: true }), () => undefined, 'remove'],
    [
      'a deleted TCP route whose pods are gone: nothing',
      tcp('a', { k8sRemoved: true }, { deleting: true }),
      () => undefined,
      null,
    ],
    [
      'a route that failed earlier in the pass waits',
      tcp('a'),
      (w) => w.routeFailures.set('a', new Error('x')),
      null,
    ],
    [
      'a blocked route waits',
      tcp('a'),
      (w) => w.blocked.set('a', { code: 'dns.foreign_record', message: 'x' }),
      null,
    ],
    [
      'the configuration PUT was put off: a deleted route waits for it',
      tcp('a', {}, { deleting: true }),
      (w) => (w.deferred = true),
      null,
    ],
  ];
  it.each(cases)('%s', (_name, r, then, where) => {
    const w = newWork(tunnel(), [r]);
    then(w);
    const t = kubernetesTargets(w);
    expect(t).toEqual({ apply: where === 'apply' ? [r] : [], remove: where === 'remove' ? [r] : [] });
  });

  it('the routes of a deleted tunnel all lose their pods', () => {
    const w = newWork(tunnel({ deleting: true }), [tcp('a'), tcp('b', { k8sRemoved: true })]);
    expect(kubernetesTargets(w).remove.map((r) => r.name)).toEqual(['a']);
  });
});

describe('planPods', () => {
  const w = newWork(tunnel(), []);
  const wanted = (r: Route) => podObjects(w, r, settings, 'secret');
  const cases: Array<[string, Route, string[]]> = [
    [
      'never applied: Secret, Deployment, Service, then recorded',
      tcp('a'),
      ['apply:Secret', 'apply:Deployment', 'apply:Service', 'record_applied'],
    ],
    ['applied as it is: nothing', tcp('a', { k8sHash: objectsHash(wanted(tcp('a'))) }), []],
    [
      'the token rotated since (the pods roll): applied again',
      tcp('a', { tokenVersion: 1, k8sHash: objectsHash(wanted(tcp('a'))) }),
      ['apply:Secret', 'apply:Deployment', 'apply:Service', 'record_applied'],
    ],
    [
      'forgotten by resync (objects edited or deleted by hand): applied again',
      tcp('a', { k8sHash: null }),
      ['apply:Secret', 'apply:Deployment', 'apply:Service', 'record_applied'],
    ],
  ];
  it.each(cases)('%s', (_name, r, ops) => {
    const planned = planPods(r, wanted(r));
    expect(planned.map((o) => (o.kind === 'apply' ? `apply:${o.object.kind}` : o.kind))).toEqual(ops);
    const last = planned.at(-1);
    if (last?.kind === 'record_applied') expect(last.hash).toBe(objectsHash(wanted(r)));
  });
});

describe('planPodRemoval', () => {
  it('the Deployment, the Service, the Secret, then recorded', () => {
    expect(planPodRemoval()).toEqual([
      { kind: 'delete', object: 'Deployment' },
      { kind: 'delete', object: 'Service' },
      { kind: 'delete', object: 'Secret' },
      { kind: 'record_removed' },
    ]);
  });
});

describe('readinessPatches', () => {
  const applied = (over: Partial<AppliedRoute> = {}): AppliedRoute => ({
    id: 'a',
    tunnel_id: 't1',
    name: 'a',
    tunnel_name: 'tun',
    k8s_ready: 0,
    k8s_reason: 'starting',
    ...over,
  });
  const NAME = 'tunnel-access-a-tun';
  type Status = { ready: boolean; reason: string | null };
  const cases: Array<[string, AppliedRoute, Array<[string, Status]>, object[]]> = [
    [
      'its pods became ready',
      applied(),
      [[NAME, { ready: true, reason: null }]],
      [{ tunnelId: 't1', routeId: 'a', objects: { k8sReady: true, k8sReason: null } }],
    ],
    ['still starting, as recorded: nothing', applied(), [[NAME, { ready: false, reason: 'starting' }]], []],
    [
      'ready, as recorded: nothing',
      applied({ k8s_ready: 1, k8s_reason: null }),
      [[NAME, { ready: true, reason: null }]],
      [],
    ],
    [
      'a new reason (an image that cannot be pulled)',
      applied(),
      [[NAME, { ready: false, reason: 'ImagePullBackOff' }]],
      [{ tunnelId: 't1', routeId: 'a', objects: { k8sReady: false, k8sReason: 'ImagePullBackOff' } }],
    ],
    [
      'its Deployment is missing',
      applied({ k8s_ready: 1, k8s_reason: null }),
      [],
      [{ tunnelId: 't1', routeId: 'a', objects: { k8sReady: false, k8sReason: 'deployment missing' } }],
    ],
  ];
  it.each(cases)('%s', (_name, r, status, patches) => {
    expect(readinessPatches([r], new Map(status))).toEqual(patches);
  });
});

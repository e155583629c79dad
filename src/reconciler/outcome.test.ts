import { describe, expect, it } from 'vitest';
import { ProviderError } from '../domain/errors.js';
import { accessPolicies, policiesHash } from '../domain/access-policies.js';
import type { Route, RouteObjects, Tunnel } from '../domain/model.js';
import { route, tunnel } from '../../test/support/model.js';
import { decide } from './outcome.js';
import { newWork, type Work } from './work.js';

const protectedTcp = (id: string, o: Partial<RouteObjects> = {}) =>
  route(
    id,
    { protocol: 'tcp', service: 'tcp://10.0.0.1:22' },
    {
      accessAppId: 'app',
      serviceTokenId: 'tok',
      accessPoliciesHash: policiesHash(
        accessPolicies({ tcpLike: true, allowIps: null, access: null }, 'tok'),
      ),
      k8sHash: 'k',
      ...o,
    },
  );
const work = (t: Tunnel, routes: Route[], then: (w: Work) => void = () => undefined) => {
  const w = newWork(t, routes);
  then(w);
  return w;
};
const decided = (w: Work, k8s = true) => decide(w, k8s, () => 1000);

describe('decide', () => {
  it('converges a tunnel whose routes are all live, protected and applied', () => {
    const d = decided(work(tunnel(), [route('a'), protectedTcp('b')]));
    expect(d.outcome).toMatchObject({
      kind: 'converged',
      readyRouteIds: ['a', 'b'],
      goneRoutes: [],
      routeErrors: [],
    });
  });

  it('removes the rows of deleted routes that are gone outside, and only those', () => {
    const gone = route('g', { deleting: true }, { dnsRecordId: null });
    const left = route('l', { deleting: true }, { dnsRecordId: 'rec' });
    expect(decided(work(tunnel(), [gone])).outcome).toMatchObject({ kind: 'converged', goneRoutes: [gone] });
    const d = decided(work(tunnel(), [gone, left]));
    expect(d.outcome).toMatchObject({
      kind: 'failed',
      goneRoutes: [gone],
      error: { code: 'reconciler.unfinished' },
    });
    expect(d.unfinished).toEqual(['route l is not deleted yet']);
  });

  it('a deleted route whose deletion failed carries its error, and stays deleting', () => {
    const left = route('l', { deleting: true }, { accessAppId: 'app' });
    const err = new ProviderError({ provider: 'cloudflare', kind: 'permission', message: 'delete app: 403' });
    const d = decided(work(tunnel(), [left], (w) => w.routeFailures.set('l', err)));
    expect(d.outcome).toMatchObject({
      kind: 'failed',
      goneRoutes: [],
      routeErrors: [
        { routeId: 'l', message: 'delete app: 403', code: 'cloudflare.permission', deleting: true },
      ],
    });
  });

  it.each<[string, Route]>([
    ['no record yet', route('a', {}, { dnsRecordId: null })],
    ['an uncertain record', route('a', {}, { dnsUncertain: true })],
    ['a TCP route without its application', protectedTcp('a', { accessAppId: null })],
    ['a TCP route whose application holds other policies', protectedTcp('a', { accessPoliciesHash: 'old' })],
    ['a TCP route whose pods are not applied', protectedTcp('a', { k8sHash: null })],
    ['an allow-listed route without its application', route('a', { allowIps: ['10.0.0.0/8'] })],
  ])('never converges with a live route unfinished: %s', (_name, r) => {
    const d = decided(work(tunnel(), [r]));
    expect(d.outcome?.kind).toBe('failed');
    expect(d.unfinished).toEqual(['route a is not live yet']);
  });

  it('pods are not needed without a cluster', () => {
    expect(decided(work(tunnel(), [protectedTcp('a', { k8sHash: null })]), false).outcome?.kind).toBe(
      'converged',
    );
  });

  it('a blocked route is its own error; its tunnel converges', () => {
    const d = decided(
      work(tunnel(), [route('a'), route('b', {}, { dnsRecordId: null })], (w) =>
        w.blocked.set('b', { code: 'dns.foreign_record', message: 'taken' }),
      ),
    );
    expect(d.outcome).toMatchObject({
      kind: 'converged',
      readyRouteIds: ['a'],
      routeErrors: [{ routeId: 'b', code: 'dns.foreign_record', phase: 'error' }],
    });
  });

  it("a route's failure is its own: the others are ready, the tunnel retries with the route's error", () => {
    const err = new ProviderError({
      provider: 'kubernetes',
      kind: 'transient',
      message: 'etcd is down',
      retryAfterMs: 3000,
    });
    const d = decided(
      work(tunnel(), [route('a'), protectedTcp('b', { k8sHash: null })], (w) =>
        w.routeFailures.set('b', err),
      ),
    );
    expect(d.outcome).toMatchObject({
      kind: 'failed',
      readyRouteIds: ['a'],
      routeErrors: [
        { routeId: 'b', message: 'etcd is down', code: 'kubernetes.transient', phase: 'pending' },
      ],
      error: { message: 'etcd is down', code: 'kubernetes.transient', terminal: false },
    });
    expect(d.retryAfterMs).toBe(3000);
  });

  it("a tunnel's own failure is every unfinished route's error; a refusal is terminal", () => {
    const err = new ProviderError({ provider: 'cloudflare', kind: 'permission', message: 'denied' });
    const d = decided(
      work(tunnel({ cfTunnelId: null }), [route('a', {}, { dnsRecordId: null })], (w) => (w.failure = err)),
    );
    expect(d.terminal).toBe(true);
    expect(d.outcome).toMatchObject({
      kind: 'failed',
      routeErrors: [{ routeId: 'a', message: 'denied', phase: 'error' }],
      error: { terminal: true, code: 'cloudflare.permission' },
    });
  });

  it('a remote tunnel with a stale configuration is not converged', () => {
    const d = decided(
      work(tunnel({ configMode: 'remote', configHash: 'old', configVersion: 1 }), [route('a')]),
    );
    expect(d.unfinished).toEqual(['the remote configuration is not current']);
  });

  it('records nothing for a deleted or put-off tunnel', () => {
    expect(decided(work(tunnel(), [], (w) => (w.done = true))).outcome).toBeNull();
    expect(decided(work(tunnel(), [route('a')], (w) => (w.deferred = true))).outcome).toBeNull();
  });

  it('a tunnel being deleted is converged only by its deletion', () => {
    expect(decided(work(tunnel({ deleting: true }), [])).unfinished).toEqual([
      'the tunnel is not deleted yet',
    ]);
  });
});

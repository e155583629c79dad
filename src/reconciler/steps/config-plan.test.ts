import { describe, expect, it } from 'vitest';
import type { Route, Tunnel } from '../../domain/model.js';
import { route, tunnel } from '../../../test/support/model.js';
import { newWork, type Work } from '../work.js';
import { configCurrent, configHash, configTargets, planConfig, type ConfigOp } from './config-plan.js';

const remote = (over: Partial<Tunnel> = {}) => tunnel({ configMode: 'remote', ...over });
const ingressOf = (...hosts: string[]) => [
  ...hosts.map((h) => ({ hostname: `${h}-tun.example.com`, service: 'http://localhost:1' })),
  { service: 'http_status:404' },
];
const put = (...hosts: string[]): ConfigOp => ({
  kind: 'put',
  ingress: ingressOf(...hosts),
  hash: configHash(ingressOf(...hosts)),
});

describe('planConfig', () => {
  // situation, tunnel, routes, the scheduler's answer, expected ops, whether the scheduler was asked
  const cases: Array<[string, Partial<Tunnel>, Route[], boolean, ConfigOp[], boolean]> = [
    ['a new route: its ingress is put', {}, [route('a')], false, [put('a')], true],
    [
      'deleted routes are left out',
      {},
      [route('a'), route('b', { deleting: true })],
      false,
      [put('a')],
      true,
    ],
    [
      'the ingress is the one last accepted: nothing, and the scheduler is not asked',
      { configHash: configHash(ingressOf('a')), configVersion: 1 },
      [route('a')],
      true,
      [],
      false,
    ],
    ['a new tunnel without routes needs no configuration yet', {}, [], false, [], false],
    [
      'its last route deleted: the catch-all alone is put',
      { configHash: configHash(ingressOf('a')), configVersion: 2 },
      [route('a', { deleting: true })],
      false,
      [put()],
      true,
    ],
    ['a burst goes on: the scheduler puts it off', {}, [route('a')], true, [{ kind: 'defer' }], true],
  ];
  it.each(cases)('%s', (_name, t, routes, deferred, ops, asked) => {
    let calls = 0;
    const w = newWork(remote(t), routes);
    expect(planConfig(w, () => (calls++, deferred))).toEqual(ops);
    expect(calls).toBe(asked ? 1 : 0);
  });
});

describe('configTargets', () => {
  const cases: Array<[string, Partial<Tunnel>, (w: Work) => void, boolean]> = [
    ['a remote tunnel with its Cloudflare tunnel', { configMode: 'remote' }, () => undefined, true],
    ['a locally managed tunnel (cloudflared reads config.yaml)', {}, () => undefined, false],
    ['a deleted remote tunnel', { configMode: 'remote', deleting: true }, () => undefined, false],
    ['no Cloudflare tunnel yet', { configMode: 'remote', cfTunnelId: null }, () => undefined, false],
    ['its tunnel failed in this pass', { configMode: 'remote' }, (w) => (w.failure = new Error('x')), false],
  ];
  it.each(cases)('%s', (_name, t, then, included) => {
    const w = newWork(tunnel(t), [route('a')]);
    then(w);
    expect(configTargets([w])).toEqual(included ? [w] : []);
  });
});

describe('configCurrent', () => {
  const cases: Array<[string, Tunnel, Route[], boolean]> = [
    ['a locally managed tunnel always is', tunnel(), [route('a')], true],
    ['a deleted tunnel needs none', remote({ deleting: true }), [route('a')], true],
    ['a new remote tunnel without routes needs none yet', remote(), [], true],
    [
      'the accepted ingress is the wanted one',
      remote({ configHash: configHash(ingressOf('a')) }),
      [route('a')],
      true,
    ],
    [
      'a route was added since',
      remote({ configHash: configHash(ingressOf('a')) }),
      [route('a'), route('b')],
      false,
    ],
    [
      'a deleted route is still in it',
      remote({ configHash: configHash(ingressOf('a', 'b')), configVersion: 1 }),
      [route('a'), route('b', { deleting: true })],
      false,
    ],
  ];
  it.each(cases)('%s', (_name, t, routes, current) => {
    expect(configCurrent(newWork(t, routes))).toBe(current);
  });
});

import { describe, expect, it } from 'vitest';
import type { Tunnel } from '../../domain/model.js';
import { route, tunnel } from '../../../test/support/model.js';
import { newWork, type Work } from '../work.js';
import { planAfterConflict, planTunnel, tunnelTargets, type TunnelOp } from './tunnels-plan.js';

describe('planTunnel', () => {
  const cases: Array<[string, Partial<Tunnel>, TunnelOp[]]> = [
    [
      'a new locally managed tunnel: created, configured locally',
      { cfTunnelId: null },
      [{ kind: 'create', configSource: 'local' }],
    ],
    [
      'a new remotely managed tunnel: created, configured by Cloudflare',
      { cfTunnelId: null, configMode: 'remote' },
      [{ kind: 'create', configSource: 'cloudflare' }],
    ],
    [
      'deleted before its id was recorded: looked up by name, never created',
      { cfTunnelId: null, deleting: true },
      [{ kind: 'look_up' }],
    ],
    ['a tunnel with its id: nothing', {}, []],
    ['a deleted tunnel with its id: nothing (the deletion takes it)', { deleting: true }, []],
  ];
  it.each(cases)('%s', (_name, t, ops) => {
    expect(planTunnel(tunnel(t))).toEqual(ops);
  });
});

describe('planAfterConflict', () => {
  const cases: Array<[string, { id: string } | null, TunnelOp[]]> = [
    ['the name holds ours (a lost answer): adopted', { id: 'cf9' }, [{ kind: 'adopt', id: 'cf9' }]],
    ['nothing found by the name: the conflict stands', null, []],
  ];
  it.each(cases)('%s', (_name, found, ops) => {
    expect(planAfterConflict(found)).toEqual(ops);
  });
});

describe('tunnelTargets', () => {
  const cases: Array<[string, Partial<Tunnel>, (w: Work) => void, boolean]> = [
    ['a tunnel without an id', { cfTunnelId: null }, () => undefined, true],
    ['a deleted tunnel without an id', { cfTunnelId: null, deleting: true }, () => undefined, true],
    ['a tunnel with its id', {}, () => undefined, false],
    [
      'its tunnel failed earlier in the pass',
      { cfTunnelId: null },
      (w) => (w.failure = new Error('x')),
      false,
    ],
    ['deleted in this pass', { cfTunnelId: null }, (w) => (w.done = true), false],
    ['put off in this pass', { cfTunnelId: null }, (w) => (w.deferred = true), false],
  ];
  it.each(cases)('%s', (_name, t, then, included) => {
    const w = newWork(tunnel(t), [route('a')]);
    then(w);
    expect(tunnelTargets([w])).toEqual(included ? [w] : []);
  });
});

import { describe, expect, it } from 'vitest';
import { connectionsJson, healthIntervalMs, planHealth, type RecordedHealth } from './health-plan.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const conn = (colo: string, openedAt = '2026-12-01T09:59:00Z') => ({
  colo,
  clientVersion: '2023.8.1',
  originIp: '203.0.113.7',
  openedAt,
});
const four = [conn('ams01'), conn('fra07'), conn('ams08'), conn('fra10')];
const row = (over: Partial<RecordedHealth> = {}): RecordedHealth => ({
  id: 't1',
  name: 'web',
  ownerId: 'u1',
  cfTunnelId: 'cf1',
  createdAt: '2026-12-01T09:00:00Z',
  status: null,
  connections: null,
  checkedAt: null,
  since: null,
  neverConnectedReported: false,
  ...over,
});
const o = { confirmMs: 300_000, neverConnectedMs: 600_000 };

describe('planHealth', () => {
  it.each([
    ['first sight, healthy: connected', row(), 'healthy', four, ['tunnel.connected']],
    [
      'down after healthy: disconnected',
      row({
        status: 'healthy',
        connections: connectionsJson(four),
        checkedAt: '2026-12-01T09:59:30Z',
        since: '2026-12-01T09:00:00Z',
      }),
      'down',
      [],
      ['tunnel.disconnected'],
    ],
    [
      'degraded after healthy: still up, no event',
      row({
        status: 'healthy',
        connections: connectionsJson(four),
        checkedAt: '2026-12-01T09:59:30Z',
        since: 'x',
      }),
      'degraded',
      four.slice(0, 2),
      [],
    ],
    [
      'down after down: nothing',
      row({ status: 'down', connections: '[]', checkedAt: '2026-12-01T09:59:30Z', since: 'x' }),
      'down',
      [],
      null,
    ],
    [
      'inactive, created long ago: never connected, once',
      row({ status: 'inactive', connections: '[]', checkedAt: '2026-12-01T09:59:30Z', since: 'x' }),
      'inactive',
      [],
      ['tunnel.never_connected'],
    ],
    [
      'inactive, reported already: nothing',
      row({
        status: 'inactive',
        connections: '[]',
        checkedAt: '2026-12-01T09:59:30Z',
        since: 'x',
        neverConnectedReported: true,
      }),
      'inactive',
      [],
      null,
    ],
    [
      'inactive, just created: not yet',
      row({
        createdAt: '2026-12-01T09:58:00Z',
        status: 'inactive',
        connections: '[]',
        checkedAt: '2026-12-01T09:59:30Z',
        since: 'x',
      }),
      'inactive',
      [],
      null,
    ],
  ] as const)('%s', (_name, recorded, status, connections, events) => {
    const plan = planHealth([recorded], [{ id: 'cf1', status, connections: [...connections] }], T0, o);
    if (events === null) {
      expect(plan).toEqual({ updates: [], events: [] });
      return;
    }
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]!.status).toBe(status);
    expect(plan.events.map((e) => e.action)).toEqual(events);
  });

  it('confirms an unchanged row only once it is older than confirmMs, keeping `since`', () => {
    const base = row({
      status: 'healthy',
      connections: connectionsJson(four),
      since: '2026-12-01T08:00:00Z',
    });
    const fresh = { ...base, checkedAt: new Date(T0 - 299_000).toISOString() };
    const old = { ...base, checkedAt: new Date(T0 - 300_000).toISOString() };
    const listed = [{ id: 'cf1', status: 'healthy', connections: [...four].reverse() }];
    expect(planHealth([fresh], listed, T0, o).updates).toEqual([]);
    expect(planHealth([old], listed, T0, o).updates).toEqual([
      {
        id: 't1',
        status: 'healthy',
        connections: connectionsJson(four),
        checkedAt: new Date(T0).toISOString(),
        since: '2026-12-01T08:00:00Z',
      },
    ]);
  });

  it('leaves alone what the listing does not show or shows with an unknown status', () => {
    expect(planHealth([row()], [], T0, o)).toEqual({ updates: [], events: [] });
    expect(planHealth([row()], [{ id: 'cf1', status: 'weird', connections: [] }], T0, o)).toEqual({
      updates: [],
      events: [],
    });
  });
});

describe('healthIntervalMs', () => {
  const budget = { requests: 1200, windowMs: 300_000 };
  it.each([
    [10, 60_000, 0.05, 60_000],
    [1_000, 60_000, 0.05, 60_000],
    // 60 pages, 5 % of 1,200 per 300 s = 60 calls: one refresh per window.
    [60_000, 60_000, 0.05, 300_000],
    [60_000, 60_000, 0.1, 150_000],
  ])('%i tunnels, %i ms asked, share %f → %i ms', (tunnels, intervalMs, share, expected) => {
    expect(healthIntervalMs(tunnels, { intervalMs, share, budget })).toBe(expected);
  });
});

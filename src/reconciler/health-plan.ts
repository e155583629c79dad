/**
 * What a health refresh writes: from the tunnels Cloudflare lists (status and connections) and
 * what the store last recorded, the rows to update and the events to tell. Pure: the table tests
 * are health-plan.test.ts.
 *
 * A row is written when its status or connections changed, or when its last confirmation is
 * older than `confirmMs` (so `checkedAt` is never staler than that while refreshes run, without
 * rewriting every tunnel at every refresh). Events: `tunnel.connected` (to healthy or degraded
 * from anything else), `tunnel.disconnected` (from healthy or degraded to down or inactive), and
 * once per tunnel `tunnel.never_connected` when it is still inactive `neverConnectedMs` after it
 * was created. A tunnel the listing does not show (deleted outside, or not made yet) is left alone.
 */

export type ConnectorStatus = 'inactive' | 'healthy' | 'degraded' | 'down';

export interface Connection {
  colo: string;
  clientVersion: string;
  originIp: string;
  openedAt: string;
}

export interface RecordedHealth {
  id: string;
  name: string;
  ownerId: string;
  cfTunnelId: string;
  createdAt: string;
  status: ConnectorStatus | null;
  /** JSON as stored. */
  connections: string | null;
  checkedAt: string | null;
  since: string | null;
  neverConnectedReported: boolean;
}

export interface ListedTunnel {
  id: string;
  status: string;
  connections: Connection[];
}

export interface HealthUpdate {
  id: string;
  status: ConnectorStatus;
  connections: string;
  checkedAt: string;
  since: string;
  neverConnectedReported?: boolean;
}

export interface HealthEvent {
  ownerId: string;
  tunnel: string;
  action: 'tunnel.connected' | 'tunnel.disconnected' | 'tunnel.never_connected';
  details: Record<string, unknown>;
}

const STATUSES: readonly string[] = ['inactive', 'healthy', 'degraded', 'down'];
const up = (s: ConnectorStatus | null) => s === 'healthy' || s === 'degraded';

/** Connections in a stable order, so that the same set is the same text. */
export const connectionsJson = (cs: Connection[]) =>
  JSON.stringify(
    [...cs]
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.colo.localeCompare(b.colo))
      .map(({ colo, clientVersion, originIp, openedAt }) => ({ colo, clientVersion, originIp, openedAt })),
  );

export function planHealth(
  recorded: readonly RecordedHealth[],
  listed: readonly ListedTunnel[],
  at: number,
  o: { confirmMs: number; neverConnectedMs: number },
): { updates: HealthUpdate[]; events: HealthEvent[] } {
  const byCf = new Map(listed.map((t) => [t.id, t]));
  const now = new Date(at).toISOString();
  const updates: HealthUpdate[] = [];
  const events: HealthEvent[] = [];
  for (const r of recorded) {
    const t = byCf.get(r.cfTunnelId);
    if (!t || !STATUSES.includes(t.status)) continue;
    const status = t.status as ConnectorStatus;
    const connections = connectionsJson(t.connections);
    const changed = status !== r.status || connections !== r.connections;
    const stale = !r.checkedAt || at - Date.parse(r.checkedAt) >= o.confirmMs;
    const neverConnected =
      !r.neverConnectedReported &&
      status === 'inactive' &&
      at - Date.parse(r.createdAt) >= o.neverConnectedMs;
    if (!changed && !stale && !neverConnected) continue;
    const since = status !== r.status || !r.since ? now : r.since;
    updates.push({
      id: r.id,
      status,
      connections,
      checkedAt: now,
      since,
      ...(neverConnected ? { neverConnectedReported: true } : {}),
    });
    const colos = [...new Set(t.connections.map((c) => c.colo))];
    if (up(status) && !up(r.status))
      events.push({
        ownerId: r.ownerId,
        tunnel: r.name,
        action: 'tunnel.connected',
        details: { status, connections: t.connections.length, colos },
      });
    else if (!up(status) && up(r.status))
      events.push({
        ownerId: r.ownerId,
        tunnel: r.name,
        action: 'tunnel.disconnected',
        details: { status, was: r.status, upSince: r.since },
      });
    if (neverConnected)
      events.push({
        ownerId: r.ownerId,
        tunnel: r.name,
        action: 'tunnel.never_connected',
        details: { createdAt: r.createdAt, minutes: Math.round(o.neverConnectedMs / 60_000) },
      });
  }
  return { updates, events };
}

/**
 * How often the refresh may run within its share of the call budget: a refresh costs one call
 * per 1,000 tunnels (a page of the listing), and they may spend at most `share` of the budget.
 */
export function healthIntervalMs(
  tunnels: number,
  o: { intervalMs: number; share: number; budget: { requests: number; windowMs: number } },
): number {
  const pages = Math.max(1, Math.ceil(tunnels / 1000));
  const affordable = o.share * o.budget.requests;
  const floor = (pages * o.budget.windowMs) / Math.max(affordable, 1e-9);
  return Math.max(o.intervalMs, Math.ceil(floor));
}

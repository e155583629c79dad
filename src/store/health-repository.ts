/**
 * Tunnels' connector health as the health refresh reads and writes it (columns of `tunnels`,
 * migration 0009; the list-version triggers watch them, so cached views follow), and the counts
 * /metrics shows. Updates go in tunnel-id order, in chunks, each with its events.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { appendEvent } from './events-repository.js';
import { transact } from './locks.js';

export interface HealthRowUpdate {
  id: string;
  status: 'inactive' | 'healthy' | 'degraded' | 'down';
  connections: string;
  checkedAt: string;
  since: string;
  neverConnectedReported?: boolean;
}

export interface HealthRowEvent {
  ownerId: string;
  tunnel: string;
  action: string;
  details: Record<string, unknown>;
}

export function createHealthRepository(db: Kysely<Database>) {
  return {
    /** Live tunnels Cloudflare has made, with what was last recorded of their connectors. */
    async recorded() {
      const rows = await db
        .selectFrom('tunnels')
        .select([
          'id',
          'name',
          'owner_id',
          'cf_tunnel_id',
          'created_at',
          'connector_status',
          'connector_connections',
          'connector_checked_at',
          'connector_since',
          'never_connected_reported',
        ])
        .where('cf_tunnel_id', 'is not', null)
        .where('deleting', '=', 0)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        ownerId: r.owner_id,
        cfTunnelId: r.cf_tunnel_id!,
        createdAt: r.created_at,
        status: r.connector_status,
        connections: r.connector_connections,
        checkedAt: r.connector_checked_at,
        since: r.connector_since,
        neverConnectedReported: r.never_connected_reported === 1,
      }));
    },

    /** Writes the refresh's updates and their events (a chunk per transaction). */
    async record(updates: HealthRowUpdate[], events: HealthRowEvent[]) {
      const sorted = [...updates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (let i = 0; i < sorted.length; i += 100) {
        const chunk = sorted.slice(i, i + 100);
        await transact(db, async (trx) => {
          for (const u of chunk) {
            await trx
              .updateTable('tunnels')
              .set({
                connector_status: u.status,
                connector_connections: u.connections,
                connector_checked_at: u.checkedAt,
                connector_since: u.since,
                ...(u.neverConnectedReported ? { never_connected_reported: 1 } : {}),
              })
              .where('id', '=', u.id)
              .execute();
          }
        });
      }
      for (const e of events)
        await appendEvent(db, {
          ownerId: e.ownerId,
          actor: 'tunnelplane',
          action: e.action,
          target: e.tunnel,
          outcome: e.action === 'tunnel.connected' ? 'ok' : 'error',
          details: e.details,
        });
    },

    /** Tunnels by phase and by connector status (`unknown`: not read yet), for /metrics. */
    async counts(): Promise<{ phase: Record<string, number>; connectors: Record<string, number> }> {
      const rows = await db
        .selectFrom('tunnels')
        .select(['phase', 'connector_status', db.fn.countAll<number>().as('n')])
        .groupBy(['phase', 'connector_status'])
        .execute();
      const phase: Record<string, number> = {};
      const connectors: Record<string, number> = {};
      for (const r of rows) {
        phase[r.phase] = (phase[r.phase] ?? 0) + Number(r.n);
        const s = r.connector_status ?? 'unknown';
        connectors[s] = (connectors[s] ?? 0) + Number(r.n);
      }
      return { phase, connectors };
    },
  };
}

export type HealthRepository = ReturnType<typeof createHealthRepository>;

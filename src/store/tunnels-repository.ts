/**
 * Tunnels and routes as the API writes and reads them: desired-state writes (tunnels-writes.ts:
 * each one transaction that bumps the tunnel's `generation`, checks quotas and appends its audit
 * event) and the views the API shows (tunnels-reads.ts), as one repository. The reconciler's side
 * is work-repository.ts.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Locks } from './locks.js';
import type { SignalEmitter } from './signals.js';
import { createTunnelReads } from './tunnels-reads.js';
import { createTunnelWrites } from './tunnels-writes.js';

export type { RouteView, TunnelView } from './tunnels-reads.js';
export { bumpTunnel, type NewRoute } from './tunnels-writes.js';

export function createTunnelsRepository(db: Kysely<Database>, locks: Locks, signals: SignalEmitter) {
  return { ...createTunnelReads(db), ...createTunnelWrites(db, locks, signals) };
}

export type TunnelsRepository = ReturnType<typeof createTunnelsRepository>;

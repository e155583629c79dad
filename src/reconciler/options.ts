/** The reconciler's options and their defaults (the configuration maps onto them in src/main). */

export interface ReconcilerOptions {
  /** Identifies this replica in leases. */
  owner: string;
  /** Tunnels claimed per pass, and at most this many of one owner's (a pass is as long as its slowest step). */
  claimLimit: number;
  claimPerOwner: number;
  leaseMs: number;
  /** Concurrent Cloudflare calls for per-tunnel steps. */
  concurrency: number;
  /**
   * Changes are gathered before a pass: it starts once no change came for `debounceMs`, or
   * `maxDebounceMs` after the first one, so a burst of route changes costs one DNS batch and one
   * configuration PUT per tunnel instead of one per change.
   */
  debounceMs: number;
  maxDebounceMs: number;
  /**
   * A burst longer than `maxDebounceMs` would cost a configuration PUT per pass: the loop's pass
   * puts a remote tunnel's PUT off while its owner is still changing it — this long after it was
   * first put off while the rate limit's window can afford an early PUT, until the owner's burst
   * ends once it cannot (see gathering.ts). 0 never puts a PUT off; `drain` and `pass` never do.
   */
  configMaxDelayMs: number;
  /** Poll for work from other replicas this often even without a wake-up. */
  pollMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Full resync (drift repair, orphan collection) period; 0 disables the timer. */
  resyncMs: number;
  /** Remote configurations read back per resync (each is one Cloudflare call). */
  resyncConfigChecks: number;
  /** Resync holds one page at a time: our DNS records per listing call, routes per store query. */
  resyncRecordsPerPage: number;
  resyncRoutesPerPage: number;
  /** Named leases (resync): this long, renewed a third of the way through while held. */
  namedLeaseMs: number;
  /** How often the idle loop looks for expired tunnels and routes (`ttlSeconds`). */
  expiryMs: number;
  /**
   * Orphans (ours, provably: a tombstone names them) a resync deletes on its own; more than
   * `max(gcMaxDeletes, gcMaxDeletePercent % of ours)` waits for `tunnelplane gc --confirm`.
   */
  gcMaxDeletes: number;
  gcMaxDeletePercent: number;
  /** A service token is renewed (refreshed and rotated) this long before it expires. */
  tokenRenewBeforeMs: number;
  /** Tombstones are kept this long. */
  tombstoneRetentionMs: number;
  /** Audit events are kept this long (pruned by resync, a batch at a time). */
  eventRetentionMs: number;
}

export const defaultReconcilerOptions: Omit<ReconcilerOptions, 'owner'> = {
  claimLimit: 500,
  claimPerOwner: 5,
  leaseMs: 15_000,
  concurrency: 16,
  debounceMs: 150,
  maxDebounceMs: 2000,
  configMaxDelayMs: 10_000,
  pollMs: 1000,
  backoffBaseMs: 250,
  backoffMaxMs: 60_000,
  resyncMs: 5 * 60_000,
  resyncConfigChecks: 50,
  resyncRecordsPerPage: 5000,
  resyncRoutesPerPage: 1000,
  namedLeaseMs: 30_000,
  expiryMs: 5_000,
  gcMaxDeletes: 10,
  gcMaxDeletePercent: 10,
  tokenRenewBeforeMs: 30 * 86_400_000,
  tombstoneRetentionMs: 365 * 86_400_000,
  eventRetentionMs: 90 * 86_400_000,
};

export function backoffMs(
  attempts: number,
  base: number,
  max: number,
  retryAfterMs: number | null,
  random = Math.random,
): number {
  const exp = Math.min(max, base * 2 ** Math.min(attempts, 20));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.max(Math.round(jittered), retryAfterMs ?? 0);
}

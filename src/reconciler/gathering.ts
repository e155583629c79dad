/**
 * Gathering a burst of desired-state changes, kept apart from the steps. A pass starts once
 * changes have been quiet for `debounceMs`, at most `maxDebounceMs` after the first. When a burst
 * lasts longer, the loop's pass still sends DNS batches, tunnel creates and Access changes, but
 * puts a remote tunnel's configuration PUT off if that tunnel changed since the pass read it, or
 * changed more than once in a burst that is still going on — never longer than
 * `configMaxDelayMs` after it was first put off. Only this replica's own changes count (other
 * replicas' are not seen here, so they never put anything off). Time comes from `now`, so the
 * rules are tested with a controlled clock (gathering.test.ts).
 */

export interface GatheringOptions {
  debounceMs: number;
  maxDebounceMs: number;
  configMaxDelayMs: number;
  now?: () => number;
}

export function createGathering(o: GatheringOptions) {
  const now = o.now ?? Date.now;
  let lastChangeAt = -Infinity;
  /** Per tunnel: changes since the installation was last quiet for `debounceMs` (the current burst). */
  const burst = new Map<string, number>();
  /** Per tunnel: when its last change came (kept until a pass starts after it). */
  const changedAt = new Map<string, number>();
  /** When each remote tunnel's PUT was first put off (kept until it is pushed). */
  const deferredSince = new Map<string, number>();

  return {
    /** A desired-state change of this process. */
    changed(tunnelId: string | undefined) {
      const t = now();
      if (t - lastChangeAt >= o.debounceMs) burst.clear();
      lastChangeAt = t;
      if (tunnelId !== undefined) {
        burst.set(tunnelId, (burst.get(tunnelId) ?? 0) + 1);
        changedAt.set(tunnelId, t);
      }
    },

    /** How long to wait before a pass, given when the wait began (0: start now). */
    waitBeforePass(waitStartedAt: number): number {
      const t = now();
      const quietFor = t - lastChangeAt;
      const left = o.maxDebounceMs - (t - waitStartedAt);
      if (quietFor >= o.debounceMs || left <= 0) return 0;
      return Math.max(1, Math.min(o.debounceMs - quietFor, left));
    },

    /** A pass reads its tunnels now; returns the read time its decisions compare with. */
    passStarting(): number {
      const readAt = now();
      // Passes run one at a time: a change before this one's read can never be "after" a later one's.
      for (const [id, at] of changedAt) if (at < readAt) changedAt.delete(id);
      // Forget put-off tunnels this replica no longer sees (another replica pushed them).
      for (const [id, at] of deferredSince)
        if (readAt - at > 2 * o.configMaxDelayMs) deferredSince.delete(id);
      return readAt;
    },

    /**
     * Whether a gathering pass that read its tunnels at `readAt` puts this tunnel's PUT off: it
     * changed since the read (the PUT would be stale at once), or changes keep coming and this
     * tunnel is one of the burst's — bounded by `configMaxDelayMs` from the first time.
     */
    defer(tunnelId: string, readAt: number): boolean {
      if (o.configMaxDelayMs <= 0) return false;
      const t = now();
      const stale = (changedAt.get(tunnelId) ?? -Infinity) >= readAt;
      const ongoing =
        t - lastChangeAt < o.debounceMs && (deferredSince.has(tunnelId) || (burst.get(tunnelId) ?? 0) > 1);
      if (!stale && !ongoing) return false;
      const since = deferredSince.get(tunnelId);
      if (since === undefined) {
        deferredSince.set(tunnelId, t);
        return true;
      }
      return t - since < o.configMaxDelayMs;
    },

    /** The tunnel's configuration went out, or it is gone: nothing is put off for it any more. */
    settled(tunnelId: string) {
      deferredSince.delete(tunnelId);
    },
  };
}

export type Gathering = ReturnType<typeof createGathering>;

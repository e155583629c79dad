/**
 * Gathering a burst of desired-state changes, kept apart from the steps. A pass starts once
 * changes have been quiet for `debounceMs`, at most `maxDebounceMs` after the first. When a burst
 * lasts longer, the loop's pass still sends DNS batches, tunnel creates and Access changes, but
 * puts a remote tunnel's configuration PUT off if that tunnel changed since the pass read it, or
 * changed more than once in a burst that is still going on (or once, when the rate limiter's window
 * cannot pay for the final PUT of every tunnel the burst touched). How long it is put off depends on
 * what the rate limiter can still afford (`keepDeferring`): while the current window can pay
 * for this PUT on top of one PUT for every tunnel still put off, an early PUT costs nothing but
 * a call, so the wait ends `configMaxDelayMs` after the first put-off (the configuration does not
 * lag the DNS by more); once it cannot, an early PUT would take a call the burst's end needs, and
 * the PUT waits until the burst is over, however long it lasts: a burst then costs one PUT per
 * touched tunnel. Other replicas' changes are not signalled here; a pass sees them as a
 * tunnel's generation that moved since this replica last read it with no change of its own in
 * between: such a tunnel is in a burst elsewhere, and its PUT waits (by the same rule) until
 * passes have seen its generation hold for `debounceMs`; the loop waits for that quiet too.
 * Time comes from `now`, so the rules are tested with a controlled clock (gathering.test.ts).
 */

export interface GatheringOptions {
  debounceMs: number;
  maxDebounceMs: number;
  configMaxDelayMs: number;
  now?: () => number;
  /**
   * Calls the rate limiter can still make in its current window without waiting (this
   * replica's view of it); without it, as if there were always enough.
   */
  spareCalls?: () => number;
}

/**
 * The deferral rule: whether a PUT put off for `deferredForMs`, in a burst still going on, waits
 * longer. Within `maxDelayMs`, yes. Past it, only if the window cannot afford it on top of the
 * final PUT of every tunnel the burst touched (`finalPuts`, this one included): then an early PUT
 * would push the burst's last PUTs into a later window.
 */
export function keepDeferring(input: {
  deferredForMs: number;
  maxDelayMs: number;
  spareCalls: number;
  finalPuts: number;
}): boolean {
  if (input.deferredForMs < input.maxDelayMs) return true;
  return input.spareCalls <= input.finalPuts;
}

/** How long a tunnel's last read generation is remembered (a burst elsewhere is found against it). */
const SEEN_FOR_MS = 10 * 60_000;

export function createGathering(o: GatheringOptions) {
  const now = o.now ?? Date.now;
  let lastChangeAt = -Infinity;
  /** Per tunnel: changes since the installation was last quiet for `debounceMs` (the current burst). */
  const burst = new Map<string, number>();
  /** Per tunnel: when its last change came (kept until a pass starts after it). */
  const changedAt = new Map<string, number>();
  /** When each remote tunnel's PUT was first put off (kept until it is pushed). */
  const deferredSince = new Map<string, number>();
  /** Per tunnel: the generation a pass last read, when, and when a pass found it moved by another replica. */
  const seen = new Map<string, { generation: number; readAt: number; movedAt: number; local: boolean }>();
  /** When a pass last found a tunnel moved by another replica; how many the last pass and this one found. */
  let lastMovedElsewhereAt = -Infinity;
  let movedLastPass = 0;
  let movedThisPass = 0;

  /**
   * Whether this read finds the tunnel moved by another replica: its generation moved since this
   * replica's previous read, with no change of this replica's in between. At the first read, a
   * tunnel with a change pending counts as moved. A tunnel put off so waits while the last pass
   * or this one found tunnels moved (the burst elsewhere goes on), as `ongoing` does for this
   * replica's own changes.
   */
  function movedElsewhere(
    tunnelId: string,
    { generation, observedGeneration }: { generation: number; observedGeneration: number },
    readAt: number,
    t: number,
  ): boolean {
    const v = seen.get(tunnelId);
    if (!v) {
      const moved = generation > observedGeneration;
      if (moved) {
        lastMovedElsewhereAt = t;
        movedThisPass++;
      }
      seen.set(tunnelId, { generation, readAt, movedAt: moved ? t : -Infinity, local: false });
      return moved;
    }
    if (v.generation !== generation && !v.local) {
      v.movedAt = t;
      lastMovedElsewhereAt = t;
      movedThisPass++;
    }
    const moved = v.movedAt === t;
    v.generation = generation;
    v.readAt = readAt;
    v.local = false;
    return moved;
  }

  return {
    /** A desired-state change of this process. */
    changed(tunnelId: string | undefined) {
      const t = now();
      if (t - lastChangeAt >= o.debounceMs) burst.clear();
      lastChangeAt = t;
      if (tunnelId !== undefined) {
        burst.set(tunnelId, (burst.get(tunnelId) ?? 0) + 1);
        changedAt.set(tunnelId, t);
        const v = seen.get(tunnelId);
        if (v) v.local = true;
      }
    },

    /** How long to wait before a pass, given when the wait began (0: start now). */
    waitBeforePass(waitStartedAt: number): number {
      const t = now();
      const quietFor = t - Math.max(lastChangeAt, lastMovedElsewhereAt);
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
      for (const [id, v] of seen) if (readAt - v.readAt > SEEN_FOR_MS) seen.delete(id);
      movedLastPass = movedThisPass;
      movedThisPass = 0;
      return readAt;
    },

    /**
     * Whether a gathering pass that read its tunnels at `readAt` puts this tunnel's PUT off: it
     * changed since the read (the PUT would be stale at once), or changes keep coming and this
     * tunnel is one of the burst's — for as long as `keepDeferring` says.
     */
    defer(
      tunnelId: string,
      readAt: number,
      generations?: { generation: number; observedGeneration: number },
    ): boolean {
      if (o.configMaxDelayMs <= 0) return false;
      const t = now();
      const stale = (changedAt.get(tunnelId) ?? -Infinity) >= readAt;
      const spare = o.spareCalls?.() ?? Infinity;
      const finalPuts = Math.max(deferredSince.size, burst.size);
      // With the window too short for the burst's final PUTs, a tunnel's first change waits too.
      const ongoing =
        t - lastChangeAt < o.debounceMs &&
        (deferredSince.has(tunnelId) ||
          (burst.get(tunnelId) ?? 0) > 1 ||
          (burst.has(tunnelId) && spare <= finalPuts));
      // This replica's own changes to the tunnel: the rules above decide.
      const movedNow =
        generations !== undefined && !burst.has(tunnelId) && movedElsewhere(tunnelId, generations, readAt, t);
      const elsewhere =
        movedNow ||
        (!burst.has(tunnelId) && deferredSince.has(tunnelId) && movedLastPass + movedThisPass > 0);
      if (!stale && !ongoing && !elsewhere) return false;
      const since = deferredSince.get(tunnelId);
      if (since === undefined) {
        deferredSince.set(tunnelId, t);
        return true;
      }
      // Every tunnel of the burst needs its final PUT once it ends, pushed early or not.
      return keepDeferring({
        deferredForMs: t - since,
        maxDelayMs: o.configMaxDelayMs,
        spareCalls: spare,
        finalPuts,
      });
    },

    /** The tunnel's configuration went out, or it is gone: nothing is put off for it any more. */
    settled(tunnelId: string) {
      deferredSince.delete(tunnelId);
    },
  };
}

export type Gathering = ReturnType<typeof createGathering>;

/**
 * Gathering a burst of desired-state changes, kept apart from the steps. A pass starts once
 * changes have been quiet for `debounceMs`, at most `maxDebounceMs` after the first. When a burst
 * lasts longer, the loop's pass still sends DNS batches, tunnel creates and Access changes, but
 * puts a remote tunnel's configuration PUT off while it would be overtaken at once:
 *
 * - the tunnel changed since the pass read it (the PUT would be stale as it leaves), or
 * - its **owner** is still changing things (their next change is due, by their own pace: see
 *   `ongoingFor`), the tunnel is one their burst changed, and the burst holds more than one
 *   change (a lone change goes out at once, unless the rate limiter's window cannot pay for the
 *   final PUT of every tunnel the bursts touched). An owner's burst thus costs one PUT per
 *   tunnel it touched, however much the window could spare for early ones: the wait is at most
 *   their pace after their last change (`maxDebounceMs` at most), or `configMaxDelayMs`.
 *
 * Bursts are counted per owner, never across tenants: a user who changes one route while
 * another user's burst is going on gets their PUT in the next pass, however long the other
 * burst lasts (the limiter's fair queue then serves it among the others' calls).
 *
 * How long a PUT is put off depends on what the rate limiter can still afford (`keepDeferring`):
 * while the current window can pay for this PUT on top of one final PUT for every tunnel still
 * put off, an early PUT costs nothing but a call, so the wait ends `configMaxDelayMs` after the
 * first put-off (the configuration does not lag the DNS by more); once it cannot, an early PUT
 * would take a call a burst's end needs, and the PUT waits until its owner's burst is over: a
 * burst of any length then costs one PUT per touched tunnel.
 *
 * Other replicas' changes are not signalled here; a pass sees them as a tunnel's generation that
 * moved since this replica last read it with no change of its own in between: the tunnel's owner
 * is in a burst elsewhere, and the PUT waits (by the same rule) while passes keep finding that
 * owner's tunnels moving; the loop waits for a quiet moment too. Time comes from `now`, so the
 * rules are tested with a controlled clock (gathering.test.ts).
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

/** What a pass knows of a tunnel it may put off: its owner and generations (as read). */
export interface GatheredTunnel {
  ownerId: string;
  generation: number;
  observedGeneration: number;
}

/**
 * The deferral rule: whether a PUT put off for `deferredForMs`, in a burst still going on, waits
 * longer. Within `maxDelayMs`, yes. Past it, only if the window cannot afford it on top of the
 * final PUT of every tunnel the bursts touched (`finalPuts`, this one included): then an early
 * PUT would push the bursts' last PUTs into a later window.
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

/** How long a tunnel's last read generation and owner are remembered. */
const SEEN_FOR_MS = 10 * 60_000;

interface OwnerBurst {
  /** This replica's first and last change of the owner's in their current burst, and how many. */
  firstChangeAt: number;
  lastChangeAt: number;
  changes: number;
  /** Per tunnel: changes in the owner's current burst. */
  tunnels: Map<string, number>;
  /** The pass (its number) that last found one of the owner's tunnels moved by another replica. */
  movedElsewhereInPass: number;
}

export function createGathering(o: GatheringOptions) {
  const now = o.now ?? Date.now;
  let lastChangeAt = -Infinity;
  /** Bursts by owner (a tunnel whose owner is not known yet counts as its own owner). */
  const owners = new Map<string, OwnerBurst>();
  /** Per tunnel: when its last change came (kept until a pass starts after it). */
  const changedAt = new Map<string, number>();
  /** When each remote tunnel's PUT was first put off (kept until it is pushed). */
  const deferredSince = new Map<string, number>();
  /** Per tunnel: the generation a pass last read, when, and whether this replica changed it since. */
  const seen = new Map<string, { generation: number; readAt: number; local: boolean }>();
  /** Per tunnel: its owner, as the last pass that read it said. */
  const ownerOf = new Map<string, { ownerId: string; readAt: number }>();
  /** When a pass last found a tunnel moved by another replica (the loop waits for quiet). */
  let lastMovedElsewhereAt = -Infinity;
  let passNumber = 0;

  const ownerKey = (tunnelId: string) => ownerOf.get(tunnelId)?.ownerId ?? `tunnel:${tunnelId}`;
  const ownerBurst = (key: string): OwnerBurst => {
    let b = owners.get(key);
    if (!b)
      owners.set(
        key,
        (b = {
          firstChangeAt: -Infinity,
          lastChangeAt: -Infinity,
          changes: 0,
          tunnels: new Map(),
          movedElsewhereInPass: -2,
        }),
      );
    return b;
  };
  /**
   * Whether the owner's burst is still going on: their last change is more recent than their pace
   * says the next one comes (three of their mean gaps; a lone change: `debounceMs`), bounded by
   * `debounceMs` and `maxDebounceMs`. One person's requests one after another are a burst
   * although each waits for the last answer; the installation's other changes never count.
   */
  const ongoingFor = (b: OwnerBurst, t: number) => {
    const pace = b.changes < 2 ? 0 : (3 * (b.lastChangeAt - b.firstChangeAt)) / (b.changes - 1);
    return t - b.lastChangeAt < Math.min(o.maxDebounceMs, Math.max(o.debounceMs, pace));
  };
  /** Tunnels whose final PUT the bursts still going on need, and those already put off. */
  const finalPuts = (t: number) => {
    let touched = 0;
    for (const b of owners.values()) if (ongoingFor(b, t)) touched += b.tunnels.size;
    return Math.max(deferredSince.size, touched);
  };

  /** The owner of a tunnel, as read; changes counted under the tunnel itself join the owner's burst. */
  function learnOwner(tunnelId: string, ownerId: string, readAt: number) {
    ownerOf.set(tunnelId, { ownerId, readAt });
    const alone = owners.get(`tunnel:${tunnelId}`);
    if (!alone) return;
    owners.delete(`tunnel:${tunnelId}`);
    const b = ownerBurst(ownerId);
    for (const [id, n] of alone.tunnels) b.tunnels.set(id, (b.tunnels.get(id) ?? 0) + n);
    b.firstChangeAt = b.changes === 0 ? alone.firstChangeAt : Math.min(b.firstChangeAt, alone.firstChangeAt);
    b.lastChangeAt = Math.max(b.lastChangeAt, alone.lastChangeAt);
    b.changes += alone.changes;
  }

  /**
   * Whether this read finds the tunnel moved by another replica: its generation moved since this
   * replica's previous read, with no change of this replica's in between. At the first read, a
   * tunnel with a change pending counts as moved.
   */
  function movedElsewhere(tunnelId: string, tunnel: GatheredTunnel, readAt: number, t: number): boolean {
    const v = seen.get(tunnelId);
    const moved = v
      ? v.generation !== tunnel.generation && !v.local
      : tunnel.generation > tunnel.observedGeneration;
    seen.set(tunnelId, { generation: tunnel.generation, readAt, local: false });
    if (moved) {
      lastMovedElsewhereAt = t;
      ownerBurst(tunnel.ownerId).movedElsewhereInPass = passNumber;
    }
    return moved;
  }

  return {
    /**
     * A desired-state change of this process; `ownerId` when the write knew whose tunnel it is
     * (then the change counts in the owner's burst from the first, not only once a pass read it).
     */
    changed(tunnelId: string | undefined, ownerId?: string) {
      const t = now();
      lastChangeAt = t;
      if (tunnelId === undefined) return;
      if (ownerId !== undefined) learnOwner(tunnelId, ownerId, t);
      const b = ownerBurst(ownerKey(tunnelId));
      if (t - b.lastChangeAt >= o.maxDebounceMs) {
        b.tunnels.clear();
        b.firstChangeAt = t;
        b.changes = 0;
      }
      b.lastChangeAt = t;
      b.changes++;
      b.tunnels.set(tunnelId, (b.tunnels.get(tunnelId) ?? 0) + 1);
      changedAt.set(tunnelId, t);
      const v = seen.get(tunnelId);
      if (v) v.local = true;
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
      passNumber++;
      // Passes run one at a time: a change before this one's read can never be "after" a later one's.
      for (const [id, at] of changedAt) if (at < readAt) changedAt.delete(id);
      // Forget put-off tunnels this replica no longer sees (another replica pushed them).
      for (const [id, at] of deferredSince)
        if (readAt - at > 2 * o.configMaxDelayMs) deferredSince.delete(id);
      for (const [id, v] of seen) if (readAt - v.readAt > SEEN_FOR_MS) seen.delete(id);
      for (const [id, v] of ownerOf) if (readAt - v.readAt > SEEN_FOR_MS) ownerOf.delete(id);
      for (const [key, b] of owners)
        if (readAt - b.lastChangeAt >= o.maxDebounceMs && passNumber - b.movedElsewhereInPass > 1)
          owners.delete(key);
      return readAt;
    },

    /**
     * Whether a gathering pass that read its tunnels at `readAt` puts this tunnel's PUT off: it
     * changed since the read (the PUT would be stale at once), or its owner's changes keep coming
     * and this tunnel is one of their burst's — for as long as `keepDeferring` says.
     */
    defer(tunnelId: string, readAt: number, tunnel?: GatheredTunnel): boolean {
      if (o.configMaxDelayMs <= 0) return false;
      const t = now();
      if (tunnel) learnOwner(tunnelId, tunnel.ownerId, readAt);
      const b = owners.get(ownerKey(tunnelId));
      const inBurst = b?.tunnels.has(tunnelId) === true;
      // This replica's own changes to the tunnel: the owner's burst decides; otherwise the generations.
      const movedNow = tunnel !== undefined && !inBurst && movedElsewhere(tunnelId, tunnel, readAt, t);
      const count = b?.tunnels.get(tunnelId) ?? 0;
      const stale = (changedAt.get(tunnelId) ?? -Infinity) >= readAt;
      const spare = o.spareCalls?.() ?? Infinity;
      const finals = finalPuts(t);
      // A burst's changes wait for its end; a lone change too when the window is short of the
      // bursts' final PUTs.
      const ongoing =
        b !== undefined &&
        ongoingFor(b, t) &&
        (deferredSince.has(tunnelId) || (count > 0 && (b.changes > 1 || spare <= finals)));
      const elsewhere =
        movedNow ||
        (!inBurst &&
          deferredSince.has(tunnelId) &&
          b !== undefined &&
          passNumber - b.movedElsewhereInPass <= 1);
      if (!stale && !ongoing && !elsewhere) return false;
      const since = deferredSince.get(tunnelId);
      if (since === undefined) {
        deferredSince.set(tunnelId, t);
        return true;
      }
      // Every tunnel of a burst needs its final PUT once it ends, pushed early or not.
      return keepDeferring({
        deferredForMs: t - since,
        maxDelayMs: o.configMaxDelayMs,
        spareCalls: spare,
        finalPuts: finals,
      });
    },

    /** The tunnel's configuration went out, or it is gone: nothing is put off for it any more. */
    settled(tunnelId: string) {
      deferredSince.delete(tunnelId);
    },
  };
}

export type Gathering = ReturnType<typeof createGathering>;

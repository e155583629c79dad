/**
 * The gathering rules under a controlled clock: a loop is simulated as the reconciler runs it
 * (settle, pass, settle…), with passes of a chosen duration, so what is asserted — configuration
 * PUTs per tunnel for a burst of a known shape — does not depend on how busy the machine is.
 */
import { describe, expect, it } from 'vitest';
import { createGathering } from './gathering.js';

const OPTS = { debounceMs: 150, maxDebounceMs: 2000, configMaxDelayMs: 10_000 };

/** Runs the loop over `changes` ([time, tunnel]); returns PUTs per tunnel and the passes made. */
function simulate(changes: Array<[number, string]>, passMs: number, opts = OPTS) {
  let now = 0;
  const g = createGathering({ ...opts, now: () => now });
  const queue = [...changes].sort((a, b) => a[0] - b[0]);
  const lastChange = new Map<string, number>();
  /** The read time of each tunnel's last PUT: changes before it are in Cloudflare. */
  const pushedAt = new Map<string, number>();
  const puts = new Map<string, number>();
  let passes = 0;
  const advance = (to: number) => {
    while (queue.length > 0 && queue[0]![0] <= to) {
      const [at, id] = queue.shift()!;
      now = at;
      g.changed(id);
      lastChange.set(id, at);
    }
    now = Math.max(now, to);
  };
  const dirty = () =>
    [...lastChange].filter(([id, at]) => at >= (pushedAt.get(id) ?? -Infinity)).map(([id]) => id);
  for (let guard = 0; guard < 10_000; guard++) {
    if (dirty().length === 0) {
      if (queue.length === 0) break;
      advance(queue[0]![0]);
    }
    const started = now;
    for (let w = g.waitBeforePass(started); w > 0; w = g.waitBeforePass(started)) advance(now + w);
    const readAt = g.passStarting();
    const claimed = dirty();
    passes++;
    advance(now + passMs / 2);
    for (const id of claimed) {
      if (g.defer(id, readAt)) continue;
      puts.set(id, (puts.get(id) ?? 0) + 1);
      pushedAt.set(id, readAt);
      g.settled(id);
    }
    advance(now + passMs / 2);
  }
  return { puts, passes };
}

/** `n` changes `gapMs` apart, round-robin over `tunnels` tunnels, starting at `from`. */
const burst = (n: number, gapMs: number, tunnels: number, from = 0): Array<[number, string]> =>
  Array.from({ length: n }, (_, i) => [from + i * gapMs, `t${i % tunnels}`]);

describe('gathering a burst', () => {
  const cases: Array<[string, Array<[number, string]>, number, number]> = [
    ['a lone change: one PUT at once', [[0, 't0']], 20, 1],
    ['a short burst within maxDebounceMs: one PUT per tunnel', burst(10, 75, 4), 20, 1],
    ['40 changes 75 ms apart (3 s, longer than maxDebounceMs): one PUT per tunnel', burst(40, 75, 4), 20, 1],
    ['the same on a slow machine (a pass takes 400 ms)', burst(40, 75, 4), 400, 1],
    ['the same on a very slow machine (a pass takes 1.5 s)', burst(40, 75, 4), 1500, 1],
    ['deletions 90 ms apart for 3 s', burst(32, 90, 4), 60, 1],
  ];
  for (const [name, changes, passMs, perTunnel] of cases) {
    it(name, () => {
      const { puts } = simulate(changes, passMs);
      const tunnels = new Set(changes.map(([, id]) => id));
      expect([...puts.entries()].sort()).toEqual([...tunnels].sort().map((id) => [id, perTunnel]));
    });
  }

  it('a pass runs during a long burst (its other steps go ahead), yet puts the PUTs off', () => {
    const { passes, puts } = simulate(burst(40, 75, 4), 20);
    expect(passes).toBeGreaterThan(1);
    expect([...puts.values()]).toEqual([1, 1, 1, 1]);
  });

  it('a burst longer than configMaxDelayMs pushes at most once per delay, plus the last', () => {
    const { puts } = simulate(burst(200, 75, 4), 20); // 15 s of changes
    for (const n of puts.values()) {
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(Math.ceil(15_000 / OPTS.configMaxDelayMs) + 1);
    }
  });

  it('never puts a PUT off with configMaxDelayMs 0', () => {
    const { puts, passes } = simulate(burst(40, 75, 4), 20, { ...OPTS, configMaxDelayMs: 0 });
    expect([...puts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(4);
    expect(passes).toBeGreaterThan(1);
  });

  it('two bursts apart are gathered each', () => {
    const { puts } = simulate([...burst(20, 75, 2), ...burst(20, 75, 2, 5000)], 20);
    expect([...puts.values()]).toEqual([2, 2]);
  });

  it('waits for a quiet moment, at most maxDebounceMs', () => {
    let now = 0;
    const g = createGathering({ ...OPTS, now: () => now });
    g.changed('a');
    expect(g.waitBeforePass(0)).toBe(150);
    now = 100;
    g.changed('a');
    expect(g.waitBeforePass(0)).toBe(150);
    now = 1950;
    g.changed('a');
    expect(g.waitBeforePass(0)).toBe(50);
    now = 2000;
    expect(g.waitBeforePass(0)).toBe(0);
  });
});

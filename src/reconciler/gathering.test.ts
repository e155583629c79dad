/**
 * The gathering rules under a controlled clock: a loop is simulated as the reconciler runs it
 * (settle, pass, settle…), with passes of a chosen duration, so what is asserted — configuration
 * PUTs per tunnel for a burst of a known shape — does not depend on how busy the machine is.
 */
import { describe, expect, it } from 'vitest';
import { createGathering, keepDeferring, type GatheringOptions } from './gathering.js';

const OPTS = { debounceMs: 150, maxDebounceMs: 2000, configMaxDelayMs: 10_000 };

/** Runs the loop over `changes` ([time, tunnel]); returns PUTs per tunnel and the passes made. */
function simulate(
  changes: Array<[number, string]>,
  passMs: number,
  opts: Omit<GatheringOptions, 'now' | 'spareCalls'> = OPTS,
  /** Calls the window holds: what is spare is that minus the PUTs made (Infinity: always enough). */
  budget = Infinity,
  /** The changes come through another replica: this one sees them only as generations. */
  elsewhere = false,
  /** Whose each tunnel is (default: one person's). */
  ownerOf: (tunnelId: string) => string = () => 'ada',
  /** The tunnels are new to this replica (no pass read them): each change carries its owner. */
  unread = false,
) {
  let now = 0;
  let spent = 0;
  const generation = new Map<string, number>();
  const observed = new Map<string, number>();
  const putAt: number[] = [];
  /** When each tunnel's PUTs went out. */
  const putTimes = new Map<string, number[]>();
  const g = createGathering({ ...opts, now: () => now, spareCalls: () => budget - spent });
  const queue = [...changes].sort((a, b) => a[0] - b[0]);
  // The tunnels exist before the burst (a pass has read them: their owners are known).
  const before = g.passStarting();
  if (!unread)
    for (const id of new Set(changes.map(([, id]) => id)))
      g.defer(id, before, { ownerId: ownerOf(id), generation: 0, observedGeneration: 0 });
  const lastChange = new Map<string, number>();
  /** The read time of each tunnel's last PUT: changes before it are in Cloudflare. */
  const pushedAt = new Map<string, number>();
  const puts = new Map<string, number>();
  let passes = 0;
  const advance = (to: number) => {
    while (queue.length > 0 && queue[0]![0] <= to) {
      const [at, id] = queue.shift()!;
      now = at;
      if (!elsewhere) g.changed(id, unread ? ownerOf(id) : undefined);
      generation.set(id, (generation.get(id) ?? 0) + 1);
      lastChange.set(id, at);
    }
    now = Math.max(now, to);
  };
  const dirty = () =>
    [...lastChange].filter(([id, at]) => at > (pushedAt.get(id) ?? -Infinity)).map(([id]) => id);
  for (let guard = 0; guard < 10_000; guard++) {
    if (dirty().length === 0) {
      if (queue.length === 0) break;
      advance(queue[0]![0]);
    }
    const started = now;
    for (let w = g.waitBeforePass(started); w > 0; w = g.waitBeforePass(started)) advance(now + w);
    const readAt = g.passStarting();
    // New tunnels: claimed in id order, as the database gives them (not in order of change).
    const ids = unread ? dirty().sort() : dirty();
    const claimed = ids.map((id) => [id, generation.get(id)!] as const);
    passes++;
    advance(now + passMs / 2);
    for (const [id, gen] of claimed) {
      const seen = { ownerId: ownerOf(id), generation: gen, observedGeneration: observed.get(id) ?? 0 };
      if (g.defer(id, readAt, seen)) continue;
      puts.set(id, (puts.get(id) ?? 0) + 1);
      putTimes.set(id, [...(putTimes.get(id) ?? []), now]);
      observed.set(id, gen);
      putAt.push(now);
      spent++;
      pushedAt.set(id, readAt);
      g.settled(id);
    }
    advance(now + passMs / 2);
  }
  return { puts, passes, putAt, putTimes };
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

describe('the deferral rule (keepDeferring)', () => {
  const cases: Array<[string, Parameters<typeof keepDeferring>[0], boolean]> = [
    [
      'within the delay, plenty spare',
      { deferredForMs: 5000, maxDelayMs: 10_000, spareCalls: 1000, finalPuts: 10 },
      true,
    ],
    [
      'within the delay, nothing spare',
      { deferredForMs: 5000, maxDelayMs: 10_000, spareCalls: 0, finalPuts: 10 },
      true,
    ],
    [
      'past the delay, the window pays this PUT and every final one',
      { deferredForMs: 10_000, maxDelayMs: 10_000, spareCalls: 11, finalPuts: 10 },
      false,
    ],
    [
      'past the delay, the window pays only the final ones',
      { deferredForMs: 10_000, maxDelayMs: 10_000, spareCalls: 10, finalPuts: 10 },
      true,
    ],
    [
      'long past the delay, the window spent',
      { deferredForMs: 600_000, maxDelayMs: 10_000, spareCalls: 0, finalPuts: 1000 },
      true,
    ],
    [
      'past the delay, fewer spare than the burst’s tunnels',
      { deferredForMs: 20_000, maxDelayMs: 10_000, spareCalls: 140, finalPuts: 1000 },
      true,
    ],
  ];
  for (const [name, input, expected] of cases) it(name, () => expect(keepDeferring(input)).toBe(expected));
});

describe('gathering a burst longer than configMaxDelayMs, by what the budget affords', () => {
  const tunnels = (puts: Map<string, number>) => [...puts.values()];

  it('15 s of changes over 4 tunnels with a budget of exactly 4 PUTs: one PUT per tunnel', () => {
    const { puts, passes } = simulate(burst(200, 75, 4), 20, OPTS, 4);
    expect(passes).toBeGreaterThan(1);
    expect(tunnels(puts)).toEqual([1, 1, 1, 1]);
  });

  it('40 tunnels changed twice each over 6 s, 20 calls spare: the first changes wait too', () => {
    const { puts } = simulate(burst(80, 75, 40), 20, OPTS, 20);
    expect(tunnels(puts)).toEqual(Array.from({ length: 40 }, () => 1));
  });

  it('the same with plenty spare: still one PUT per tunnel, out within maxDebounceMs of the burst’s end', () => {
    const { puts, putAt } = simulate(burst(80, 75, 40), 20, OPTS, 1000);
    expect(tunnels(puts)).toEqual(Array.from({ length: 40 }, () => 1));
    const lastChange = 79 * 75;
    expect(Math.max(...putAt)).toBeLessThanOrEqual(lastChange + OPTS.maxDebounceMs + 3 * 20);
  });

  it('a burst of any length (60 s) with a budget of exactly 4 PUTs: one PUT per tunnel', () => {
    const { puts } = simulate(burst(800, 75, 4), 20, OPTS, 4);
    expect(tunnels(puts)).toEqual([1, 1, 1, 1]);
  });

  it('spends what is spare on early PUTs, never the final PUTs’ calls', () => {
    // 6 spare for 4 tunnels: two early PUTs at most, and every tunnel still gets its last one.
    const { puts } = simulate(burst(200, 75, 4), 20, OPTS, 6);
    expect(tunnels(puts).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6);
    expect(tunnels(puts).every((n) => n >= 1)).toBe(true);
    expect(tunnels(puts).length).toBe(4);
  });

  it('with plenty spare, keeps the fixed delay (the configuration lags at most configMaxDelayMs)', () => {
    const { puts } = simulate(burst(200, 75, 4), 20, OPTS, 1000);
    for (const n of puts.values()) expect(n).toBeGreaterThanOrEqual(2);
  });
});

describe('gathering a burst made through another replica (seen only as generations)', () => {
  it('40 changes 75 ms apart over 4 tunnels: one PUT per tunnel', () => {
    const { puts } = simulate(burst(40, 75, 4), 20, OPTS, Infinity, true);
    expect([...puts.values()]).toEqual([1, 1, 1, 1]);
  });

  it('the same on a slow machine (a pass takes 400 ms)', () => {
    const { puts } = simulate(burst(40, 75, 4), 400, OPTS, Infinity, true);
    expect([...puts.values()]).toEqual([1, 1, 1, 1]);
  });

  it('a lone change goes out after about debounceMs', () => {
    const { puts, putAt } = simulate([[0, 't0']], 20, OPTS, Infinity, true);
    expect([...puts.values()]).toEqual([1]);
    expect(putAt[0]).toBeLessThan(OPTS.debounceMs + 3 * 20);
  });

  it('a second lone change, long after the first, waits at most about debounceMs', () => {
    const { puts, putAt } = simulate(
      [
        [0, 't0'],
        [5000, 't0'],
      ],
      20,
      OPTS,
      Infinity,
      true,
    );
    expect([...puts.values()]).toEqual([2]);
    expect(putAt[1]! - 5000).toBeLessThan(OPTS.debounceMs + 3 * 20);
  });

  it('15 s of changes with a budget of exactly 4 PUTs: one PUT per tunnel', () => {
    const { puts } = simulate(burst(200, 75, 4), 20, OPTS, 4, true);
    expect([...puts.values()]).toEqual([1, 1, 1, 1]);
  });
});

describe('bursts are counted per owner, never across tenants', () => {
  /** Owner of `t…` tunnels: ada (the noisy one); `q…`: grace; `u<k>x…`: user k. */
  const owner = (id: string) =>
    id.startsWith('q') ? 'grace' : id.startsWith('u') ? id.split('x')[0]! : 'ada';

  it("a quiet owner's one change goes out in about a pass, while a noisy owner's burst holds the window", () => {
    // ada changes 4 tunnels for 15 s; the window holds exactly their final PUTs and grace's one.
    const changes: Array<[number, string]> = [...burst(200, 75, 4), [5000, 'q0']];
    const { puts, putTimes } = simulate(changes, 20, OPTS, 5, false, owner);
    expect(puts.get('q0')).toBe(1);
    expect(putTimes.get('q0')![0]! - 5000).toBeLessThanOrEqual(OPTS.maxDebounceMs + 100);
    // ada's burst still costs one PUT per tunnel.
    expect(['t0', 't1', 't2', 't3'].map((id) => puts.get(id))).toEqual([1, 1, 1, 1]);
  });

  it("a quiet owner's change made through another replica goes out in about two passes", () => {
    const changes: Array<[number, string]> = [...burst(200, 75, 4), [5000, 'q0']];
    const { puts, putTimes } = simulate(changes, 20, OPTS, 5, true, owner);
    expect(puts.get('q0')).toBe(1);
    expect(putTimes.get('q0')![0]! - 5000).toBeLessThanOrEqual(2 * OPTS.maxDebounceMs + 100);
  });

  it('20 people each posting one change per 300 ms to their own 5 tunnels for 15 s: one PUT per tunnel', () => {
    // As the burst benchmark: each client's requests one after another, together every 15 ms.
    const changes: Array<[number, string]> = [];
    for (let k = 0; k < 20; k++)
      for (let i = 0; i < 50; i++) changes.push([k * 15 + i * 300, `u${k}x${i % 5}`]);
    const { puts } = simulate(changes, 20, OPTS, 100, false, owner);
    expect(puts.size).toBe(100);
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
  });

  it('the same for tunnels no pass has read yet, with plenty spare: the changes carry their owner', () => {
    // Each tunnel's first change, seen alone, would look like a lone change and go out at once:
    // x0, the first claimed, has one change when the first pass runs (at maxDebounceMs).
    const changes: Array<[number, string]> = [];
    for (let k = 0; k < 20; k++)
      for (let i = 0; i < 20; i++) changes.push([k * 15 + i * 300, `u${k}x${(i + 1) % 5}`]);
    const { puts } = simulate(changes, 20, OPTS, Infinity, false, owner, true);
    expect(puts.size).toBe(100);
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
  });

  it('the same with a pass of 400 ms (a busy machine)', () => {
    const changes: Array<[number, string]> = [];
    for (let k = 0; k < 20; k++)
      for (let i = 0; i < 50; i++) changes.push([k * 15 + i * 300, `u${k}x${i % 5}`]);
    const { puts } = simulate(changes, 400, OPTS, 100, false, owner);
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
  });

  it("one person's changes 1 s apart are still their burst; a lone change waits only debounceMs", () => {
    // 1 s apart (slower than maxDebounceMs / 3): after the first (which looks like a lone change
    // and goes out), the pace says a next change is due: one more PUT at the end, not eleven.
    const slow: Array<[number, string]> = Array.from({ length: 12 }, (_, i) => [i * 1000, 'q0']);
    expect(simulate(slow, 20, OPTS, 2, false, owner).puts.get('q0')).toBe(2);
    const { putTimes } = simulate([[0, 'q0']], 20, OPTS, 0, false, owner);
    expect(putTimes.get('q0')![0]!).toBeLessThanOrEqual(OPTS.debounceMs + 60);
  });
});

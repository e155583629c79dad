/**
 * Gives the JavaScript heap's unused memory back to the system once the server has gone quiet
 * after work (`tunnelplane serve`, `memory.idleReleaseSeconds`).
 *
 * Why: under a request load V8's young generation grows to its maximum (two semi-spaces of
 * 16 MiB on 64-bit Node 20) and stays there, and fragmented old-generation pages stay committed.
 * Only a collection made to reduce memory shrinks them, and V8 starts one by itself only after a
 * full collection at a low allocation rate, which a server answering small requests may never
 * reach: measured, the built server with 100,000 routes held ~40 MiB it no longer used for as
 * long as it stayed idle (bench/RESULTS.md). Node 20 offers a program started without flags one
 * way to ask for that collection: the inspector protocol's `HeapProfiler.collectGarbage` (V8's
 * low-memory notification), through an in-process session (no port is opened).
 *
 * When: at the end of an interval in which no HTTP request arrived (health probes and metric
 * scrapes aside), the event loop was busy less
 * than `quietUtilization` of it (5 %: an idle server's own timers and the reconciler's poll stay
 * well below it, ~0.5 % with 10,000 tunnels; a load keeps it near 100 %) and the heap holds at
 * least `minSpareBytes` committed but unused. The collection holds the event loop (~70–90 ms with
 * 100,000 routes; `tunnelplane_memory_idle_release_seconds`), which is why it waits for a whole
 * interval without a request. A collection leaves little spare (~2 MiB), so an idle server
 * collects once, not every interval — until work grows the heap again (with 10,000 tunnels the
 * connector health refresh, every `reconciler.healthSeconds`, grows the young generation back to
 * its maximum: one collection after each).
 *
 * Never when the process has an inspector port open (`--inspect`: forced collections would
 * distort what a debugger or profiler measures) or the inspector is not there or refuses a
 * session (a Node built without it, the permission model): said once at start. A collection that
 * fails turns the release off (counted, logged once).
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type * as InspectorModule from 'node:inspector/promises';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../server/metrics.js';

/** The decision alone (table-tested): is this interval's end the moment to collect? */
export function shouldRelease(input: {
  /** HTTP requests that arrived during the interval. */
  requests: number;
  /** Share of the interval the event loop was busy (0–1). */
  utilization: number;
  /** Committed heap memory not in use, in bytes. */
  spareBytes: number;
  quietUtilization: number;
  minSpareBytes: number;
}): boolean {
  return (
    input.requests === 0 &&
    input.utilization < input.quietUtilization &&
    input.spareBytes >= input.minSpareBytes
  );
}

/** Committed heap pages holding no live object: what a memory-reducing collection can return. */
export function spareHeapBytes(): number {
  return getHeapSpaceStatistics().reduce(
    (sum, s) => sum + Math.max(0, s.physical_space_size - s.space_used_size),
    0,
  );
}

/**
 * A memory-reducing full collection (V8's low-memory notification through an in-process
 * inspector session), or why there is none: the process has an inspector port open, or the
 * inspector is missing or refuses a session (tried once here).
 */
export async function memoryReducingCollection(): Promise<(() => Promise<void>) | string> {
  let inspector: typeof InspectorModule;
  try {
    inspector = await import('node:inspector/promises');
    if (inspector.url()) return 'an inspector port is open (--inspect)';
    const probe = new inspector.Session();
    probe.connect();
    probe.disconnect();
  } catch (err) {
    return `the inspector is not available (${(err as Error).message})`;
  }
  return async () => {
    const session = new inspector.Session();
    session.connect();
    try {
      await session.post('HeapProfiler.collectGarbage');
    } finally {
      session.disconnect();
    }
  };
}

export interface IdleMemoryOptions {
  intervalMs: number;
  logger: Pick<Logger, 'trace' | 'debug' | 'info' | 'warn'>;
  metrics?: Pick<MetricsRegistry, 'idleMemoryReleases' | 'idleMemoryReleaseSeconds'>;
  /** HTTP requests received so far, probes and scrapes aside (a count that only grows). */
  requests: () => number;
  /** Default 0.05: at most 5 % of the interval spent running JavaScript or I/O callbacks. */
  quietUtilization?: number;
  /** Default 8 MiB: a release leaves ~1–3 MiB; work that grows the heap leaves 10–40. */
  minSpareBytes?: number;
  /** Tests: the event loop's busy share since the previous call, the spare bytes, the collection. */
  utilization?: () => number;
  spareBytes?: () => number;
  collect?: () => Promise<void>;
}

/** The event loop's busy share since the previous call (the first: since the process began). */
function utilizationSampler(): { next(): number; reset(): void } {
  let last = performance.eventLoopUtilization();
  return {
    next() {
      const now = performance.eventLoopUtilization();
      const { utilization } = performance.eventLoopUtilization(now, last);
      last = now;
      return utilization;
    },
    reset() {
      last = performance.eventLoopUtilization();
    },
  };
}

/** Starts the check (its timer never keeps the process alive); `stop` ends it. */
export async function releaseMemoryWhenIdle(opts: IdleMemoryOptions): Promise<{ stop(): void }> {
  const found = opts.collect ?? (await memoryReducingCollection());
  if (typeof found === 'string') {
    opts.logger.info({ reason: found }, 'idle heap memory is not released');
    return { stop() {} };
  }
  const collect = found;
  const quietUtilization = opts.quietUtilization ?? 0.05;
  const minSpareBytes = opts.minSpareBytes ?? 8 * 1024 * 1024;
  const sampler = utilizationSampler();
  const utilization = opts.utilization ?? (() => sampler.next());
  const spare = opts.spareBytes ?? spareHeapBytes;
  let seenRequests = opts.requests();
  let running = false;
  let timer: NodeJS.Timeout | undefined = setInterval(tick, opts.intervalMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };

  function tick() {
    const requestsNow = opts.requests();
    const input = {
      requests: requestsNow - seenRequests,
      utilization: utilization(),
      spareBytes: spare(),
      quietUtilization,
      minSpareBytes,
    };
    seenRequests = requestsNow;
    opts.logger.trace(
      { requests: input.requests, utilization: input.utilization, spareBytes: input.spareBytes },
      'idle memory check',
    );
    if (running || !shouldRelease(input)) return;
    running = true;
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    collect()
      .then(() => {
        const seconds = (performance.now() - started) / 1000;
        opts.metrics?.idleMemoryReleases.inc({ result: 'released' });
        opts.metrics?.idleMemoryReleaseSeconds.observe(seconds);
        opts.logger.debug(
          {
            spareBefore: input.spareBytes,
            spareAfter: spare(),
            rssBefore,
            rssAfter: process.memoryUsage.rss(),
            ms: Math.round(seconds * 1000),
          },
          'idle: heap memory released',
        );
      })
      .catch((err: unknown) => {
        opts.metrics?.idleMemoryReleases.inc({ result: 'failed' });
        opts.logger.warn({ err }, 'idle memory release failed: turned off until the next start');
        stop();
      })
      .finally(() => {
        running = false;
        // The collection's own time is not the next interval's work.
        sampler.reset();
      });
  }
  return { stop };
}

/**
 * The health refresh: what Cloudflare says of each tunnel's connectors, read from the tunnel
 * listing (one call per 1,000 tunnels, never one per tunnel), recorded, and told as events on
 * a transition (health-plan.ts decides). One replica refreshes at a time (the `health` lease);
 * the refresh runs every `intervalMs`, stretched so that it spends at most `share` of the
 * Cloudflare call budget (healthIntervalMs).
 */
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { Ownership } from '../domain/ownership.js';
import type { LeasesRepository } from '../store/index.js';
import {
  healthIntervalMs,
  planHealth,
  type RecordedHealth,
  type HealthUpdate,
  type HealthEvent,
} from './health-plan.js';

export interface HealthStore {
  recorded(): Promise<RecordedHealth[]>;
  record(updates: HealthUpdate[], events: HealthEvent[]): Promise<void>;
}

export interface HealthOptions {
  /** 0: no refresh. */
  intervalMs: number;
  share: number;
  budget: { requests: number; windowMs: number };
  confirmMs: number;
  neverConnectedMs: number;
  owner: string;
  leaseMs: number;
}

export interface HealthRefreshResult {
  skipped: boolean;
  tunnels: number;
  updated: number;
  events: number;
  calls: number;
  ms: number;
}

export function createHealthRefresh(deps: {
  cloudflare: Pick<CloudflareApi, 'listTunnels'>;
  store: HealthStore;
  leases: Pick<LeasesRepository, 'acquire'>;
  ownership: Ownership;
  logger: { warn(obj: object, msg: string): void };
  options: HealthOptions;
  onRefresh?: (r: HealthRefreshResult) => void;
}) {
  const o = deps.options;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let inFlight: Promise<unknown> | null = null;
  let known = 0;

  async function refresh(): Promise<HealthRefreshResult> {
    const started = Date.now();
    const none = { skipped: true, tunnels: 0, updated: 0, events: 0, calls: 0, ms: 0 };
    if (!(await deps.leases.acquire('health', o.owner, o.leaseMs))) return none;
    const recorded = await deps.store.recorded();
    known = recorded.length;
    if (recorded.length === 0) return { ...none, skipped: false };
    const listed = await deps.cloudflare.listTunnels(deps.ownership.tunnelPrefix);
    const plan = planHealth(recorded, listed, Date.now(), o);
    await deps.store.record(plan.updates, plan.events);
    const result = {
      skipped: false,
      tunnels: recorded.length,
      updated: plan.updates.length,
      events: plan.events.length,
      calls: Math.max(1, Math.ceil(listed.length / 1000)),
      ms: Date.now() - started,
    };
    deps.onRefresh?.(result);
    return result;
  }

  function schedule() {
    if (!running) return;
    const wait = healthIntervalMs(known, o);
    timer = setTimeout(() => {
      inFlight = refresh()
        .catch((err: Error) =>
          deps.logger.warn({ err: err.message }, 'health refresh failed; will try again'),
        )
        .finally(() => {
          inFlight = null;
          schedule();
        });
    }, wait);
    timer.unref();
  }

  return {
    refresh,
    start() {
      if (running || o.intervalMs <= 0) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

export type HealthRefresh = ReturnType<typeof createHealthRefresh>;

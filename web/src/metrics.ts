/** Reads the Prometheus text of `/metrics` (through the client's `system.metrics`) into what the admin page says in words. */

/** Sums of each metric by name (labels summed), and by `name{label="value"}` for the labelled ones. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const [, name, labels] = m as unknown as [string, string, string | undefined];
    out.set(name, (out.get(name) ?? 0) + value);
    if (labels) {
      for (const l of labels.slice(1, -1).split(',')) {
        const kv = /^(\w+)="(.*)"$/.exec(l.trim());
        if (kv)
          out.set(`${name}{${kv[1]}="${kv[2]}"}`, (out.get(`${name}{${kv[1]}="${kv[2]}"}`) ?? 0) + value);
      }
    }
  }
  return out;
}

export interface ReconcilerHealth {
  queue: number | null;
  passes: number;
  failedPasses: number;
  lastResync: number | null;
  resyncFailures: number;
  rateLimitWaitSeconds: number;
  rateLimited: number;
  lastHealthRefresh: number | null;
  tunnelsByPhase: Record<string, number>;
}

export function reconcilerHealth(m: Map<string, number>): ReconcilerHealth {
  const ts = (name: string) => {
    const v = m.get(name);
    return v && v > 0 ? v * 1000 : null;
  };
  const byPhase: Record<string, number> = {};
  for (const [k, v] of m) {
    const p = /^tunnelplane_tunnels\{phase="(\w+)"\}$/.exec(k);
    if (p) byPhase[p[1]!] = v;
  }
  return {
    queue: m.has('tunnelplane_reconciler_queue_depth') ? m.get('tunnelplane_reconciler_queue_depth')! : null,
    passes: m.get('tunnelplane_reconciler_passes_total') ?? 0,
    failedPasses: m.get('tunnelplane_reconciler_passes_total{result="failed"}') ?? 0,
    lastResync: ts('tunnelplane_resync_last_completed_timestamp_seconds'),
    resyncFailures: m.get('tunnelplane_resync_failures_total') ?? 0,
    rateLimitWaitSeconds: m.get('tunnelplane_cloudflare_rate_limit_wait_seconds_total') ?? 0,
    rateLimited: m.get('tunnelplane_cloudflare_rate_limited_total') ?? 0,
    lastHealthRefresh: ts('tunnelplane_health_refresh_timestamp_seconds'),
    tunnelsByPhase: byPhase,
  };
}

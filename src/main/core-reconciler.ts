/** The reconciler wired over a core: the store's parts it uses, its options from the config, metrics hooks. */
import { asTenant } from '../providers/cloudflare/index.js';
import {
  createReconciler,
  defaultReconcilerOptions,
  type Reconciler,
  type ReconcilerHooks,
} from '../reconciler/index.js';
import type { Core } from './core.js';
import { createHealthRefresh } from '../reconciler/health.js';
import { tunnelGauges } from '../server/metrics.js';

/** The reconciler over a core, with the store's parts it needs and nothing else. */
export function createCoreReconciler(
  core: Core,
  opts: { replicaId?: string; hooks?: ReconcilerHooks } = {},
): Reconciler {
  const { config, store, metrics } = core;
  const k8s = config.kubernetes;
  const owner = opts.replicaId ?? core.replicaId;
  const healthStore = store.health;
  const gauges = tunnelGauges(metrics, healthStore.counts);
  const r = config.reconciler;
  const health = createHealthRefresh({
    cloudflare: core.cloudflare,
    store: healthStore,
    leases: store.leases,
    ownership: core.ownership,
    logger: core.logger.child({ component: 'health' }),
    options: {
      intervalMs: r.healthSeconds * 1000,
      share: r.healthBudgetShare,
      budget: {
        requests: config.cloudflare.rateLimit.requests,
        windowMs: config.cloudflare.rateLimit.windowSeconds * 1000,
      },
      confirmMs: r.healthConfirmSeconds * 1000,
      neverConnectedMs: r.neverConnectedMinutes * 60_000,
      owner,
      leaseMs: defaultReconcilerOptions.namedLeaseMs,
    },
    onRefresh: (res) => gauges.refreshed(res),
  });
  return createReconciler({
    work: store.work,
    resync: store.resync,
    events: store.events,
    leases: store.leases,
    settings: store.settings,
    signals: store.signals,
    cloudflare: core.cloudflare,
    secrets: core.secrets,
    kubernetes: core.kubernetes,
    ownership: core.ownership,
    zones: core.zones,
    asTenant,
    expire: (at) => store.tunnels.reapExpired(at),
    health,
    spareCalls: () => {
      let waiting = 0;
      for (const n of core.limiter.waiting().values()) waiting += n;
      return config.cloudflare.rateLimit.requests - core.limiter.inWindow() - waiting;
    },
    tcpAccess: { image: k8s.image, replicas: k8s.replicas, port: k8s.port },
    logger: core.logger.child({ component: 'reconciler' }),
    options: {
      ...defaultReconcilerOptions,
      owner,
      concurrency: config.reconciler.concurrency,
      claimPerOwner: config.reconciler.claimPerOwner,
      pollMs: config.reconciler.pollMs,
      leaseMs: config.reconciler.leaseSeconds * 1000,
      backoffMaxMs: config.reconciler.backoffMaxSeconds * 1000,
      resyncMs: config.reconciler.resyncSeconds * 1000,
      configMaxDelayMs: config.reconciler.configMaxDelaySeconds * 1000,
      gcMaxDeletes: config.reconciler.gcMaxDeletes,
      gcMaxDeletePercent: config.reconciler.gcMaxDeletePercent,
      tokenRenewBeforeMs: config.reconciler.tokenRenewDays * 86_400_000,
      eventRetentionMs: config.events.retentionDays * 86_400_000,
    },
    hooks: {
      pass: (s) => {
        metrics.reconcilerPasses.inc({ result: s.failed ? 'failed' : 'ok' });
        metrics.reconcilerPassSeconds.observe(s.ms / 1000);
      },
      queueDepth: (n) => metrics.reconcilerQueue.set(n),
      resynced: (r) => metrics.resynced(r),
      ...opts.hooks,
    },
  });
}

/**
 * The core: what every entrypoint that touches the outside world needs. Connects the store
 * (waiting for the database), builds the rate limiter and the Cloudflare adapter (verifying the
 * token and resolving the zone), resolves this installation, and loads Kubernetes when configured.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/index.js';
import { createSecretBox } from '../domain/secret-box.js';
import { ownership } from '../domain/ownership.js';
import { createZones, type Zones } from '../domain/zones.js';
import type { Ownership } from '../domain/ownership.js';
import { connectStore, type Store } from '../store/index.js';
import {
  createCloudflareApi,
  createRateLimiter,
  type CloudflareApi,
  type RateLimiter,
} from '../providers/cloudflare/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import { createMetrics } from '../server/metrics.js';
import { resolveInstallation } from './installation.js';
import { createLogger } from './logger.js';
import { checkSecretKey, resolveSecretKey } from './secret-key.js';
import {
  cloudflareTransient,
  databaseProblem,
  databaseTransient,
  dnsBatchProblem,
  loadKubernetes,
  resolveCloudflareZones,
  retryTransient,
  StartupError,
  verifyCloudflareToken,
  type Attempt,
} from './startup.js';
import { syncUsersFile } from './users-file.js';

/** The parts every entrypoint that touches the outside world needs: store, Cloudflare, Kubernetes, markers. */
export interface Core {
  config: ServerConfig;
  logger: Logger;
  metrics: ReturnType<typeof createMetrics>;
  secrets: ReturnType<typeof createSecretBox>;
  store: Store;
  cloudflare: CloudflareApi;
  limiter: RateLimiter;
  kubernetes: KubernetesApi | null;
  ownership: Ownership;
  /** This process among the replicas (leases, budget reservations). */
  replicaId: string;
  accountId: string;
  /** Every configured zone (checked at start) and the default. */
  zones: Zones;
  /** The default zone's id and name. */
  zoneId: string;
  zoneName: string;
  closeStore(): Promise<void>;
}

/** Connects to the database (waiting for it, bounded) and to Cloudflare (retrying transient faults), and resolves the installation. */
export async function createCore(
  config: ServerConfig,
  /** `syncUsers: false`: leave the users file alone (`tunnelplane gc` reads, it does not serve). */
  opts: { logger?: Logger; replicaId?: string; syncUsers?: boolean } = {},
): Promise<Core> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const secrets = createSecretBox(resolveSecretKey(config, logger));
  const dbLogger = logger.child({ component: 'database' });
  const { store, close: closeStore } = await retryTransient(
    'the database',
    () =>
      connectStore(config.database.url, {
        onPoolError: (err) =>
          dbLogger.warn(
            { err: err.message },
            'a database connection failed; it is replaced on the next query',
          ),
      }),
    { transient: databaseTransient, maxMs: config.database.startupWaitSeconds * 1000, logger: dbLogger },
  ).catch((err: unknown) => {
    throw new StartupError(databaseProblem(err, config.database.url), { cause: err });
  });
  try {
    await checkSecretKey(secrets, { settings: store.settings, resync: store.resync });
    if (config.users.file && opts.syncUsers !== false)
      await syncUsersFile(store, config.users.file, config.users.admins, logger);

    const replicaId = opts.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const { requests, windowSeconds, shared } = config.cloudflare.rateLimit;
    const sharing = shared === 'auto' ? store.dialect === 'postgres' : shared;
    const reservationTtlMs = 1000;
    const limiter = createRateLimiter({
      requests,
      windowSeconds,
      reservationTtlMs,
      // The database counts a reservation for the window, widened by the limiter's margin and the time its slots may wait.
      ...(sharing
        ? {
            shared: (n: number) =>
              store.budget.reserve(replicaId, n, requests, windowSeconds * 1000 + 2000 + reservationTtlMs),
          }
        : {}),
    });
    const base = {
      apiToken: config.cloudflare.apiToken!,
      ...(config.cloudflare.baseUrl ? { baseUrl: config.cloudflare.baseUrl } : {}),
      limiter,
      timeoutMs: config.cloudflare.timeoutMs,
      observer: {
        call: (endpoint: string, status: number | 'error', ms: number) => {
          metrics.cloudflareCalls.inc({ endpoint, status: String(status) });
          metrics.cloudflareCallSeconds.observe({ endpoint }, ms / 1000);
        },
        rateLimitWait: (ms: number) => metrics.rateLimitWaitSeconds.inc(ms / 1000),
        rateLimited: () => metrics.rateLimited.inc(),
      },
    };

    // Start-up verifies the token and resolves the zone (and the account from it when not given).
    const probe = createCloudflareApi({ ...base, accountId: config.cloudflare.accountId ?? '' });
    const cfLogger = logger.child({ component: 'cloudflare' });
    const retrying = {
      transient: cloudflareTransient,
      maxMs: config.cloudflare.startupWaitSeconds * 1000,
      logger: cfLogger,
    };
    const attempt: Attempt = (what, fn) => retryTransient(what, fn, retrying);
    await verifyCloudflareToken(probe, config.cloudflare.baseUrl, attempt);
    const resolved = await resolveCloudflareZones(probe, config.cloudflare, attempt);
    const { accountId } = resolved;
    for (const [name, plan] of resolved.plans) {
      const batch = dnsBatchProblem(plan, config.cloudflare.dnsBatchLimit, name);
      if (batch) cfLogger.warn({ key: batch.key, fix: batch.fix, zone: name }, batch.message);
    }
    const zones = createZones(resolved.zones, resolved.defaultZone);
    const { id: zoneId, name: zoneName } = zones.defaultZone;
    const cloudflare = createCloudflareApi({ ...base, accountId });

    /** A few of the tunnels and records Cloudflare holds with an installation id's markers. */
    const marked = (id: string) =>
      retryTransient(
        'Cloudflare (looking for objects of this installation)',
        async () => {
          const marker = ownership(id);
          const tunnels = (await cloudflare.listTunnels(marker.tunnelPrefix)).map((t) => `tunnel ${t.name}`);
          const records: string[] = [];
          for (const zone of zones.all)
            for await (const page of cloudflare.zone(zone.id).pagesByComment(marker.dnsCommentPrefix)) {
              records.push(...page.map((r) => `DNS record ${r.name}`));
              break;
            }
          return [...tunnels, ...records].slice(0, 3);
        },
        retrying,
      );
    const installation = await resolveInstallation(
      { settings: store.settings, resync: store.resync, marked },
      config.instance,
      // The old default id: the first 8 hex of the (then only) zone's id.
      zones.all[0]!.id,
      { adopt: config.adoptInstallation },
    ).catch((err: Error) => {
      throw new StartupError(err.message);
    });
    if (installation.created)
      logger.info(
        { installation: installation.id },
        'new installation: its id is kept in the database and marks everything it makes',
      );

    const kubernetes = await loadKubernetes(config.kubernetes);
    return {
      config,
      logger,
      metrics,
      secrets,
      store,
      cloudflare,
      limiter,
      kubernetes,
      ownership: ownership(installation.id),
      replicaId,
      accountId,
      zones,
      zoneId,
      zoneName,
      closeStore,
    };
  } catch (err) {
    await closeStore();
    throw err;
  }
}

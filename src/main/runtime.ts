/**
 * The composition root: the only place concrete adapters are wired into services. Builds the
 * store, the Cloudflare adapter, the reconciler and the HTTP server from a frozen config.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config/index.js';
import { createSecretBox } from '../domain/secret-box.js';
import { ownership } from '../domain/ownership.js';
import { hashPassword, verifyPassword } from '../domain/passwords.js';
import { ProviderError } from '../domain/errors.js';
import type { Ownership } from '../domain/ownership.js';
import { connectStore, type Store } from '../store/index.js';
import {
  asTenant,
  createCloudflareApi,
  createRateLimiter,
  type CloudflareApi,
  type RateLimiter,
} from '../providers/cloudflare/index.js';
import {
  createReconciler,
  defaultReconcilerOptions,
  type Reconciler,
  type ReconcilerHooks,
} from '../reconciler/index.js';
import { resolveInstallation } from './installation.js';
import { cloudflareTransient, databaseTransient, retryTransient, StartupError } from './startup.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import { buildApp, type AppServices } from '../server/app.js';
import { createAuthenticator } from '../server/auth.js';
import { createTunnelViews } from '../server/tunnel-views.js';
import { createWaits } from '../server/waits.js';
import { createAccountService } from '../server/account-service.js';
import { createTunnelService } from '../server/tunnel-service.js';
import { createRouteService } from '../server/route-service.js';
import type { InCluster } from '../server/presenters.js';
import { createMetrics } from '../server/metrics.js';

export { VERSION } from './version.js';
import { VERSION } from './version.js';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tunnelplane' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.password',
          '*.apiToken',
          '*.secret',
          '*.token',
          '*.TunnelSecret',
          'password',
          'apiToken',
          'secret',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    (destination ?? process.stderr) as DestinationStream,
  );
}

/** The key sealing tunnel secrets: given, read from a file, or (SQLite only) kept beside the database. */
export function resolveSecretKey(config: ServerConfig, logger: Logger): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, 'base64');
  let file = config.secretKeyFile;
  if (!file) {
    if (/^postgres(ql)?:/.test(config.database.url)) {
      throw new Error(
        'secretKey or secretKeyFile is required with PostgreSQL (every replica must share the key)',
      );
    }
    const dbPath = config.database.url.replace(/^sqlite:/, '');
    file = resolve(dbPath === ':memory:' ? '.' : dirname(dbPath), 'secret.key');
  }
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    logger.warn({ file }, 'generated a new secret key; back it up: without it tunnel secrets cannot be read');
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file}: the secret key must be 32 bytes, base64-encoded`);
  return key;
}

/**
 * users.json: `{"name": "password"}` (plaintext, hashed here) or `{"name": {"password"|"passwordHash", "role"}}`.
 * Creating is idempotent (replicas starting together on one database all succeed). For users
 * that exist, the file sets the role; a password set in the file wins over one changed since
 * (`tunnelplane user passwd`, the API) only when the file's password differs from what the file
 * said last time: see the operator guide.
 */
export async function syncUsersFile(
  store: Pick<Store, 'users'>,
  file: string,
  admins: readonly string[],
  logger: Logger,
) {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${file}: expected an object of user name → password`);
  let created = 0;
  let updated = 0;
  for (const [name, entry] of Object.entries(doc)) {
    const spec =
      typeof entry === 'string'
        ? { password: entry }
        : (entry as { password?: string; passwordHash?: string; role?: string });
    const role = spec.role === 'admin' || admins.includes(name) ? 'admin' : 'user';
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
      throw new Error(`${file}: user name ${JSON.stringify(name)} is invalid`);
    const given = spec.passwordHash ?? (spec.password?.startsWith('scrypt$') ? spec.password : undefined);
    const existing = await store.users.byName(name);
    if (!existing) {
      const made = await store.users.ensure({
        name,
        passwordHash: given ?? (await hashPassword(spec.password ?? '')),
        role,
      });
      if (made.created) created++;
      continue;
    }
    const same = given
      ? given === existing.password_hash
      : await verifyPassword(spec.password ?? '', existing.password_hash);
    if (!same || existing.role !== role) {
      await store.users.update(existing.id, {
        ...(same ? {} : { password_hash: given ?? (await hashPassword(spec.password ?? '')) }),
        role,
      });
      updated++;
    }
  }
  logger.info({ file, created, updated }, 'users file synchronised');
}

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
  );
  try {
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
    const probe = createCloudflareApi({
      ...base,
      accountId: config.cloudflare.accountId ?? '',
      zoneId: config.cloudflare.zoneId ?? '',
    });
    const cfLogger = logger.child({ component: 'cloudflare' });
    const retrying = {
      transient: cloudflareTransient,
      maxMs: config.cloudflare.startupWaitSeconds * 1000,
      logger: cfLogger,
    };
    await retryTransient('Cloudflare (verifying the API token)', () => probe.verifyToken(), retrying).catch(
      (err: Error) => {
        if (err instanceof ProviderError)
          throw new StartupError(`cloudflare.apiToken: Cloudflare rejected the API token: ${err.message}`);
        throw err;
      },
    );
    let zoneId = config.cloudflare.zoneId;
    const zoneName = config.cloudflare.zoneName;
    let accountId = config.cloudflare.accountId;
    if (zoneName) {
      const zone = await retryTransient(
        `Cloudflare (finding zone ${zoneName})`,
        () => probe.findZone(zoneName),
        retrying,
      );
      if (!zone)
        throw new StartupError(
          `cloudflare.zoneName: Cloudflare has no zone named ${zoneName} visible to this token`,
        );
      if (zoneId && zone.id !== zoneId)
        throw new StartupError(
          `cloudflare.zoneId: zone ${zoneName} has id ${zone.id}, not the configured ${zoneId}`,
        );
      zoneId = zone.id;
      accountId ??= zone.accountId ?? undefined;
    }
    if (!zoneId || !zoneName) throw new StartupError('cloudflare.zoneName is required');
    if (!accountId) throw new StartupError('cloudflare.accountId is required (or a cert.pem holding it)');
    const cloudflare = createCloudflareApi({ ...base, accountId, zoneId });

    /** A few of the tunnels and records Cloudflare holds with an installation id's markers. */
    const marked = (id: string) =>
      retryTransient(
        'Cloudflare (looking for objects of this installation)',
        async () => {
          const marker = ownership(id);
          const tunnels = (await cloudflare.listTunnels(marker.tunnelPrefix)).map((t) => `tunnel ${t.name}`);
          const records: string[] = [];
          for await (const page of cloudflare.pagesByComment(marker.dnsCommentPrefix)) {
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
      zoneId,
      { adopt: config.adoptInstallation },
    ).catch((err: Error) => {
      throw new StartupError(err.message);
    });
    if (installation.created)
      logger.info(
        { installation: installation.id },
        'new installation: its id is kept in the database and marks everything it makes',
      );

    const k8s = config.kubernetes;
    // The Kubernetes client is large: loaded only when a cluster is configured.
    const kubernetes: KubernetesApi | null =
      k8s.kubeconfig || k8s.inCluster
        ? (await import('../providers/kubernetes/index.js')).createKubernetesApi({
            namespace: k8s.namespace,
            ...(k8s.kubeconfig ? { kubeconfigPath: k8s.kubeconfig } : {}),
          })
        : null;
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
      zoneId,
      zoneName,
      closeStore,
    };
  } catch (err) {
    await closeStore();
    throw err;
  }
}

/** The reconciler over a core, with the store's parts it needs and nothing else. */
export function createCoreReconciler(
  core: Core,
  opts: { replicaId?: string; hooks?: ReconcilerHooks } = {},
): Reconciler {
  const { config, store, metrics } = core;
  const k8s = config.kubernetes;
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
    asTenant,
    tcpAccess: { image: k8s.image, replicas: k8s.replicas, port: k8s.port },
    logger: core.logger.child({ component: 'reconciler' }),
    options: {
      ...defaultReconcilerOptions,
      owner: opts.replicaId ?? core.replicaId,
      concurrency: config.reconciler.concurrency,
      claimPerOwner: config.reconciler.claimPerOwner,
      dnsBatchLimit: config.cloudflare.dnsBatchLimit,
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

export interface Runtime {
  config: ServerConfig;
  store: Store;
  app: FastifyInstance;
  reconciler: Reconciler | null;
  cloudflare: CloudflareApi;
  logger: Logger;
  accountId: string;
  zoneId: string;
  zoneName: string;
  installationId: string;
  /** Starts listening; returns the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The HTTP layer's services, each handed only the repositories it uses. */
function createServices(core: Core, config: ServerConfig, inCluster: InCluster): AppServices {
  const { store, logger } = core;
  const auth = createAuthenticator({
    store: { users: store.users, tokens: store.tokens },
    logger: logger.child({ component: 'auth' }),
    limits: {
      freeFailures: config.auth.freeFailures,
      maxDelayMs: config.auth.maxDelaySeconds * 1000,
      maxHashing: config.auth.maxHashing,
      maxAccountsPerSource: config.auth.maxAccountsPerSource,
    },
  });
  const views = createTunnelViews({
    tunnels: store.tunnels,
    inCluster,
    maxBytes: config.api.responseCacheMiB * 1024 * 1024,
  });
  const waits = createWaits({ tunnels: store.tunnels, signals: store.signals, maxWaitMs: 120_000 });
  const accounts = createAccountService({
    users: store.users,
    tokens: store.tokens,
    events: store.events,
    defaultQuotas: config.quotas,
  });
  const tunnels = createTunnelService({
    tunnels: store.tunnels,
    views,
    waits,
    secrets: core.secrets,
    quotasOf: accounts.quotasOf,
    config: { accountId: core.accountId, defaultConfigMode: config.tunnels.defaultConfigMode },
  });
  const routes = createRouteService({
    tunnels: store.tunnels,
    tunnelService: tunnels,
    waits,
    quotasOf: accounts.quotasOf,
    config: {
      zoneName: core.zoneName,
      capacity: {
        accessApplications: config.cloudflare.limits.accessApplications,
        serviceTokens: config.cloudflare.limits.serviceTokens,
      },
      rulesPerApplication: config.cloudflare.limits.rulesPerApplication,
    },
  });
  return { auth, tunnels, routes, accounts, waits };
}

export async function createRuntime(
  config: ServerConfig,
  opts: { logger?: Logger; replicaId?: string; hooks?: ReconcilerHooks } = {},
): Promise<Runtime> {
  const core = await createCore(config, {
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.replicaId ? { replicaId: opts.replicaId } : {}),
  });
  const { store, logger, metrics, kubernetes } = core;
  try {
    if (!kubernetes)
      logger.info({}, 'no kubeconfig: TCP routes are protected by Access but get no in-cluster access pods');
    const reconciler = config.reconciler.enabled ? createCoreReconciler(core, opts) : null;
    const k8s = config.kubernetes;
    const tls = config.tls
      ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }
      : undefined;
    const inCluster = kubernetes ? { namespace: k8s.namespace, port: k8s.port } : null;
    const app = await buildApp({
      services: createServices(core, config, inCluster),
      events: store.events,
      ping: store.ping,
      logger: logger.child({ component: 'http' }),
      metrics,
      config: {
        version: VERSION,
        inCluster,
        mutations: { perMinute: config.api.mutationsPerMinute, burst: config.api.mutationBurst },
        events: { refusedPerMinute: config.events.refusedPerMinute },
        trustProxy: config.listen.trustProxy,
      },
      ...(tls ? { https: tls } : {}),
    });

    let closed = false;
    return {
      config,
      store,
      app,
      reconciler,
      cloudflare: core.cloudflare,
      logger,
      accountId: core.accountId,
      zoneId: core.zoneId,
      zoneName: core.zoneName,
      installationId: core.ownership.id,
      async listen() {
        const { host, port } = config.listen;
        if (!tls && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
          logger.warn(
            { host },
            'serving plain HTTP beyond loopback: credentials cross the network in clear; give tls.cert/tls.key or terminate TLS in front',
          );
        }
        const address = await app.listen({ host, port });
        reconciler?.start();
        // Resync once at start: repairs what changed while the server was down.
        if (reconciler) {
          reconciler
            .startupResync()
            .catch((err: Error) =>
              logger.warn({ err: err.message }, 'initial resync failed; the timer will retry'),
            );
        }
        return address.replace('[::1]', 'localhost');
      },
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        // A pass may be asleep in the limiter (a 429's Retry-After lasts up to 300 s): once the
        // loop is told to stop, the limiter refuses every wait as transient, so the pass ends at
        // its next Cloudflare call and leaves what it did not do pending for the next process.
        const stopping = reconciler?.stop();
        core.limiter.close();
        await stopping;
        await core.closeStore();
      },
    };
  } catch (err) {
    await core.closeStore();
    throw err;
  }
}

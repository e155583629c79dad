/**
 * The composition root: the only place concrete adapters are wired into services. Builds the
 * core (core.ts), the reconciler (core-reconciler.ts) and the HTTP server with its services
 * (services.ts) from a frozen config, and stops them in order.
 */
import type { Zones } from '../domain/zones.js';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { Reconciler, ReconcilerHooks } from '../reconciler/index.js';
import { buildApp } from '../server/app.js';
import { createCore } from './core.js';
import { createCoreReconciler } from './core-reconciler.js';
import { createCoreWebhooks } from './core-webhooks.js';
import { createServices } from './services.js';
import { ConfigError } from '../config/index.js';
import { connectOidc, OidcConfigError, type OidcClient } from '../identity/oidc-client.js';
import { publicUrlOf } from './server-config.js';
import { VERSION } from './version.js';
import { releaseMemoryWhenIdle } from './idle-memory.js';

/** Requests that never count as work for the idle memory release: health probes and metric scrapes. */
const OPERATIONAL_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

// What the entrypoints, the tests and the benchmarks have always imported from here.
export { VERSION } from './version.js';
export { createLogger } from './logger.js';
export { resolveSecretKey } from './secret-key.js';
export { syncUsersFile } from './users-file.js';
export { createCore, type Core } from './core.js';
export { createCoreReconciler } from './core-reconciler.js';
export { publicUrlOf } from './server-config.js';

export interface Runtime {
  config: ServerConfig;
  store: Store;
  app: FastifyInstance;
  reconciler: Reconciler | null;
  cloudflare: CloudflareApi;
  logger: Logger;
  accountId: string;
  /** The configured zones (checked at start) and the default. */
  zones: Zones;
  zoneId: string;
  zoneName: string;
  installationId: string;
  /** Starts listening; returns the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createRuntime(
  config: ServerConfig,
  opts: {
    logger?: Logger;
    replicaId?: string;
    hooks?: ReconcilerHooks;
    /** The process is this server's own (`serve`): return idle heap memory (`memory.idleReleaseSeconds`). */
    ownsProcess?: boolean;
  } = {},
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
    const webhooks = createCoreWebhooks(core);
    const k8s = config.kubernetes;
    const tls = config.tls
      ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }
      : undefined;
    const inCluster = kubernetes ? { namespace: k8s.namespace, port: k8s.port } : null;
    const publicUrl = publicUrlOf(config, !!tls);
    const oidc = await connectIdentityProvider(config, publicUrl);
    const app = await buildApp({
      services: createServices(core, config, inCluster, oidc),
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
        identity: {
          publicUrl,
          passwordSignIn: config.identity.passwordSignIn,
          secureCookies: !!tls || publicUrl.startsWith('https:'),
        },
      },
      idempotency: { repository: store.idempotency, ttlMs: config.api.idempotencyHours * 3_600_000 },
      ...(tls ? { https: tls } : {}),
    });

    let closed = false;
    let idleMemory: { stop(): void } | undefined;
    return {
      config,
      store,
      app,
      reconciler,
      cloudflare: core.cloudflare,
      logger,
      accountId: core.accountId,
      zones: core.zones,
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
        webhooks.start();
        if (opts.ownsProcess && config.memory.idleReleaseSeconds > 0) {
          // Probes and scrapes (every few seconds in a cluster) do not make a server busy.
          let requests = 0;
          app.server.on('request', (req: { url?: string }) => {
            if (!OPERATIONAL_PATHS.has(req.url ?? '')) requests++;
          });
          const release = await releaseMemoryWhenIdle({
            intervalMs: config.memory.idleReleaseSeconds * 1000,
            logger: logger.child({ component: 'memory' }),
            metrics,
            requests: () => requests,
          });
          if (closed) release.stop();
          else idleMemory = release;
        }
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
        idleMemory?.stop();
        await app.close();
        // A pass may be asleep in the limiter (a 429's Retry-After lasts up to 300 s): once the
        // loop is told to stop, the limiter refuses every wait as transient, so the pass ends at
        // its next Cloudflare call and leaves what it did not do pending for the next process.
        const stopping = reconciler?.stop();
        core.limiter.close();
        await Promise.all([stopping, webhooks.stop()]);
        await core.closeStore();
      },
    };
  } catch (err) {
    await core.closeStore();
    throw err;
  }
}

/** The identity provider, discovered and its client credentials proven; a fault names its key. */
async function connectIdentityProvider(config: ServerConfig, publicUrl: string): Promise<OidcClient | null> {
  const o = config.identity.oidc;
  if (!o) return null;
  try {
    return await connectOidc({ ...o, redirectUri: `${publicUrl}/auth/callback` });
  } catch (err) {
    if (err instanceof OidcConfigError) throw new ConfigError([err.message]);
    throw err;
  }
}

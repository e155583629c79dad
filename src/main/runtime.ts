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
import { connectStore, type Store } from '../store/index.js';
import { createCloudflareApi, createRateLimiter, type CloudflareApi } from '../providers/cloudflare/index.js';
import { createReconciler, defaultReconcilerOptions, type Reconciler } from '../reconciler/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import { buildApp } from '../server/app.js';
import { createMetrics } from '../server/metrics.js';

export const VERSION = '0.1.0';

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
      throw new Error('secretKey or secretKeyFile is required with PostgreSQL (every replica must share the key)');
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

/** users.json: `{"name": "password"}` (plaintext, hashed here) or `{"name": {"password"|"passwordHash", "role"}}`. */
export async function syncUsersFile(store: Store, file: string, admins: readonly string[], logger: Logger) {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: expected an object of user name → password`);
  let created = 0;
  let updated = 0;
  for (const [name, entry] of Object.entries(doc)) {
    const spec = typeof entry === 'string' ? { password: entry } : (entry as { password?: string; passwordHash?: string; role?: string });
    const role = spec.role === 'admin' || admins.includes(name) ? 'admin' : 'user';
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new Error(`${file}: user name ${JSON.stringify(name)} is invalid`);
    const given = spec.passwordHash ?? (spec.password?.startsWith('scrypt$') ? spec.password : undefined);
    const existing = await store.users.byName(name);
    if (!existing) {
      await store.users.create({ name, passwordHash: given ?? (await hashPassword(spec.password ?? '')), role });
      created++;
      continue;
    }
    const same = given ? given === existing.password_hash : await verifyPassword(spec.password ?? '', existing.password_hash);
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
  /** Starts listening; returns the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createRuntime(config: ServerConfig, opts: { logger?: Logger; replicaId?: string } = {}): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const secrets = createSecretBox(resolveSecretKey(config, logger));
  const { store, close: closeStore } = await connectStore(config.database.url);
  try {
    if (config.users.file) await syncUsersFile(store, config.users.file, config.users.admins, logger);

    const limiter = createRateLimiter(config.cloudflare.rateLimit);
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
    const probe = createCloudflareApi({ ...base, accountId: config.cloudflare.accountId ?? '', zoneId: config.cloudflare.zoneId ?? '' });
    await probe.verifyToken().catch((err: Error) => {
      throw new Error(`Cloudflare rejected the API token: ${err.message}`);
    });
    let zoneId = config.cloudflare.zoneId;
    const zoneName = config.cloudflare.zoneName;
    let accountId = config.cloudflare.accountId;
    if (zoneName) {
      const zone = await probe.findZone(zoneName);
      if (!zone) throw new Error(`Cloudflare has no zone named ${zoneName} visible to this token`);
      if (zoneId && zone.id !== zoneId) throw new Error(`zone ${zoneName} has id ${zone.id}, not the configured ${zoneId}`);
      zoneId = zone.id;
      accountId ??= zone.accountId ?? undefined;
    }
    if (!zoneId || !zoneName) throw new Error('cloudflare.zoneName is required');
    if (!accountId) throw new Error('cloudflare.accountId is required (or a cert.pem holding it)');
    const cloudflare = createCloudflareApi({ ...base, accountId, zoneId });

    const k8s = config.kubernetes;
    // The Kubernetes client is large: loaded only when a cluster is configured.
    const kubernetes: KubernetesApi | null =
      k8s.kubeconfig || k8s.inCluster
        ? (await import('../providers/kubernetes/index.js')).createKubernetesApi({
            namespace: k8s.namespace,
            ...(k8s.kubeconfig ? { kubeconfigPath: k8s.kubeconfig } : {}),
          })
        : null;
    if (!kubernetes) logger.info({}, 'no kubeconfig: TCP routes are protected by Access but get no in-cluster access pods');

    const reconciler = config.reconciler.enabled
      ? createReconciler({
          store,
          cloudflare,
          secrets,
          kubernetes,
          ownership: ownership(config.instance ?? zoneId.slice(0, 8)),
          tcpAccess: { image: k8s.image, replicas: k8s.replicas, port: k8s.port },
          logger: logger.child({ component: 'reconciler' }),
          options: {
            ...defaultReconcilerOptions,
            owner: opts.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
            concurrency: config.reconciler.concurrency,
            dnsBatchLimit: config.cloudflare.dnsBatchLimit,
            pollMs: config.reconciler.pollMs,
            leaseMs: config.reconciler.leaseSeconds * 1000,
            backoffMaxMs: config.reconciler.backoffMaxSeconds * 1000,
            resyncMs: config.reconciler.resyncSeconds * 1000,
            configMaxDelayMs: config.reconciler.configMaxDelaySeconds * 1000,
          },
          hooks: {
            pass: (s) => {
              metrics.reconcilerPasses.inc({ result: s.failed ? 'failed' : 'ok' });
              metrics.reconcilerPassSeconds.observe(s.ms / 1000);
            },
            queueDepth: (n) => metrics.reconcilerQueue.set(n),
          },
        })
      : null;

    const tls = config.tls ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } : undefined;
    const app = await buildApp({
      store,
      secrets,
      logger: logger.child({ component: 'http' }),
      metrics,
      config: {
        version: VERSION,
        zoneName,
        accountId,
        defaultQuotas: config.quotas,
        defaultConfigMode: config.tunnels.defaultConfigMode,
        maxWaitMs: 120_000,
        inCluster: kubernetes ? { namespace: k8s.namespace, port: k8s.port } : null,
        viewCacheBytes: config.api.responseCacheMiB * 1024 * 1024,
      },
      ...(tls ? { https: tls } : {}),
    });

    let closed = false;
    return {
      config,
      store,
      app,
      reconciler,
      cloudflare,
      logger,
      accountId,
      zoneId,
      zoneName,
      async listen() {
        const { host, port } = config.listen;
        if (!tls && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
          logger.warn({ host }, 'serving plain HTTP beyond loopback: credentials cross the network in clear; give tls.cert/tls.key or terminate TLS in front');
        }
        const address = await app.listen({ host, port });
        reconciler?.start();
        // Resync once at start: repairs what changed while the server was down.
        if (reconciler) {
          reconciler.resync().catch((err: Error) => logger.warn({ err: err.message }, 'initial resync failed; the timer will retry'));
        }
        return address.replace('[::1]', 'localhost');
      },
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await reconciler?.stop();
        await closeStore();
      },
    };
  } catch (err) {
    await closeStore();
    throw err;
  }
}

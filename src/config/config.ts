/**
 * Server configuration: defaults → YAML file → the proof of concept's `secret/` layout →
 * `TUNNELPLANE_*` environment → flags, parsed once by one schema. Every problem is reported at
 * start with the key that caused it; the result is frozen and passed in, never read globally.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseOriginCert } from './origin-cert.js';
import { DEFAULT_CLOUDFLARED_IMAGE } from '../domain/access-objects.js';

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);
/** Booleans from YAML, or from the environment as `true`/`false`. */
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** proxy-addr's names for ranges (Fastify's `trustProxy` takes them too). */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];
const isProxyEntry = (s: string) =>
  PROXY_RANGES.includes(s) ||
  (s.includes('/')
    ? ipaddr.isValidCIDR(s)
    : ipaddr.IPv4.isValidFourPartDecimal(s) || (s.includes(':') && ipaddr.IPv6.isValid(s)));
/**
 * Whose `X-Forwarded-For` is believed: `false` (nobody), `true` (every hop: the client picks
 * its address), or the proxies' addresses / CIDR ranges / `loopback`, `linklocal`,
 * `uniquelocal` (YAML list, or comma-separated in the environment). No hop count: it cannot tell
 * a proxy from a client that sends the header itself (Fastify trusts nobody for one).
 */
const trustProxy = z.preprocess(
  (v) =>
    v === 'true'
      ? true
      : v === 'false'
        ? false
        : typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : v,
  z
    .union([z.boolean(), z.array(z.string())], {
      error:
        "must be false, true, or a list of the proxies' addresses or CIDR ranges (a hop count cannot tell a proxy from a client)",
    })
    .superRefine((v, ctx) => {
      if (v === true || v === false) return;
      if (v.length === 0)
        ctx.addIssue({ code: 'custom', message: 'list at least one proxy (or give false)' });
      v.forEach((entry, i) => {
        if (!isProxyEntry(entry))
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `${JSON.stringify(entry)} is not an IP address, a CIDR range or one of ${PROXY_RANGES.join(', ')}`,
          });
      });
    }),
);

export const configSchema = z
  .object({
    /**
     * This installation's id in the markers on everything it makes (1-12 of a-z 0-9). Default:
     * the id kept in the database (a new one takes a random id; main/installation.ts).
     * Installations sharing a Cloudflare account or a namespace must differ.
     */
    instance: z
      .string()
      .regex(/^[a-z0-9]{1,12}$/, 'must be 1-12 lowercase letters or digits')
      .optional(),
    /**
     * A new database with a configured `instance` whose markers Cloudflare already holds is
     * refused (a copied configuration would take the other installation's objects), unless this
     * says the database replaces a lost one of the same installation.
     */
    adoptInstallation: flag.default(false),
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(5000),
        /** Reverse proxies whose `X-Forwarded-For` gives the client's address (sign-in throttling counts per address). */
        trustProxy: trustProxy.default(false),
      })
      .prefault({}),
    tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    database: z
      .object({
        url: z.string().min(1).default('sqlite:./data/tunnelplane.db'),
        /** At start, how long to wait for a database that is not up yet (retried with backoff). */
        startupWaitSeconds: z.coerce.number().int().min(0).max(3600).default(120),
      })
      .prefault({}),
    /** 32 bytes, base64: seals tunnel secrets at rest. Or a file holding it. */
    secretKey: z.string().optional(),
    secretKeyFile: z.string().optional(),
    cloudflare: z
      .object({
        apiToken: z.string().min(1).optional(),
        accountId: z
          .string()
          .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex account id')
          .optional(),
        zoneId: z
          .string()
          .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex zone id')
          .optional(),
        zoneName: z.string().min(1).optional(),
        /** The origin certificate from `cloudflared tunnel login` (accountID, zoneID, apiToken). */
        cert: z.string().optional(),
        baseUrl: z.url().optional(),
        timeoutMs: positive.default(15_000),
        /**
         * The token's call budget (Cloudflare: 1,200 per 300 s). `shared`: every replica reserves
         * its calls in the database so that together they stay within it (auto: with PostgreSQL).
         */
        rateLimit: z
          .object({
            requests: positive.default(1200),
            windowSeconds: positive.default(300),
            shared: z
              .preprocess(
                (v) => (v === 'true' ? true : v === 'false' ? false : v),
                z.union([z.boolean(), z.literal('auto')]),
              )
              .default('auto'),
          })
          .prefault({}),
        /** DNS batch operations per call: 200 on Free zones, 3,500 on paid ones. */
        dnsBatchLimit: positive.max(3500).default(200),
        /**
         * At start, how long to keep retrying a Cloudflare that is unreachable, rate limited or
         * failing (a refused token stops at once).
         */
        startupWaitSeconds: z.coerce.number().int().min(0).max(3600).default(300),
        /**
         * The account's limits every tenant shares (Cloudflare's account limits: 500 Access
         * applications, 50 service tokens, 1,000 rules per application). Lower them when the
         * account holds applications or tokens of its own: a route that would not fit is refused
         * when it is created.
         */
        limits: z
          .object({
            accessApplications: z.coerce.number().int().min(0).default(500),
            serviceTokens: z.coerce.number().int().min(0).default(50),
            rulesPerApplication: z.coerce.number().int().min(1).default(1000),
          })
          .prefault({}),
      })
      .prefault({}),
    users: z
      .object({
        /** `{"user": "password"}` (plaintext is hashed on import) or `{"user": {"password"|"passwordHash", "role"}}`. */
        file: z.string().optional(),
        admins: z.array(z.string()).default([]),
      })
      .prefault({}),
    /** Per user (overrides per user through the admin API for tunnels and routes). */
    quotas: z
      .object({
        tunnels: z.coerce.number().int().min(0).default(10),
        routes: z.coerce.number().int().min(0).default(50),
        /** Routes with Access (TCP, people, allow-lists): each holds one of the account's Access applications. */
        protectedRoutes: z.coerce.number().int().min(0).default(20),
        /** TCP-like routes: each holds one of the account's 50 service tokens. */
        tcpRoutes: z.coerce.number().int().min(0).default(5),
      })
      .prefault({}),
    api: z
      .object({
        /** Memory for rendered tunnel views (JSON, config.yaml), kept per tunnel until its routes change; 0 turns it off. */
        responseCacheMiB: z.coerce.number().min(0).max(4096).default(32),
        /** Changes (POST, PUT, PATCH, DELETE) per user: a bucket of `mutationBurst` refilled at this rate (per replica); 0: no limit. */
        mutationsPerMinute: z.coerce.number().min(0).default(30),
        mutationBurst: z.coerce.number().int().min(1).default(30),
      })
      .prefault({}),
    /** Sign-in throttling (see src/server/auth.ts): failed guesses per account and source address, the password-check queue. */
    auth: z
      .object({
        freeFailures: z.coerce.number().int().min(1).default(5),
        maxDelaySeconds: z.coerce.number().int().min(1).default(300),
        maxHashing: z.coerce.number().int().min(1).max(16).default(2),
        maxAccountsPerSource: z.coerce.number().int().min(1).default(20),
      })
      .prefault({}),
    /**
     * The audit trail: how long events are kept, and how many refused changes a user leaves per
     * minute (more are counted, in one event).
     */
    events: z
      .object({
        retentionDays: z.coerce.number().int().min(1).default(90),
        refusedPerMinute: z.coerce.number().int().min(0).default(10),
      })
      .prefault({}),
    tunnels: z.object({ defaultConfigMode: z.enum(['local', 'remote']).default('local') }).prefault({}),
    reconciler: z
      .object({
        enabled: flag.default(true),
        resyncSeconds: z.coerce.number().int().min(0).default(300),
        concurrency: positive.max(64).default(16),
        /** Tunnels of one owner a pass takes at most: one owner's many changes never make others wait long. */
        claimPerOwner: positive.default(5),
        /** A replica's claim on a tunnel; a crashed replica's work is taken over after this. */
        leaseSeconds: positive.default(15),
        /** Longest wait between retries of a failing tunnel (exponential backoff with jitter up to this). */
        backoffMaxSeconds: positive.default(60),
        /** A remote tunnel's configuration PUT waits while its routes keep changing, at most this long (0: never waits). */
        configMaxDelaySeconds: z.coerce.number().min(0).max(300).default(10),
        pollMs: positive.default(1000),
        /**
         * Orphans a resync deletes on its own (provably ours: see the operator guide); above
         * max(gcMaxDeletes, gcMaxDeletePercent % of our objects) it deletes none and waits for
         * `tunnelplane gc --confirm`.
         */
        gcMaxDeletes: z.coerce.number().int().min(0).default(10),
        gcMaxDeletePercent: z.coerce.number().min(0).max(100).default(10),
        /** A TCP route's service token is renewed (refreshed, and rotated) this many days before it expires. */
        tokenRenewDays: z.coerce.number().int().min(1).max(300).default(30),
      })
      .prefault({}),
    kubernetes: z
      .object({
        /** A kubeconfig file (the proof of concept's `kubeconfig`); or `inCluster: true`. Neither: no access pods. */
        kubeconfig: z.string().optional(),
        inCluster: flag.default(false),
        namespace: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Kubernetes namespace name')
          .max(63)
          .default('tunnel-control-plane'),
        image: z.string().min(1).default(DEFAULT_CLOUDFLARED_IMAGE),
        replicas: z.coerce.number().int().min(1).max(10).default(1),
        /** The port access pods listen on and their Service exposes (the proof of concept's 10000). */
        port: z.coerce.number().int().min(1024).max(65535).default(10000),
      })
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .strict();

export type ServerConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Raw = Record<string, unknown>;

/** `TUNNELPLANE_*` variables and where each goes. */
const ENV: Record<string, string> = {
  TUNNELPLANE_INSTANCE: 'instance',
  TUNNELPLANE_ADOPT_INSTALLATION: 'adoptInstallation',
  TUNNELPLANE_HOST: 'listen.host',
  TUNNELPLANE_PORT: 'listen.port',
  TUNNELPLANE_TRUST_PROXY: 'listen.trustProxy',
  TUNNELPLANE_TLS_CERT: 'tls.cert',
  TUNNELPLANE_TLS_KEY: 'tls.key',
  TUNNELPLANE_DATABASE_URL: 'database.url',
  TUNNELPLANE_SECRET_KEY: 'secretKey',
  TUNNELPLANE_SECRET_KEY_FILE: 'secretKeyFile',
  TUNNELPLANE_CLOUDFLARE_API_TOKEN: 'cloudflare.apiToken',
  TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: 'cloudflare.accountId',
  TUNNELPLANE_CLOUDFLARE_ZONE_ID: 'cloudflare.zoneId',
  TUNNELPLANE_CLOUDFLARE_ZONE: 'cloudflare.zoneName',
  TUNNELPLANE_CLOUDFLARE_CERT: 'cloudflare.cert',
  TUNNELPLANE_CLOUDFLARE_BASE_URL: 'cloudflare.baseUrl',
  TUNNELPLANE_USERS_FILE: 'users.file',
  TUNNELPLANE_DEFAULT_CONFIG_MODE: 'tunnels.defaultConfigMode',
  TUNNELPLANE_KUBECONFIG: 'kubernetes.kubeconfig',
  TUNNELPLANE_NAMESPACE: 'kubernetes.namespace',
  TUNNELPLANE_KUBERNETES_IN_CLUSTER: 'kubernetes.inCluster',
  TUNNELPLANE_CLOUDFLARE_RATE_LIMIT_REQUESTS: 'cloudflare.rateLimit.requests',
  TUNNELPLANE_CLOUDFLARE_RATE_LIMIT_SHARED: 'cloudflare.rateLimit.shared',
  TUNNELPLANE_RECONCILER_ENABLED: 'reconciler.enabled',
  TUNNELPLANE_LOG_LEVEL: 'log.level',
  TUNNELPLANE_API_RESPONSE_CACHE_MIB: 'api.responseCacheMiB',
  TUNNELPLANE_CLOUDFLARE_TIMEOUT_MS: 'cloudflare.timeoutMs',
  TUNNELPLANE_RESYNC_SECONDS: 'reconciler.resyncSeconds',
  TUNNELPLANE_LEASE_SECONDS: 'reconciler.leaseSeconds',
  TUNNELPLANE_BACKOFF_MAX_SECONDS: 'reconciler.backoffMaxSeconds',
  TUNNELPLANE_CONFIG_MAX_DELAY_SECONDS: 'reconciler.configMaxDelaySeconds',
  TUNNELPLANE_DATABASE_STARTUP_WAIT_SECONDS: 'database.startupWaitSeconds',
  TUNNELPLANE_CLOUDFLARE_STARTUP_WAIT_SECONDS: 'cloudflare.startupWaitSeconds',
  TUNNELPLANE_GC_MAX_DELETES: 'reconciler.gcMaxDeletes',
  TUNNELPLANE_GC_MAX_DELETE_PERCENT: 'reconciler.gcMaxDeletePercent',
  TUNNELPLANE_TOKEN_RENEW_DAYS: 'reconciler.tokenRenewDays',
  TUNNELPLANE_QUOTA_TUNNELS: 'quotas.tunnels',
  TUNNELPLANE_QUOTA_ROUTES: 'quotas.routes',
  TUNNELPLANE_QUOTA_PROTECTED_ROUTES: 'quotas.protectedRoutes',
  TUNNELPLANE_QUOTA_TCP_ROUTES: 'quotas.tcpRoutes',
  TUNNELPLANE_CLOUDFLARE_LIMIT_ACCESS_APPLICATIONS: 'cloudflare.limits.accessApplications',
  TUNNELPLANE_CLOUDFLARE_LIMIT_SERVICE_TOKENS: 'cloudflare.limits.serviceTokens',
  TUNNELPLANE_API_MUTATIONS_PER_MINUTE: 'api.mutationsPerMinute',
  TUNNELPLANE_API_MUTATION_BURST: 'api.mutationBurst',
  TUNNELPLANE_AUTH_FREE_FAILURES: 'auth.freeFailures',
  TUNNELPLANE_AUTH_MAX_DELAY_SECONDS: 'auth.maxDelaySeconds',
  TUNNELPLANE_EVENTS_RETENTION_DAYS: 'events.retentionDays',
  TUNNELPLANE_EVENTS_REFUSED_PER_MINUTE: 'events.refusedPerMinute',
};

function setPath(target: Raw, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Raw;
  }
  node[keys[keys.length - 1]!] = value;
}

function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Raw, v as Raw)
        : v;
  }
  return out;
}

/**
 * Reads the proof of concept's `secret/` folder: users.json and cloudflare.yaml (`zone`, `token`,
 * `cert`, `dns_suffix`, `kubeconfig`, `namespace`). Paths inside are relative to the folder's
 * parent, as the proof of concept ran from there.
 */
export function readSecretDir(dir: string, problems: string[]): Raw {
  const out: Raw = {};
  const base = dirname(resolve(dir));
  const usersFile = resolve(dir, 'users.json');
  if (existsSync(usersFile)) setPath(out, 'users.file', usersFile);
  const cfFile = resolve(dir, 'cloudflare.yaml');
  if (existsSync(cfFile)) {
    let doc: Raw;
    try {
      doc = (parseYaml(readFileSync(cfFile, 'utf8')) ?? {}) as Raw;
    } catch (err) {
      problems.push(`${cfFile}: not valid YAML (${(err as Error).message})`);
      return out;
    }
    const rel = (p: unknown) =>
      typeof p === 'string' && p ? (isAbsolute(p) ? p : resolve(base, p)) : undefined;
    if (doc.zone) setPath(out, 'cloudflare.zoneName', String(doc.zone));
    if (doc.token) setPath(out, 'cloudflare.apiToken', String(doc.token));
    if (doc.cert) setPath(out, 'cloudflare.cert', rel(doc.cert));
    if (doc.kubeconfig) setPath(out, 'kubernetes.kubeconfig', rel(doc.kubeconfig));
    if (doc.namespace) setPath(out, 'kubernetes.namespace', String(doc.namespace));
    if (doc.dns_suffix && doc.zone && String(doc.dns_suffix) !== String(doc.zone)) {
      problems.push(
        `${cfFile}: dns_suffix (${String(doc.dns_suffix)}) must equal zone (${String(doc.zone)}); hostnames are always one label under the zone`,
      );
    }
  }
  return out;
}

export interface LoadConfigInput {
  file?: string;
  secretDir?: string;
  env?: Record<string, string | undefined>;
  /** Already-parsed flags, as dotted paths (`listen.port`). */
  flags?: Record<string, unknown>;
  /** Base layer under the file (used by `dev`). */
  defaults?: Raw;
}

export function loadConfig(input: LoadConfigInput = {}): Readonly<ServerConfig> {
  const problems: string[] = [];
  let raw: Raw = input.defaults ?? {};
  if (input.file) {
    try {
      const doc = parseYaml(readFileSync(input.file, 'utf8')) as unknown;
      if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
        problems.push(`${input.file}: the top level must be a mapping`);
      } else raw = merge(raw, (doc ?? {}) as Raw);
    } catch (err) {
      problems.push(
        `${input.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`,
      );
    }
  }
  if (input.secretDir) {
    if (!existsSync(input.secretDir)) problems.push(`secret directory ${input.secretDir}: not found`);
    else raw = merge(raw, readSecretDir(input.secretDir, problems));
  }
  const envLayer: Raw = {};
  for (const [name, path] of Object.entries(ENV)) {
    const v = input.env?.[name];
    if (v !== undefined && v !== '') setPath(envLayer, path, v);
  }
  raw = merge(raw, envLayer);
  const flagLayer: Raw = {};
  for (const [path, v] of Object.entries(input.flags ?? {})) if (v !== undefined) setPath(flagLayer, path, v);
  raw = merge(raw, flagLayer);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    // The checks below need a parsed config; report what the raw values already show too.
    const cf = (raw.cloudflare ?? {}) as Raw;
    if (!cf.apiToken && !cf.cert)
      problems.push(
        'cloudflare.apiToken: required (or cloudflare.cert, the origin certificate from `cloudflared tunnel login`)',
      );
    if (!cf.zoneName && !cf.zoneId)
      problems.push('cloudflare.zoneName: required (the DNS zone routes live under)');
    if (typeof raw.secretKey === 'string' && Buffer.from(raw.secretKey, 'base64').length !== 32) {
      problems.push('secretKey: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
    }
    throw new ConfigError([...new Set(problems)]);
  }
  const config = parsed.data;

  // The origin certificate fills in what is not given explicitly.
  if (config.cloudflare.cert) {
    try {
      const cert = parseOriginCert(readFileSync(config.cloudflare.cert, 'utf8'));
      if (cert.accountID) config.cloudflare.accountId ??= cert.accountID;
      config.cloudflare.zoneId ??= cert.zoneID;
      config.cloudflare.apiToken ??= cert.apiToken;
    } catch (err) {
      problems.push(`cloudflare.cert (${config.cloudflare.cert}): ${(err as Error).message}`);
    }
  }
  if (!config.cloudflare.apiToken)
    problems.push(
      'cloudflare.apiToken: required (or cloudflare.cert, the origin certificate from `cloudflared tunnel login`)',
    );
  if (!config.cloudflare.zoneName && !config.cloudflare.zoneId)
    problems.push('cloudflare.zoneName: required (the DNS zone routes live under)');
  if (config.tls && (!existsSync(config.tls.cert) || !existsSync(config.tls.key))) {
    problems.push(`tls: certificate ${config.tls.cert} or key ${config.tls.key} not found`);
  }
  if (config.users.file && !existsSync(config.users.file))
    problems.push(`users.file: ${config.users.file} not found`);
  if (config.secretKey && Buffer.from(config.secretKey, 'base64').length !== 32) {
    problems.push('secretKey: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

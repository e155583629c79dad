/**
 * The configuration's one schema: every key with its type, bounds and default, and the checks of
 * values (proxy addresses, ids, names) that name the key at fault. Layering the sources is
 * config.ts; which `TUNNELPLANE_*` variable sets which key is env-vars.ts.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEFAULT_CLOUDFLARED_IMAGE } from '../domain/access-objects.js';

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);

/** Hostname labels a zone's own services and mail commonly use: no user may take them. */
export const DEFAULT_RESERVED_HOSTNAMES = [
  'www',
  'api',
  'admin',
  'administrator',
  'mail',
  'smtp',
  'imap',
  'pop',
  'pop3',
  'mx',
  'webmail',
  'autodiscover',
  'autoconfig',
  'ftp',
  'ns*',
  'dns',
  'vpn',
  'sso',
  'auth',
  'login',
  'status',
  'dashboard',
  'cpanel',
  'root',
  'localhost',
  'tunnelplane*',
  '_*',
];
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

/** A list from YAML, or comma-separated from the environment. */
const list = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(/[ ,]+/)
          .map((x) => x.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().min(1)),
);

/**
 * One operator-configured webhook. `events` are action names (`route.expired`) or prefixes ending
 * in `*` (`tunnel.*`; `*` alone: every event). The secret signs each delivery (HMAC-SHA256); give
 * it inline or as a file (a mounted Secret), read at start.
 */
const webhook = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be 1-64 of a-z 0-9 -'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    secret: z.string().min(16, 'must be at least 16 characters').optional(),
    secretFile: z.string().min(1).optional(),
    events: z
      .array(
        z
          .string()
          .regex(
            /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*|\*)?)$/,
            'must be an action (`route.expired`) or a prefix ending in * (`tunnel.*`, `*`)',
          ),
      )
      .min(1)
      .default(['*']),
    timeoutMs: z.coerce.number().int().min(100).max(60_000).default(5000),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (!w.secret === !w.secretFile)
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'give exactly one of secret and secretFile',
      });
  });

/** The webhooks: a YAML list, or from the environment one JSON array (`TUNNELPLANE_WEBHOOKS`). */
const webhooks = z.preprocess(
  (v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch (err) {
      ctx.addIssue({ code: 'custom', input: v, message: `not a JSON array (${(err as Error).message})` });
      return z.NEVER;
    }
  },
  z.array(webhook).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((w, i) => {
      if (seen.has(w.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${w.name} is named twice` });
      seen.add(w.name);
    });
  }),
);

/** A zone's apex name, as Cloudflare shows it (lower case, no trailing dot). */
const zoneNameSchema = z
  .string()
  .transform((v) => v.trim().toLowerCase().replace(/\.$/, ''))
  .pipe(
    z
      .string()
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9][-a-z0-9]*[a-z0-9]$/,
        'must be a zone apex name such as example.com',
      ),
  );

const zoneEntry = z
  .object({
    name: zoneNameSchema,
    id: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'must be a 32-character hex zone id')
      .optional(),
  })
  .strict();

/** The zones: a YAML list of `{name, id?}`, or from the environment a JSON array or `a.com,b.com=<id>`. */
const zoneList = z.preprocess(
  (v, ctx) => {
    if (typeof v !== 'string') return v;
    const text = v.trim();
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', input: v, message: `not a JSON array (${(err as Error).message})` });
        return z.NEVER;
      }
    }
    return text
      .split(/[ ,]+/)
      .filter(Boolean)
      .map((item) => {
        const [name, id] = item.split('=');
        return id ? { name, id } : { name };
      });
  },
  z.array(zoneEntry).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((zone, i) => {
      if (seen.has(zone.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${zone.name} is listed twice` });
      seen.add(zone.name);
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
        /**
         * More zones routes may live under (issue 16), beside the single zone above (`zoneName`,
         * or the proof of concept's cloudflare.yaml `zone`), which stays one of them. Each is
         * checked at start (visible to the token, its plan read for its limits). From the
         * environment: a JSON array, or `a.com,b.com=<zone id>` (names, each with an optional id).
         */
        zones: zoneList.default([]),
        /** The zone a route lives under when it names none: `zoneName` when set, else the first of `zones`. */
        defaultZone: zoneNameSchema.optional(),
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
        admins: list.default([]),
        /**
         * First start (`serve` on a database with no enabled admin): this admin is created with
         * this password (or the password in `initialAdminPasswordFile`, e.g. a mounted Secret);
         * with neither, `bootstrapToken` makes a one-hour admin API token, printed once.
         */
        initialAdmin: z
          .string()
          .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ @ -')
          .default('admin'),
        initialAdminPassword: z.string().min(8, 'must be at least 8 characters').optional(),
        initialAdminPasswordFile: z.string().min(1).optional(),
        bootstrapToken: flag.default(true),
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
    /** How route hostnames may be chosen (`hostname` on a new route; see docs/operator-guide.md). */
    routes: z
      .object({
        /**
         * Labels no user may choose: exact names, or patterns with `*` (any run of characters).
         * The default keeps the names a zone's own services and mail use.
         */
        reservedHostnames: list.default(DEFAULT_RESERVED_HOSTNAMES),
        /** `owner`: a chosen label must start with the owner's name and `-` (`ada-app`, `platform-db`). */
        hostnamePrefix: z.enum(['none', 'owner']).default('none'),
      })
      .prefault({}),
    /** Cloudflare Access settings routes can use. */
    access: z
      .object({
        /** The Zero Trust team name (`<team>.cloudflareaccess.com`): needed for `originRequest.access` (the JWT check at the origin). */
        teamName: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be the team name of <team>.cloudflareaccess.com')
          .optional(),
        /** The id of the Access identity provider (an OIDC one) whose groups routes may name (`access.groups`). */
        identityProviderId: z.string().min(1).max(64).optional(),
        /** The OIDC claim that identity provider puts groups in. */
        groupsClaim: z.string().min(1).max(64).default('groups'),
      })
      .prefault({}),
    api: z
      .object({
        /** Memory for rendered tunnel views (JSON, config.yaml), kept per tunnel until its routes change; 0 turns it off. */
        responseCacheMiB: z.coerce.number().min(0).max(4096).default(32),
        /** Changes (POST, PUT, PATCH, DELETE) per user: a bucket of `mutationBurst` refilled at this rate (per replica); 0: no limit. */
        mutationsPerMinute: z.coerce.number().min(0).default(30),
        mutationBurst: z.coerce.number().int().min(1).default(30),
        /** How long a POST's `Idempotency-Key` and its answer are kept (per user). */
        idempotencyHours: z.coerce.number().min(1).max(720).default(24),
      })
      .prefault({}),
    /**
     * Who may sign in and how: passwords (Basic, users.json) and single sign-on with an OpenID
     * provider (see docs/operator-guide.md, "Single sign-on").
     */
    identity: z
      .object({
        /** false: Basic is refused (tokens and sessions still work); turn it off once SSO is in place. */
        passwordSignIn: flag.default(true),
        /** A new password (self-service or an admin's reset) revokes the user's API tokens. */
        passwordChangeRevokesTokens: flag.default(false),
        /** How long a browser session lasts. */
        sessionHours: z.coerce
          .number()
          .int()
          .min(1)
          .max(24 * 30)
          .default(12),
        /** The address browsers and the identity provider reach this server at (the redirect URI's base). */
        publicUrl: z.url().optional(),
        oidc: z
          .object({
            issuer: z.url(),
            clientId: z.string().min(1),
            clientSecret: z.string().min(1),
            scopes: list.default(['openid', 'email', 'profile', 'groups']),
            /** Which ID-token claims give the user name, email and groups. */
            claims: z
              .object({
                username: z.string().min(1).default('preferred_username'),
                email: z.string().min(1).default('email'),
                groups: z.string().min(1).default('groups'),
              })
              .prefault({}),
            /** Members of these groups are admins; others are users (the role follows the claim at each sign-in). */
            adminGroups: list.default([]),
            /** Groups named `<prefix><team>` make their members members of `<team>` (created if missing); empty: no team from groups. */
            teamGroupPrefix: z.string().default(''),
            /** Allowed clock difference when checking ID tokens. */
            clockToleranceSeconds: z.coerce.number().int().min(0).max(600).default(30),
          })
          .optional(),
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
        /**
         * Connector health: how often the tunnel listing is read (0: never), the share of the
         * Cloudflare call budget it may spend (the interval stretches to stay within it), how
         * old a confirmed state may get before it is written again, and after how long a tunnel
         * that never connected is reported.
         */
        healthSeconds: z.coerce.number().int().min(0).default(60),
        healthBudgetShare: z.coerce.number().min(0.001).max(1).default(0.05),
        healthConfirmSeconds: z.coerce.number().int().min(1).default(300),
        neverConnectedMinutes: z.coerce.number().int().min(1).default(10),
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
    /** Operator-configured webhooks (see docs/operator-guide.md, "Webhooks"). */
    webhooks: webhooks.default([]),
    /** Retries of webhook deliveries: exponential backoff with jitter, then the delivery is marked failed. */
    webhookDelivery: z
      .object({
        maxAttempts: z.coerce.number().int().min(1).max(100).default(8),
        backoffBaseSeconds: z.coerce.number().positive().default(5),
        backoffMaxSeconds: z.coerce.number().positive().default(3600),
        /** How often new events and due retries are looked for. */
        pollMs: z.coerce.number().int().min(10).default(1000),
      })
      .prefault({}),
    memory: z
      .object({
        /**
         * How often `serve` checks whether it is idle (no request and under 5 % busy over the
         * whole interval) with 8 MiB or more of unused heap memory, which a collection then
         * returns (0: never).
         */
        idleReleaseSeconds: z.coerce.number().int().min(0).max(3600).default(10),
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

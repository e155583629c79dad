/**
 * Start-up against things that may not be up yet: the database and Cloudflare. A transient
 * fault (unreachable, 429, 5xx, a database restarting) is retried with backoff and reported as
 * what it is; only a definite refusal (a rejected token, a missing zone) stops the start.
 *
 * What went wrong is a `Problem`: the key that causes it, what is wrong, and the fix. The steps
 * here (the token, the zone, the database, the kubeconfig) are the same for `serve` and for
 * `tunnelplane doctor`, which runs them once each without waiting: both say the same words.
 */
import { existsSync } from 'node:fs';
import { configuredZones, type ConfiguredZone, type ServerConfig } from '../config/index.js';
import type { Zone } from '../domain/zones.js';
import { ProviderError } from '../domain/errors.js';
import type { CloudflareApi, ZoneInfo } from '../providers/cloudflare/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import { isUnavailable } from '../store/index.js';

export interface StartupLogger {
  warn(obj: object, msg: string): void;
}

/** What is wrong, the configuration key that causes it, and how to fix it. */
export interface Problem {
  key: string;
  message: string;
  fix: string;
}

/** `key: message`, then the fix on its own line. */
export const describeProblem = (p: Problem) => `${p.key}: ${p.message}\n  fix: ${p.fix}`;

/** A start that cannot go on: a definite refusal, or a transient fault that lasted too long (`cause`). */
export class StartupError extends Error {
  readonly problem: Problem | null;
  /** Set when retrying gave up: how long it tried. */
  readonly waitedMs: number | null;
  constructor(what: string | Problem, opts: { cause?: unknown; waitedMs?: number } = {}) {
    super(typeof what === 'string' ? what : describeProblem(what), { cause: opts.cause });
    this.name = 'StartupError';
    this.problem = typeof what === 'string' ? null : what;
    this.waitedMs = opts.waitedMs ?? null;
  }
}

/**
 * Runs `fn` until it succeeds, retrying while `transient(err)` holds, at most `maxMs` in all
 * (backoff 0.5 s doubling to 15 s, never sooner than a Retry-After). Giving up throws a
 * StartupError whose `cause` is the last fault.
 */
export async function retryTransient<T>(
  what: string,
  fn: () => Promise<T>,
  opts: {
    transient: (err: unknown) => boolean;
    maxMs: number;
    logger: StartupLogger;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!opts.transient(err)) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= opts.maxMs) {
        throw new StartupError(
          `${what}: still failing after ${Math.round(elapsed / 1000)} s: ${(err as Error).message}`,
          { cause: err, waitedMs: elapsed },
        );
      }
      const hinted = err instanceof ProviderError ? (err.retryAfterMs ?? 0) : 0;
      const wait = Math.min(opts.maxMs - elapsed, Math.max(hinted, Math.min(15_000, 500 * 2 ** attempt)));
      opts.logger.warn(
        { err: (err as Error).message, attempt: attempt + 1, retryInMs: wait },
        `${what}: not reachable yet; retrying`,
      );
      await sleep(wait);
    }
  }
}

/** Cloudflare did not refuse anything: it was unreachable, rate limited, or failing. */
export const cloudflareTransient = (err: unknown) => err instanceof ProviderError && err.retryable;

export const databaseTransient = (err: unknown) => isUnavailable(err);

/** How a step calls out: `serve` retries transient faults (`retryTransient`), `doctor` calls once. */
export type Attempt = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

const TOKEN_FIX =
  'create an API token with Cloudflare Tunnel: Edit on the account and DNS: Edit on the zone ' +
  '(and Access: Apps and Policies / Service Tokens: Edit for protected routes; docs/operator-guide.md, ' +
  '"Running against Cloudflare") and set cloudflare.apiToken (or cloudflare.cert)';

/**
 * What a failed Cloudflare call means, with the key at fault: unreachable, timing out, 5xx or
 * 429 is "cannot reach Cloudflare" (retried at start first); 401/403 (and, on the token check,
 * 400: a malformed token) is the token refused; anything else is an answer Cloudflare's API
 * never gives there (`cloudflare.baseUrl` names something else).
 */
export function cloudflareProblem(
  err: unknown,
  baseUrl: string | undefined,
  step: 'verify' | 'zone' | 'read',
): Problem {
  const waited = err instanceof StartupError && err.waitedMs !== null ? err.waitedMs : null;
  const fault = waited !== null ? (err as StartupError).cause : err;
  const at = baseUrl ?? CLOUDFLARE_API;
  const text = fault instanceof Error ? fault.message : String(fault);
  const still = waited !== null ? ` (still failing after ${Math.round(waited / 1000)} s)` : '';
  const e = fault instanceof ProviderError ? fault : null;
  if (!e || e.retryable) {
    if (e?.kind === 'rate_limited')
      return {
        key: 'cloudflare.apiToken',
        message: `cannot reach Cloudflare at ${at}: it is rate limiting this token: ${text}${still}`,
        fix: "wait for Cloudflare's window to pass (up to 5 minutes) and stop whatever else spends this token's budget",
      };
    return {
      key: 'cloudflare.baseUrl',
      message: `cannot reach Cloudflare at ${at}: ${text}${still}`,
      fix:
        e?.status != null
          ? 'Cloudflare is failing: try again later (https://www.cloudflarestatus.com)'
          : baseUrl
            ? `check that ${at} is up and reachable from here, or remove cloudflare.baseUrl to use Cloudflare itself`
            : 'check that this host reaches api.cloudflare.com over HTTPS (DNS, proxy, firewall); raise cloudflare.timeoutMs on a slow link',
    };
  }
  if (e.kind === 'permission' || (step === 'verify' && e.status === 400)) {
    if (step === 'verify')
      return {
        key: 'cloudflare.apiToken',
        message: `Cloudflare rejected the API token: ${text}`,
        fix: TOKEN_FIX,
      };
    return {
      key: 'cloudflare.apiToken',
      message: `the API token may not ${step === 'zone' ? 'read the zone' : 'do this'}: ${text}`,
      fix: TOKEN_FIX,
    };
  }
  return {
    key: 'cloudflare.baseUrl',
    message: `${at} does not answer as Cloudflare's API does: ${text}`,
    fix: `cloudflare.baseUrl must be Cloudflare's API (${CLOUDFLARE_API}, the default: leave it unset) or an emulator's /client/v4 address`,
  };
}

/** The token verifies; else a StartupError with its Problem. */
export async function verifyCloudflareToken(
  probe: Pick<CloudflareApi, 'verifyToken'>,
  baseUrl: string | undefined,
  attempt: Attempt,
): Promise<void> {
  await attempt('Cloudflare (verifying the API token)', () => probe.verifyToken()).catch((err: unknown) => {
    throw new StartupError(cloudflareProblem(err, baseUrl, 'verify'), { cause: err });
  });
}

export interface ResolvedZone {
  zoneId: string;
  zoneName: string;
  accountId: string;
  /** Null when only a zone id was given (nothing was looked up) or Cloudflare did not say. */
  plan: ZoneInfo['plan'];
}

/** One configured zone by its name (its id must agree when given), and its account. */
async function resolveOne(
  probe: Pick<CloudflareApi, 'findZone'>,
  cf: ServerConfig['cloudflare'],
  entry: ConfiguredZone,
  attempt: Attempt,
): Promise<{ zoneId: string; zoneName: string; accountId: string | null; plan: ZoneInfo['plan'] }> {
  const nameKey = entry.key === 'cloudflare.zoneName' ? 'cloudflare.zoneName' : `${entry.key}.name`;
  const idKey = entry.key === 'cloudflare.zoneName' ? 'cloudflare.zoneId' : `${entry.key}.id`;
  const zoneName = entry.name;
  if (!zoneName)
    throw new StartupError({
      key: 'cloudflare.zoneName',
      message: 'required (the DNS zone routes live under)',
      fix: 'set cloudflare.zoneName to the apex name of the zone',
    });
  const zone = await attempt(`Cloudflare (finding zone ${zoneName})`, () => probe.findZone(zoneName)).catch(
    (err: unknown) => {
      throw new StartupError(cloudflareProblem(err, cf.baseUrl, 'zone'), { cause: err });
    },
  );
  if (!zone)
    throw new StartupError({
      key: nameKey,
      message: `Cloudflare has no zone named ${zoneName} visible to this token`,
      fix: 'give the apex name of a zone on the account (example.com, not www.example.com), and a token whose zone resources include it',
    });
  if (entry.id && zone.id !== entry.id)
    throw new StartupError({
      key: idKey,
      message: `zone ${zoneName} has id ${zone.id}, not the configured ${entry.id}`,
      fix: `correct ${idKey} or leave it out (it is found from the name)`,
    });
  return { zoneId: zone.id, zoneName, accountId: zone.accountId, plan: zone.plan };
}

export interface ResolvedZones {
  accountId: string;
  /** Every configured zone, in configuration order, each with its DNS batch limit. */
  zones: Zone[];
  defaultZone: string;
  /** Each zone's plan as read (for the batch-limit warning and doctor). */
  plans: Map<string, ZoneInfo['plan']>;
}

/**
 * Every configured zone (config/zones.ts), each checked: visible to the token, its id as
 * configured, its plan read for its DNS batch limit; all in one account (tunnels and Access
 * applications are the account's). The account comes from the configuration or the first zone.
 */
export async function resolveCloudflareZones(
  probe: Pick<CloudflareApi, 'findZone'>,
  cf: ServerConfig['cloudflare'],
  attempt: Attempt,
): Promise<ResolvedZones> {
  const configured = configuredZones(cf);
  if (configured.problems.length > 0)
    throw new StartupError({
      key: configured.problems[0]!.split(':')[0]!,
      message: configured.problems.join('; '),
      fix: 'list each zone once, and make cloudflare.defaultZone one of them',
    });
  if (configured.zones.length === 0)
    throw new StartupError({
      key: 'cloudflare.zoneName',
      message: 'required (the DNS zone routes live under)',
      fix: 'set cloudflare.zoneName to the apex name of the zone',
    });
  let accountId = cf.accountId;
  const zones: Zone[] = [];
  const plans = new Map<string, ZoneInfo['plan']>();
  for (const entry of configured.zones) {
    const z = await resolveOne(probe, cf, entry, attempt);
    if (accountId && z.accountId && z.accountId !== accountId)
      throw new StartupError({
        key: entry.key,
        message: `zone ${z.zoneName} belongs to account ${z.accountId}, not ${accountId}: tunnels and Access applications live in one account`,
        fix: 'configure only zones of one account (cloudflare.accountId)',
      });
    accountId ??= z.accountId ?? undefined;
    plans.set(z.zoneName, z.plan);
    zones.push({
      name: z.zoneName,
      id: z.zoneId,
      plan: z.plan?.name ?? null,
      dnsBatchLimit: z.plan ? Math.min(cf.dnsBatchLimit, batchLimitOf(z.plan)) : cf.dnsBatchLimit,
    });
  }
  if (!accountId)
    throw new StartupError({
      key: 'cloudflare.accountId',
      message:
        'the account is not known: the zone did not say, and neither the configuration nor a cert.pem gives it',
      fix: 'set cloudflare.accountId (the dashboard shows it on the overview page of the zone)',
    });
  return { accountId, zones, defaultZone: configured.defaultZone ?? zones[0]!.name, plans };
}

/** The first configured zone alone (the single zone of the proof of concept), as before issue 16. */
export async function resolveCloudflareZone(
  probe: Pick<CloudflareApi, 'findZone'>,
  cf: ServerConfig['cloudflare'],
  attempt: Attempt,
): Promise<ResolvedZone> {
  const { accountId, zones, defaultZone, plans } = await resolveCloudflareZones(probe, cf, attempt);
  const zone = zones.find((z) => z.name === defaultZone)!;
  return { zoneId: zone.id, zoneName: zone.name, accountId, plan: plans.get(zone.name) ?? null };
}

/** DNS batch operations per call a plan allows: 200 on Free, 3,500 on paid plans. */
export const batchLimitOf = (plan: NonNullable<ZoneInfo['plan']>) =>
  (plan.legacyId ?? (/free/i.test(plan.name) ? 'free' : 'paid')) === 'free' ? 200 : 3500;

/** `cloudflare.dnsBatchLimit` above what the zone's plan allows: every larger batch would be refused. */
export function dnsBatchProblem(
  plan: ZoneInfo['plan'],
  configured: number,
  zoneName?: string,
): Problem | null {
  if (!plan || configured <= batchLimitOf(plan)) return null;
  return {
    key: 'cloudflare.dnsBatchLimit',
    message: `the zone${zoneName ? ` ${zoneName}` : ''}'s plan (${plan.name}) allows ${batchLimitOf(plan)} operations per DNS batch, not ${configured}: larger batches are refused`,
    fix: `set cloudflare.dnsBatchLimit to ${batchLimitOf(plan)} or less`,
  };
}

/** A database URL without its password, for messages. */
export const redactUrl = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

/** What a database that cannot be opened means. */
export function databaseProblem(err: unknown, url: string): Problem {
  const waited = err instanceof StartupError && err.waitedMs !== null ? err.waitedMs : null;
  const fault = waited !== null ? (err as StartupError).cause : err;
  const text =
    fault instanceof Error ? fault.message || String((fault as { code?: unknown }).code) : String(fault);
  const postgres = /^postgres(ql)?:/.test(url);
  return {
    key: 'database.url',
    message: `cannot open the database ${redactUrl(url)}: ${text}${waited !== null ? ` (still failing after ${Math.round(waited / 1000)} s)` : ''}`,
    fix: postgres
      ? isUnavailable(fault)
        ? 'start PostgreSQL, or correct the host and port in database.url'
        : 'correct the user, password and database name in database.url'
      : 'database.url must name a file in a directory this process may write (sqlite:/var/lib/tunnelplane/db.sqlite)',
  };
}

/** The kubeconfig or the in-cluster service account, before the client reads it. */
export function kubeconfigProblem(k8s: ServerConfig['kubernetes']): Problem | null {
  if (k8s.kubeconfig) {
    if (!existsSync(k8s.kubeconfig))
      return {
        key: 'kubernetes.kubeconfig',
        message: `no such file ${k8s.kubeconfig}`,
        fix: 'give the path of a kubeconfig for the identity of the control plane, or leave kubernetes.kubeconfig out (no access pods for TCP routes)',
      };
    return null;
  }
  if (k8s.inCluster && !process.env.KUBERNETES_SERVICE_HOST)
    return {
      key: 'kubernetes.inCluster',
      message: 'not running in a cluster: KUBERNETES_SERVICE_HOST is not set',
      fix: 'run the server in a pod (deploy/), or give kubernetes.kubeconfig instead',
    };
  return null;
}

/** The Kubernetes adapter when a cluster is configured (loaded only then: the client is large). */
export async function loadKubernetes(k8s: ServerConfig['kubernetes']): Promise<KubernetesApi | null> {
  if (!k8s.kubeconfig && !k8s.inCluster) return null;
  const problem = kubeconfigProblem(k8s);
  if (problem) throw new StartupError(problem);
  const { createKubernetesApi } = await import('../providers/kubernetes/index.js');
  try {
    return createKubernetesApi({
      namespace: k8s.namespace,
      ...(k8s.kubeconfig ? { kubeconfigPath: k8s.kubeconfig } : {}),
    });
  } catch (err) {
    throw new StartupError(unreadableKubeconfig(k8s, err), { cause: err });
  }
}

/** A kubeconfig (or in-cluster files) the client could not read. */
export function unreadableKubeconfig(k8s: ServerConfig['kubernetes'], err: unknown): Problem {
  const text = err instanceof Error ? err.message : String(err);
  return k8s.kubeconfig
    ? {
        key: 'kubernetes.kubeconfig',
        message: `${k8s.kubeconfig} is not a kubeconfig the client can read: ${text}`,
        fix: 'check the file with `kubectl --kubeconfig FILE version`',
      }
    : {
        key: 'kubernetes.inCluster',
        message: `the pod's service account cannot be read: ${text}`,
        fix: 'mount the service account token (automountServiceAccountToken: true, deploy/base/deployment.yaml)',
      };
}

/**
 * The checks `tunnelplane doctor` runs: each part of a configuration tried as `serve` would
 * at start, once, without waiting and without changing anything outside (no migration, no
 * Cloudflare or cluster write, no secret key generated). The words are start-up's own
 * (startup.ts): what the server stops with is what the doctor says.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ServerConfig } from '../config/index.js';
import { ProviderError } from '../domain/errors.js';
import {
  createCloudflareApi,
  createRateLimiter,
  type CloudflareFamily,
} from '../providers/cloudflare/index.js';
import { createStore, openDatabase } from '../store/index.js';
import { createSecretBox } from '../domain/secret-box.js';
import { keyMismatch, keyOpensDatabase, secretKeyPath } from './secret-key.js';
import { publicUrlOf } from './server-config.js';
import {
  batchLimitOf,
  cloudflareProblem,
  databaseProblem,
  dnsBatchProblem,
  kubeconfigProblem,
  redactUrl,
  resolveCloudflareZones,
  StartupError,
  unreadableKubeconfig,
  verifyCloudflareToken,
  type Attempt,
  type Problem,
} from './startup.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
  /** On a warning or failure: the configuration key that causes it, and the fix. */
  key?: string;
  fix?: string;
}

const ok = (check: string, message: string): CheckResult => ({ check, status: 'ok', message });
const skip = (check: string, message: string): CheckResult => ({ check, status: 'skip', message });
const failed = (check: string, p: Problem, status: CheckStatus = 'fail'): CheckResult => ({
  check,
  status,
  message: p.message,
  key: p.key,
  fix: p.fix,
});

/** The doctor calls once: a fault is reported, never waited out. */
const once: Attempt = (_what, fn) => fn();

/** The Problem a start-up step threw, or rethrows what is not one. */
function problemOf(err: unknown): Problem {
  if (err instanceof StartupError && err.problem) return err.problem;
  throw err;
}

/** The key that seals tunnel secrets: given, in its file, or (SQLite) to be generated beside the database. */
export function checkSecretKey(config: ServerConfig): CheckResult[] {
  const check = 'secret key';
  if (config.secretKey) return [ok(check, 'given (secretKey)')];
  const postgres = /^postgres(ql)?:/.test(config.database.url);
  if (!config.secretKeyFile && postgres)
    return [
      failed(check, {
        key: 'secretKey',
        message: 'required with PostgreSQL: every replica must seal tunnel secrets with the same key',
        fix: 'set secretKey (openssl rand -base64 32) or secretKeyFile, the same for every replica',
      }),
    ];
  const file = secretKeyPath(config);
  const key = config.secretKeyFile ? 'secretKeyFile' : 'secretKey';
  if (!existsSync(file))
    return config.secretKeyFile
      ? [
          failed(check, {
            key,
            message: `no such file ${file}`,
            fix: 'give the file holding the key (32 bytes, base64), or set secretKey',
          }),
        ]
      : [ok(check, `none yet: serve generates ${file} at its first start (back it up with the database)`)];
  const bytes = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length;
  if (bytes !== 32)
    return [
      failed(check, {
        key,
        message: `${file} holds ${bytes} bytes, not 32`,
        fix: 'the key is 32 bytes, base64-encoded (openssl rand -base64 32); a different key cannot open existing secrets',
      }),
    ];
  return [ok(check, `read from ${file}`)];
}

/** The key as serve would read it, without generating one (null: none yet, or unreadable: checkSecretKey says why). */
function existingKey(config: ServerConfig): Buffer | null {
  if (config.secretKey) return Buffer.from(config.secretKey, 'base64');
  const file = secretKeyPath(config);
  if (!existsSync(file)) return null;
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  return key.length === 32 ? key : null;
}

/** The key opens what the database holds sealed (serve refuses to start otherwise). */
async function checkKeyOpens(
  config: ServerConfig,
  opened: ReturnType<typeof openDatabase>,
): Promise<CheckResult[]> {
  const check = 'secret key and database';
  const key = existingKey(config);
  if (!key) return [];
  const store = createStore(opened.db, opened.dialect);
  const opens = await keyOpensDatabase(createSecretBox(key), store);
  if (opens === null)
    return [ok(check, 'nothing sealed yet: serve seals a check value with this key at its first start')];
  return opens
    ? [ok(check, 'the key opens the secrets the database holds')]
    : [failed(check, keyMismatch().problem!)];
}

/** The nearest directory that exists above `path`. */
function existingParent(path: string): string {
  let dir = dirname(resolve(path));
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * The database opens and answers, without migrating it. Pending migrations are a warning:
 * `serve` applies them at start.
 */
export async function checkDatabase(config: ServerConfig): Promise<CheckResult[]> {
  const check = 'database';
  const url = config.database.url;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    const path = url.replace(/^sqlite:/, '');
    if (path === ':memory:') return [ok(check, 'SQLite in memory: nothing is kept when the server stops')];
    if (!existsSync(path)) {
      const parent = existingParent(path);
      const writable = (() => {
        try {
          accessSync(parent, constants.W_OK);
          return statSync(parent).isDirectory();
        } catch {
          return false;
        }
      })();
      if (!writable)
        return [
          failed(
            check,
            databaseProblem(new Error(`${parent} is not a directory this process may write`), url),
          ),
        ];
      return [ok(check, `${path} does not exist yet: serve creates it and applies every migration`)];
    }
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      return [failed(check, databaseProblem(err, url))];
    }
  }
  let opened: ReturnType<typeof openDatabase> | undefined;
  try {
    opened = openDatabase(url, { poolSize: 1 });
    const pending = await opened.pending();
    if (pending.length > 0)
      return [
        failed(
          check,
          {
            key: 'database.url',
            message: `${redactUrl(url)}: ${pending.length} migration(s) not applied yet (${pending.join(', ')})`,
            fix: 'serve applies them at start; or run tunnelplane migrate first (back up the database before an upgrade)',
          },
          'warn',
        ),
      ];
    return [ok(check, `${redactUrl(url)} answers and is migrated`), ...(await checkKeyOpens(config, opened))];
  } catch (err) {
    return [failed(check, databaseProblem(err, url))];
  } finally {
    await opened?.close().catch(() => {});
  }
}

/** Which permission each family needs, as the dashboard names it, and whether every route needs it. */
const FAMILIES: Record<CloudflareFamily, { noun: string; permission: string; always: boolean }> = {
  tunnels: { noun: 'tunnels', permission: 'Account: Cloudflare Tunnel: Edit', always: true },
  dns: { noun: 'DNS records', permission: 'Zone: DNS: Edit', always: true },
  accessApps: {
    noun: 'Access applications',
    permission: 'Account: Access: Apps and Policies: Edit',
    always: false,
  },
  serviceTokens: {
    noun: 'service tokens',
    permission: 'Account: Access: Service Tokens: Edit',
    always: false,
  },
};

/** Cloudflare: reachable, the token verifies, the zone is visible, its plan, what the token may read. */
export async function checkCloudflare(config: ServerConfig): Promise<CheckResult[]> {
  const cf = config.cloudflare;
  const out: CheckResult[] = [];
  const limiter = createRateLimiter({
    requests: cf.rateLimit.requests,
    windowSeconds: cf.rateLimit.windowSeconds,
    reservationTtlMs: 1000,
  });
  const api = (accountId: string) =>
    createCloudflareApi({
      apiToken: cf.apiToken!,
      ...(cf.baseUrl ? { baseUrl: cf.baseUrl } : {}),
      limiter,
      timeoutMs: cf.timeoutMs,
      accountId,
    });
  try {
    const probe = api(cf.accountId ?? '');
    const at = cf.baseUrl ?? 'https://api.cloudflare.com/client/v4';
    try {
      await verifyCloudflareToken(probe, cf.baseUrl, once);
      out.push(ok('Cloudflare API', `reachable at ${at}`), ok('Cloudflare token', 'the API token verifies'));
    } catch (err) {
      const p = problemOf(err);
      // A refused token is the token's fault; anything else (unreachable, 429, 5xx, not Cloudflare) the API's.
      const cause = err instanceof StartupError ? err.cause : err;
      const refused = p.key === 'cloudflare.apiToken' && cause instanceof ProviderError && !cause.retryable;
      if (!refused) {
        out.push(failed('Cloudflare API', p), skip('Cloudflare token', 'Cloudflare cannot be reached'));
      } else {
        out.push(ok('Cloudflare API', `reachable at ${at}`), failed('Cloudflare token', p));
      }
      out.push(skip('Cloudflare zone', 'the token did not verify'));
      return out;
    }
    let resolved;
    try {
      resolved = await resolveCloudflareZones(probe, cf, once);
    } catch (err) {
      out.push(failed('Cloudflare zone', problemOf(err)));
      return out;
    }
    // Each zone: visible (with its id and account), and its plan's limits.
    const several = resolved.zones.length > 1;
    for (const zone of resolved.zones) {
      const isDefault = several && zone.name === resolved.defaultZone ? ', the default' : '';
      out.push(
        ok('Cloudflare zone', `${zone.name} (zone ${zone.id}, account ${resolved.accountId}${isDefault})`),
      );
      const plan = resolved.plans.get(zone.name) ?? null;
      const of = several ? `${zone.name}: ` : '';
      const batch = dnsBatchProblem(plan, cf.dnsBatchLimit, several ? zone.name : undefined);
      if (batch) out.push(failed('Cloudflare plan', batch));
      else if (!plan)
        out.push(
          skip('Cloudflare plan', `${of}not read (the zone was given by id, or Cloudflare did not say)`),
        );
      else {
        const limit = batchLimitOf(plan);
        out.push(
          ok(
            'Cloudflare plan',
            `${of}${plan.name}: up to ${limit} operations per DNS batch; cloudflare.dnsBatchLimit is ${cf.dnsBatchLimit}${cf.dnsBatchLimit < limit ? ` (it may be raised to ${limit})` : ''}`,
          ),
        );
      }
    }
    const zoneNames = new Map(resolved.zones.map((z) => [z.id, z.name]));
    try {
      const reads = await api(resolved.accountId).readAccess(resolved.zones.map((z) => z.id));
      const refused = reads.filter((r) => r.refused);
      for (const r of refused) {
        const f = FAMILIES[r.family];
        const inZone = r.zoneId && several ? ` in zone ${zoneNames.get(r.zoneId)}` : '';
        out.push(
          failed(
            'Cloudflare permissions',
            {
              key: 'cloudflare.apiToken',
              message: `the API token may not read ${f.noun}${inZone}${f.always ? '' : ' (needed by protected routes: TCP, Access for people, IP allow-lists)'}: ${r.refused!.message}`,
              fix: `add ${f.permission} to the token (docs/operator-guide.md, "Running against Cloudflare")`,
            },
            f.always ? 'fail' : 'warn',
          ),
        );
      }
      if (refused.length === 0)
        out.push(
          ok(
            'Cloudflare permissions',
            'the token may read tunnels, DNS records, Access applications and service tokens (Edit is not checked: it would take a write)',
          ),
        );
    } catch (err) {
      out.push(failed('Cloudflare permissions', cloudflareProblem(err, cf.baseUrl, 'read')));
    }
    return out;
  } finally {
    limiter.close();
  }
}

/** Kubernetes, when configured: the kubeconfig, the API server, and every verb the adapter uses. */
export async function checkKubernetes(config: ServerConfig): Promise<CheckResult[]> {
  const k8s = config.kubernetes;
  if (!k8s.kubeconfig && !k8s.inCluster)
    return [skip('kubeconfig', 'no cluster configured: TCP routes get no access pods')];
  const identityKey = k8s.kubeconfig ? 'kubernetes.kubeconfig' : 'kubernetes.inCluster';
  const problem = kubeconfigProblem(k8s);
  if (problem) return [failed('kubeconfig', problem), skip('Kubernetes API', 'no kubeconfig')];
  const { createClusterProbe, REQUIRED_ACCESS } = await import('../providers/kubernetes/index.js');
  let probe;
  try {
    probe = createClusterProbe({
      namespace: k8s.namespace,
      ...(k8s.kubeconfig ? { kubeconfigPath: k8s.kubeconfig } : {}),
    });
  } catch (err) {
    return [failed('kubeconfig', unreadableKubeconfig(k8s, err)), skip('Kubernetes API', 'no kubeconfig')];
  }
  const out = [ok('kubeconfig', k8s.kubeconfig ? `${k8s.kubeconfig} reads` : 'in-cluster service account')];
  try {
    const version = await probe.version();
    out.push(ok('Kubernetes API', `${probe.server} answers (Kubernetes ${version})`));
  } catch (err) {
    out.push(
      failed('Kubernetes API', {
        key: identityKey,
        message: `cannot reach the API server at ${probe.server}: ${(err as Error).message}`,
        fix: 'check the server address in the kubeconfig and that this host reaches it',
      }),
      skip('Kubernetes access', 'the API server cannot be reached'),
    );
    return out;
  }
  const roleFix = `apply the Role and RoleBinding of deploy/base/rbac.yaml in ${k8s.namespace} (kubectl apply -n ${k8s.namespace} -f deploy/base/rbac.yaml), bound to this identity`;
  try {
    const verdicts = await probe.review(REQUIRED_ACCESS);
    const missing = verdicts.filter((v) => !v.allowed);
    for (const m of missing)
      out.push(
        failed('Kubernetes access', {
          key: identityKey,
          message: `may not ${m.verb} ${m.group ? `${m.resource}.${m.group}` : m.resource} in namespace ${k8s.namespace}`,
          fix: roleFix,
        }),
      );
    if (missing.length === 0)
      out.push(
        ok(
          'Kubernetes access',
          `may list, create, patch and delete deployments, services and secrets in namespace ${k8s.namespace}`,
        ),
      );
  } catch (err) {
    const refused = err instanceof ProviderError && err.status === 401;
    out.push(
      failed('Kubernetes access', {
        key: identityKey,
        message: refused
          ? `the API server refused the credentials: ${(err as Error).message}`
          : `cannot review access: ${(err as Error).message}`,
        fix: refused
          ? 'give a kubeconfig with a valid token for the control plane identity (kubectl create token)'
          : roleFix,
      }),
    );
  }
  return out;
}

/** The identity provider, when `identity.oidc` is set: discovery and the client credentials, as at start. */
export async function checkIdentityProvider(config: ServerConfig): Promise<CheckResult[]> {
  const o = config.identity.oidc;
  const check = 'identity provider';
  if (!o) return [skip(check, 'no identity.oidc: password sign-in only')];
  const { connectOidc, OidcConfigError } = await import('../identity/oidc-client.js');
  try {
    const client = await connectOidc({
      ...o,
      redirectUri: `${publicUrlOf(config, !!config.tls)}/auth/callback`,
    });
    return [ok(check, `${client.issuer} answers and accepts the client credentials`)];
  } catch (err) {
    if (!(err instanceof OidcConfigError)) throw err;
    return [
      failed(check, {
        key: err.key,
        message: err.message.slice(err.key.length + 2),
        fix:
          err.key === 'identity.oidc.issuer'
            ? "identity.oidc.issuer must be the provider's issuer exactly as its /.well-known/openid-configuration says, reachable from here"
            : 'check identity.oidc.clientId and identity.oidc.clientSecret against the client registered at the provider',
      }),
    ];
  }
}

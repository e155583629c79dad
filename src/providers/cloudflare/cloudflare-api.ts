/**
 * The Cloudflare adapter: the only code that imports the `cloudflare` SDK. It offers a few
 * narrow interfaces (tunnels, DNS, account) combined into one, paces every call through the
 * rate limiter, reports each call to the observer, and translates SDK errors into
 * `ProviderError` in one place. The SDK's own retries are off: the reconciler retries with
 * backoff, so a retry never hides a "maybe applied" outcome.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'cloudflare/error';
import { createClient } from 'cloudflare/tree-shakable';
// Only the resources we call: the bundled server (scripts/build.mjs) leaves the SDK's other ~1,100 out.
import { BaseTokens as AccountTokens } from 'cloudflare/resources/accounts/tokens/tokens';
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { BasePhases } from 'cloudflare/resources/rulesets/phases/phases';
import { BaseRules } from 'cloudflare/resources/rulesets/rules';
import { BaseTokens as UserTokens } from 'cloudflare/resources/user/tokens/tokens';
import { BaseApplications } from 'cloudflare/resources/zero-trust/access/applications/applications';
import { BasePolicies } from 'cloudflare/resources/zero-trust/access/applications/policies';
import { BaseServiceTokens } from 'cloudflare/resources/zero-trust/access/service-tokens';
import { BaseCloudflared } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/cloudflared';
import { BaseConfigurations } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/configurations';
import { BaseConnections } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/connections';
import { BaseZones } from 'cloudflare/resources/zones/zones';
import { ProviderError } from '../../domain/errors.js';
import type { IngressRule } from '../../domain/cloudflared-files.js';
import type { AccessPolicySpec, AccessRuleItem } from '../../domain/access-policies.js';
import type { RateLimiter } from './rate-limiter.js';

export interface CloudflareTunnelInfo {
  id: string;
  name: string;
  status: string;
}

export interface DnsRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  comment: string | null;
}

export interface CnameInput {
  name: string;
  content: string;
  comment: string;
}

export interface TunnelsApi {
  createTunnel(
    name: string,
    secret: Buffer,
    configSrc: 'local' | 'cloudflare',
  ): Promise<CloudflareTunnelInfo>;
  /** The live (not deleted) tunnel with exactly this name, or null. */
  findTunnel(name: string): Promise<CloudflareTunnelInfo | null>;
  /** Every live tunnel whose name starts with `prefix`. */
  listTunnels(prefix: string): Promise<CloudflareTunnelInfo[]>;
  /** Deletes a tunnel; an unknown or already deleted tunnel counts as done. */
  deleteTunnel(id: string): Promise<void>;
  cleanConnections(id: string): Promise<void>;
  putConfiguration(id: string, ingress: IngressRule[]): Promise<{ version: number }>;
  getConfiguration(id: string): Promise<{ version: number; ingress: IngressRule[] } | null>;
}

export interface DnsApi {
  /** One all-or-nothing batch; returns the created records in the order of `posts`. */
  batch(ops: {
    deletes?: string[];
    patches?: (CnameInput & { id: string })[];
    posts?: CnameInput[];
  }): Promise<{
    posts: DnsRecord[];
  }>;
  /**
   * Every record whose comment starts with `commentPrefix`, one listing page at a time (`perPage` records, default 5,000), so a caller
   * holds one page, not the zone (each page is a fresh array the caller may consume). Pages are
   * offset-based: writes to the zone while paging may shift a record across a page boundary
   * (missed or seen twice), so callers collect what they would delete and act after the listing.
   */
  pagesByComment(commentPrefix: string, perPage?: number): AsyncGenerator<DnsRecord[], void, undefined>;
  /** Every record at exactly this name (any owner). */
  listByName(name: string): Promise<DnsRecord[]>;
}

export interface AccountApi {
  verifyToken(): Promise<void>;
  /** The zone id and plan of a zone name. */
  findZone(name: string): Promise<{ id: string; name: string; accountId: string | null } | null>;
}

export interface ServiceToken {
  id: string;
  name: string;
  clientId: string;
  /** Only from create and rotate. */
  clientSecret: string | null;
  /** Cloudflare's `expires_at` (null: never). */
  expiresAt: string | null;
}

export interface AccessApp {
  id: string;
  name: string;
  domain: string;
  aud: string;
  /** The application's policies as Cloudflare holds them, in precedence order. */
  policies: AccessPolicySpec[];
}

export interface AccessApi {
  /** A token valid for a year (Cloudflare's default duration); renewed with refresh. */
  createServiceToken(name: string): Promise<ServiceToken>;
  rotateServiceToken(id: string): Promise<ServiceToken>;
  /** Extends the token's expiry by its duration from now (the secret stays). */
  refreshServiceToken(id: string): Promise<ServiceToken>;
  listServiceTokens(namePrefix: string): Promise<ServiceToken[]>;
  /** The token with this id, or null when Cloudflare has none. */
  getServiceToken(id: string): Promise<ServiceToken | null>;
  deleteServiceToken(id: string): Promise<void>;
  /** A self-hosted application with its own (app-scoped) policies, created in the same call. */
  createAccessApp(name: string, domain: string, policies: readonly AccessPolicySpec[]): Promise<AccessApp>;
  /** Replaces the application (PUT): its policies become exactly these. */
  updateAccessApp(
    id: string,
    name: string,
    domain: string,
    policies: readonly AccessPolicySpec[],
  ): Promise<AccessApp>;
  listAccessApps(namePrefix: string): Promise<AccessApp[]>;
  /** The application with this id, or null when Cloudflare has none. */
  getAccessApp(id: string): Promise<AccessApp | null>;
  deleteAccessApp(id: string): Promise<void>;
}

export interface FirewallRule {
  id?: string;
  ref: string;
  description: string;
  expression: string;
  action: 'block';
}

/**
 * The zone's `http_request_firewall_custom` phase, read and pruned only: installations from
 * before per-route Access kept allow-lists there, and only their own rules (by `ref`) are
 * removed once every allow-list is in Access.
 */
export interface FirewallApi {
  getFirewallEntrypoint(): Promise<{ id: string; rules: FirewallRule[] } | null>;
  deleteFirewallRule(rulesetId: string, ruleId: string): Promise<void>;
}

export type CloudflareApi = TunnelsApi & DnsApi & AccountApi & AccessApi & FirewallApi;

export interface CloudflareCallObserver {
  call?(endpoint: string, status: number | 'error', ms: number): void;
  rateLimitWait?(ms: number): void;
  rateLimited?(retryAfterMs: number): void;
}

export interface CloudflareApiOptions {
  apiToken: string;
  baseUrl?: string;
  accountId: string;
  zoneId: string;
  limiter: RateLimiter;
  /** Per-call timeout; a hung call counts as a transient failure. */
  timeoutMs?: number;
  observer?: CloudflareCallObserver;
  /** Retry-After beyond this is capped (a real 429 may ask for 300 s). */
  maxRetryAfterMs?: number;
}

/** DNS records per listing page: few calls for a large zone, one page held at a time. */
const DNS_PAGE = 5000;

const ID_SEGMENT = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** `POST /accounts/:id/cfd_tunnel` style names for metrics: ids folded so the label set stays small. */
export function endpointLabel(method: string, url: string): string {
  const path = new URL(url).pathname.replace(/^.*\/client\/v4/, '');
  const segments = path.split('/').map((s) => (ID_SEGMENT.test(s) ? ':id' : s));
  return `${method.toUpperCase()} ${segments.join('/')}`;
}

function parseRetryAfter(headers: Headers | undefined, cap: number): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.min(cap, Number(ms));
  const s = headers.get('retry-after');
  if (!s) return null;
  if (Number.isFinite(Number(s))) return Math.min(cap, Number(s) * 1000);
  const date = Date.parse(s);
  return Number.isFinite(date) ? Math.min(cap, Math.max(0, date - Date.now())) : null;
}

/** Turns whatever the SDK threw into a ProviderError, once. */
export function translateError(err: unknown, what: string, maxRetryAfterMs = 60_000): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIConnectionTimeoutError || err instanceof APIConnectionError) {
    return new ProviderError({
      provider: 'cloudflare',
      kind: 'transient',
      message: `${what}: ${err.message}`,
      cause: err,
    });
  }
  if (err instanceof APIError) {
    const status = err.status ?? null;
    const first = (err.errors as Array<{ code?: number; message?: string }> | undefined)?.[0];
    const code = first?.code ?? null;
    const text = first?.message ?? err.message;
    const message = `${what}: Cloudflare answered ${status ?? 'no status'}${code !== null ? ` (${code})` : ''}: ${text}`;
    let kind: ProviderError['kind'];
    if (status === 429) kind = 'rate_limited';
    else if (status === 404 || code === 81044) kind = 'not_found';
    else if (status === 409 || code === 81053 || code === 81054 || code === 81057 || code === 1013)
      kind = 'conflict';
    else if (status === 401 || status === 403) kind = 'permission';
    else if (status === null || status === 408 || status >= 500) kind = 'transient';
    else kind = 'invalid';
    return new ProviderError({
      provider: 'cloudflare',
      kind,
      message,
      status,
      providerCode: code,
      retryAfterMs: parseRetryAfter(err.headers as Headers | undefined, maxRetryAfterMs),
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError({
    provider: 'cloudflare',
    kind: 'transient',
    message: `${what}: ${message}`,
    cause: err,
  });
}

interface RawTunnel {
  id?: string;
  name?: string;
  status?: string;
  deleted_at?: string | null;
}

interface RawRecord {
  id?: string;
  name?: string;
  type?: string;
  content?: string;
  proxied?: boolean;
  comment?: string | null;
}

const toTunnel = (t: RawTunnel): CloudflareTunnelInfo => ({
  id: t.id ?? '',
  name: t.name ?? '',
  status: t.status ?? '',
});
const toRecord = (r: RawRecord): DnsRecord => ({
  id: r.id ?? '',
  name: r.name ?? '',
  type: r.type ?? '',
  content: r.content ?? '',
  proxied: r.proxied ?? false,
  comment: r.comment ?? null,
});

/** What a GET of a missing object answers: null. */
async function orNull<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof APIError && err.status === 404) return null;
    throw err;
  }
}

/** Deleting what is already gone is done. */
async function ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof APIError && err.status === 404) return;
    throw err;
  }
}

/** Every item of a paginated list whose name starts with `prefix`. */
async function collectNamed<T extends { name: string }>(
  items: AsyncIterable<unknown>,
  map: (raw: unknown) => T,
  prefix: string,
): Promise<T[]> {
  const out: T[] = [];
  for await (const raw of items) {
    const item = map(raw);
    if (item.name.startsWith(prefix)) out.push(item);
  }
  return out;
}

function toServiceToken(raw: unknown): ServiceToken {
  const t = raw as {
    id?: string;
    name?: string;
    client_id?: string;
    client_secret?: string;
    expires_at?: string | null;
  };
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    clientId: t.client_id ?? '',
    clientSecret: t.client_secret ?? null,
    expiresAt: t.expires_at ?? null,
  };
}

interface RawPolicy {
  name?: string;
  decision?: string;
  include?: unknown[];
  require?: unknown[];
  precedence?: number;
}

function toAccessApp(raw: unknown): AccessApp {
  const a = raw as { id?: string; name?: string; domain?: string; aud?: string; policies?: RawPolicy[] };
  const policies = [...(a.policies ?? [])]
    .sort((x, y) => (x.precedence ?? 0) - (y.precedence ?? 0))
    .map((p) => ({
      name: p.name ?? '',
      decision: (p.decision ?? '') as AccessPolicySpec['decision'],
      include: (p.include ?? []) as AccessRuleItem[],
      ...(p.require?.length ? { require: p.require as AccessRuleItem[] } : {}),
    }));
  return { id: a.id ?? '', name: a.name ?? '', domain: a.domain ?? '', aud: a.aud ?? '', policies };
}

/** Inline, app-scoped policies in precedence order (Cloudflare creates them with the app). */
const inlinePolicies = (policies: readonly AccessPolicySpec[]) =>
  policies.map((p, i) => ({
    name: p.name,
    decision: p.decision,
    include: p.include,
    ...(p.require ? { require: p.require } : {}),
    precedence: i + 1,
  }));

export function createCloudflareApi(opts: CloudflareApiOptions): CloudflareApi {
  const { accountId, zoneId, limiter, observer } = opts;
  // A real 429 blocks the token for the rest of Cloudflare's 5-minute window.
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;

  // Every SDK request passes here: paced, timed, counted.
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const pacedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const waited = await limiter.acquire(init?.signal ?? undefined);
    if (waited > 0) observer?.rateLimitWait?.(waited);
    // The call's own timeout starts now, after any wait for the limiter (the SDK's started before).
    const timeout = AbortSignal.timeout(timeoutMs);
    init = { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout };
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const endpoint = endpointLabel(init?.method ?? 'GET', url);
    const started = performance.now();
    try {
      const res = await fetch(input, init);
      observer?.call?.(endpoint, res.status, performance.now() - started);
      if (res.status === 429) {
        const wait = parseRetryAfter(res.headers, maxRetryAfterMs) ?? 1000;
        limiter.pause(wait);
        observer?.rateLimited?.(wait);
      }
      return res;
    } catch (err) {
      observer?.call?.(endpoint, 'error', performance.now() - started);
      throw err;
    }
  };

  const sdk = createClient({
    resources: [
      AccountTokens,
      BaseRecords,
      BasePhases,
      BaseRules,
      UserTokens,
      BaseApplications,
      BasePolicies,
      BaseServiceTokens,
      BaseCloudflared,
      BaseConfigurations,
      BaseConnections,
      BaseZones,
    ],
    apiToken: opts.apiToken,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: opts.baseUrl,
    maxRetries: 0,
    // Our fetch enforces the per-call timeout after the rate-limit wait; this one only backs it up.
    timeout: 3_600_000,
    fetch: pacedFetch as typeof fetch,
  });

  async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateError(err, what, maxRetryAfterMs);
    }
  }

  const tunnels = sdk.zeroTrust.tunnels.cloudflared;

  /** One page of our DNS records, mapped: the SDK's page (raw objects, whole body) is dropped here. */
  async function recordsPage(
    commentPrefix: string,
    page: number,
    perPage: number,
  ): Promise<{ records: DnsRecord[]; last: boolean }> {
    const res = await guard(`list DNS records (page ${page})`, () =>
      sdk.dns.records.list({
        zone_id: zoneId,
        comment: { startswith: commentPrefix },
        per_page: perPage,
        page,
      }),
    );
    const records = (res.result as RawRecord[]).map(toRecord);
    const info = res.result_info as
      { per_page?: number; total_count?: number; total_pages?: number } | undefined;
    // The SDK's own iteration asks for one page past the last; the counts save that call.
    const last =
      records.length === 0 ||
      (info?.total_pages !== undefined && page >= info.total_pages) ||
      (info?.total_count !== undefined && page * (info.per_page ?? perPage) >= info.total_count);
    return { records, last };
  }

  async function* pagesByComment(
    commentPrefix: string,
    perPage = DNS_PAGE,
  ): AsyncGenerator<DnsRecord[], void, undefined> {
    for (let page = 1; ; page++) {
      // Only the mapped records live across the yield, never the SDK's page.
      const { records, last } = await recordsPage(commentPrefix, page, perPage);
      if (records.length > 0) yield records;
      if (last) return;
    }
  }

  return {
    createTunnel: (name, secret, configSrc) =>
      guard(`create tunnel ${name}`, async () =>
        toTunnel(
          (await tunnels.create({
            account_id: accountId,
            name,
            config_src: configSrc,
            tunnel_secret: secret.toString('base64'),
          })) as RawTunnel,
        ),
      ),

    findTunnel: (name) =>
      guard(`find tunnel ${name}`, async () => {
        const page = await tunnels.list({ account_id: accountId, name, is_deleted: false, per_page: 50 });
        const match = (page.result as RawTunnel[]).find((t) => t.name === name && !t.deleted_at);
        return match ? toTunnel(match) : null;
      }),

    listTunnels: (prefix) =>
      guard('list tunnels', async () => {
        const out: CloudflareTunnelInfo[] = [];
        for await (const t of tunnels.list({
          account_id: accountId,
          include_prefix: prefix,
          is_deleted: false,
          per_page: 1000,
        })) {
          const raw = t as RawTunnel;
          if (raw.name?.startsWith(prefix) && !raw.deleted_at) out.push(toTunnel(raw));
        }
        return out;
      }),

    deleteTunnel: (id) =>
      guard(`delete tunnel ${id}`, async () => {
        await ignoreNotFound(() => tunnels.delete(id, { account_id: accountId }));
      }),

    cleanConnections: (id) =>
      guard(`clean connections of tunnel ${id}`, async () => {
        await ignoreNotFound(() => tunnels.connections.delete(id, { account_id: accountId }));
      }),

    putConfiguration: (id, ingress) =>
      guard(`configure tunnel ${id}`, async () => {
        const res = await tunnels.configurations.update(id, {
          account_id: accountId,
          // The SDK's type wants a hostname on every rule; the catch-all has none (cloudflared omits it).
          config: { ingress: ingress as Array<{ hostname: string; service: string }> },
        });
        return { version: Number((res as { version?: number }).version ?? 0) };
      }),

    getConfiguration: (id) =>
      guard(`read configuration of tunnel ${id}`, async () => {
        try {
          const res = (await tunnels.configurations.get(id, { account_id: accountId })) as {
            version?: number;
            config?: { ingress?: IngressRule[] } | null;
          };
          return { version: Number(res.version ?? 0), ingress: res.config?.ingress ?? [] };
        } catch (err) {
          if (err instanceof APIError && err.status === 404) return null;
          throw err;
        }
      }),

    batch: (ops) =>
      guard('DNS batch', async () => {
        const res = await sdk.dns.records.batch({
          zone_id: zoneId,
          ...(ops.deletes?.length ? { deletes: ops.deletes.map((id) => ({ id })) } : {}),
          ...(ops.patches?.length
            ? {
                patches: ops.patches.map((p) => ({
                  id: p.id,
                  type: 'CNAME' as const,
                  name: p.name,
                  content: p.content,
                  proxied: true,
                  ttl: 1 as const,
                  comment: p.comment,
                })),
              }
            : {}),
          ...(ops.posts?.length
            ? {
                posts: ops.posts.map((p) => ({
                  type: 'CNAME' as const,
                  name: p.name,
                  content: p.content,
                  proxied: true,
                  ttl: 1 as const,
                  comment: p.comment,
                })),
              }
            : {}),
        });
        return { posts: ((res as { posts?: RawRecord[] }).posts ?? []).map(toRecord) };
      }),

    pagesByComment,

    listByName: (name) =>
      guard(`look up DNS name ${name}`, async () => {
        const page = await sdk.dns.records.list({ zone_id: zoneId, name: { exact: name }, per_page: 100 });
        return (page.result as RawRecord[]).map(toRecord);
      }),

    createServiceToken: (name) =>
      guard(`create service token ${name}`, async () =>
        toServiceToken(
          await sdk.zeroTrust.access.serviceTokens.create({ account_id: accountId, name, duration: '8760h' }),
        ),
      ),

    rotateServiceToken: (id) =>
      guard(`rotate service token ${id}`, async () =>
        toServiceToken(await sdk.zeroTrust.access.serviceTokens.rotate(id, { account_id: accountId })),
      ),

    refreshServiceToken: (id) =>
      guard(`refresh service token ${id}`, async () =>
        toServiceToken(await sdk.zeroTrust.access.serviceTokens.refresh(id, { account_id: accountId })),
      ),

    listServiceTokens: (namePrefix) =>
      guard('list service tokens', () =>
        collectNamed(
          sdk.zeroTrust.access.serviceTokens.list({ account_id: accountId }),
          toServiceToken,
          namePrefix,
        ),
      ),

    getServiceToken: (id) =>
      guard(`read service token ${id}`, async () => {
        const t = await orNull(() => sdk.zeroTrust.access.serviceTokens.get(id, { account_id: accountId }));
        return t ? toServiceToken(t) : null;
      }),

    deleteServiceToken: (id) =>
      guard(`delete service token ${id}`, async () => {
        await ignoreNotFound(() => sdk.zeroTrust.access.serviceTokens.delete(id, { account_id: accountId }));
      }),

    createAccessApp: (name, domain, policies) =>
      guard(`create Access application for ${domain}`, async () =>
        toAccessApp(
          await sdk.zeroTrust.access.applications.create({
            account_id: accountId,
            type: 'self_hosted',
            name,
            domain,
            session_duration: '24h',
            app_launcher_visible: false,
            policies: inlinePolicies(policies),
          } as unknown as Parameters<typeof sdk.zeroTrust.access.applications.create>[0]),
        ),
      ),

    updateAccessApp: (id, name, domain, policies) =>
      guard(`update Access application for ${domain}`, async () =>
        toAccessApp(
          await sdk.zeroTrust.access.applications.update(id, {
            account_id: accountId,
            type: 'self_hosted',
            name,
            domain,
            session_duration: '24h',
            app_launcher_visible: false,
            policies: inlinePolicies(policies),
          } as unknown as Parameters<typeof sdk.zeroTrust.access.applications.update>[1]),
        ),
      ),

    listAccessApps: (namePrefix) =>
      guard('list Access applications', () =>
        collectNamed(
          sdk.zeroTrust.access.applications.list({ account_id: accountId }),
          toAccessApp,
          namePrefix,
        ),
      ),

    getAccessApp: (id) =>
      guard(`read Access application ${id}`, async () => {
        const a = await orNull(() => sdk.zeroTrust.access.applications.get(id, { account_id: accountId }));
        return a ? toAccessApp(a) : null;
      }),

    deleteAccessApp: (id) =>
      guard(`delete Access application ${id}`, async () => {
        await ignoreNotFound(() => sdk.zeroTrust.access.applications.delete(id, { account_id: accountId }));
      }),

    getFirewallEntrypoint: () =>
      guard('read the custom firewall rules', async () => {
        try {
          const res = (await sdk.rulesets.phases.get('http_request_firewall_custom', {
            zone_id: zoneId,
          })) as {
            id?: string;
            rules?: Array<{
              id?: string;
              ref?: string;
              description?: string;
              expression?: string;
              action?: string;
            }>;
          };
          return {
            id: res.id ?? '',
            rules: (res.rules ?? []).map((r) => ({
              id: r.id ?? '',
              ref: r.ref ?? '',
              description: r.description ?? '',
              expression: r.expression ?? '',
              action: 'block' as const,
            })),
          };
        } catch (err) {
          if (err instanceof APIError && err.status === 404) return null;
          throw err;
        }
      }),

    deleteFirewallRule: (rulesetId, ruleId) =>
      guard(`delete firewall rule ${ruleId}`, async () => {
        await ignoreNotFound(() =>
          sdk.rulesets.rules.delete(ruleId, { zone_id: zoneId, ruleset_id: rulesetId }),
        );
      }),

    verifyToken: () =>
      guard('verify API token', async () => {
        try {
          await sdk.user.tokens.verify();
        } catch (err) {
          // Account-owned tokens are verified under the account instead.
          if (err instanceof APIError && (err.status === 401 || err.status === 403 || err.status === 400)) {
            await sdk.accounts.tokens.verify({ account_id: accountId });
            return;
          }
          throw err;
        }
      }),

    findZone: (name) =>
      guard(`find zone ${name}`, async () => {
        const page = await sdk.zones.list({ name });
        const zone = page.result.find((z) => z.name === name);
        return zone ? { id: zone.id, name: zone.name, accountId: zone.account?.id ?? null } : null;
      }),
  };
}

/**
 * Cloudflare Access objects of the account: service tokens (what TCP routes present) and
 * self-hosted applications, each created with its own app-scoped policies in the same call so a
 * route's protection is one object. Both are ours by name (our marker): listings keep only names
 * under the prefix, a missing one reads as null and deleting it counts as done.
 */
import type { AccessAppSettings, AccessPolicySpec, AccessRuleItem } from '../../domain/access-policies.js';
import { DEFAULT_SESSION_DURATION } from '../../domain/model.js';
import { ignoreNotFound, orNull } from './errors.js';
import type { CloudflareClient } from './sdk-client.js';

export interface ServiceToken {
  id: string;
  name: string;
  clientId: string;
  /** Only from create and rotate. */
  clientSecret: string | null;
  /** Cloudflare's `expires_at` (null: never). */
  expiresAt: string | null;
  /** When Cloudflare made it (null if it did not say). */
  createdAt: string | null;
}

export interface AccessApp {
  id: string;
  name: string;
  domain: string;
  aud: string;
  /** The application's policies as Cloudflare holds them, in precedence order. */
  policies: AccessPolicySpec[];
  /** How long its sessions last (Cloudflare's `session_duration`, `24h` when it did not say). */
  sessionDuration: string;
  /** When Cloudflare made it (null if it did not say). */
  createdAt: string | null;
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
  createAccessApp(
    name: string,
    domain: string,
    policies: readonly AccessPolicySpec[],
    settings: AccessAppSettings,
  ): Promise<AccessApp>;
  /** Replaces the application (PUT): its policies and settings become exactly these. */
  updateAccessApp(
    id: string,
    name: string,
    domain: string,
    policies: readonly AccessPolicySpec[],
    settings: AccessAppSettings,
  ): Promise<AccessApp>;
  listAccessApps(namePrefix: string): Promise<AccessApp[]>;
  /** The application with this id, or null when Cloudflare has none. */
  getAccessApp(id: string): Promise<AccessApp | null>;
  deleteAccessApp(id: string): Promise<void>;
}

function toServiceToken(raw: unknown): ServiceToken {
  const t = raw as {
    id?: string;
    name?: string;
    client_id?: string;
    client_secret?: string;
    expires_at?: string | null;
    created_at?: string | null;
  };
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    clientId: t.client_id ?? '',
    clientSecret: t.client_secret ?? null,
    expiresAt: t.expires_at ?? null,
    createdAt: t.created_at ?? null,
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
  const a = raw as {
    id?: string;
    name?: string;
    domain?: string;
    aud?: string;
    policies?: RawPolicy[];
    session_duration?: string;
    created_at?: string | null;
  };
  const policies = [...(a.policies ?? [])]
    .sort((x, y) => (x.precedence ?? 0) - (y.precedence ?? 0))
    .map((p) => ({
      name: p.name ?? '',
      decision: (p.decision ?? '') as AccessPolicySpec['decision'],
      include: (p.include ?? []) as AccessRuleItem[],
      ...(p.require?.length ? { require: p.require as AccessRuleItem[] } : {}),
    }));
  const createdAt = a.created_at ?? null;
  return {
    id: a.id ?? '',
    name: a.name ?? '',
    domain: a.domain ?? '',
    aud: a.aud ?? '',
    policies,
    sessionDuration: a.session_duration ?? DEFAULT_SESSION_DURATION,
    createdAt,
  };
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

/** The SDK calls an account-level Access object kind shares. */
interface AccountObjects {
  list(params: { account_id: string }): AsyncIterable<unknown>;
  get(id: string, params: { account_id: string }): Promise<unknown>;
  delete(id: string, params: { account_id: string }): Promise<unknown>;
}

/** Listing, reading and deleting one kind of our Access objects (`noun`, in messages). */
function ownedByName<T extends { name: string }>(
  { accountId, guard }: CloudflareClient,
  noun: string,
  objects: AccountObjects,
  map: (raw: unknown) => T,
) {
  return {
    list: (namePrefix: string) =>
      guard(`list ${noun}s`, async () => {
        const out: T[] = [];
        for await (const raw of objects.list({ account_id: accountId })) {
          const item = map(raw);
          if (item.name.startsWith(namePrefix)) out.push(item);
        }
        return out;
      }),
    get: (id: string) =>
      guard(`read ${noun} ${id}`, async () => {
        const raw = await orNull(() => objects.get(id, { account_id: accountId }));
        return raw ? map(raw) : null;
      }),
    delete: (id: string) =>
      guard(`delete ${noun} ${id}`, () =>
        ignoreNotFound(() => objects.delete(id, { account_id: accountId })),
      ),
  };
}

export function createAccessApi(client: CloudflareClient): AccessApi {
  const { sdk, accountId, guard } = client;
  const { serviceTokens, applications } = sdk.zeroTrust.access;
  const tokens = ownedByName(client, 'service token', serviceTokens, toServiceToken);
  const apps = ownedByName(client, 'Access application', applications, toAccessApp);
  const appBody = (
    name: string,
    domain: string,
    policies: readonly AccessPolicySpec[],
    settings: AccessAppSettings,
  ) => ({
    account_id: accountId,
    type: 'self_hosted',
    name,
    domain,
    session_duration: settings.sessionDuration,
    app_launcher_visible: false,
    policies: inlinePolicies(policies),
  });

  return {
    createServiceToken: (name) =>
      guard(`create service token ${name}`, async () =>
        toServiceToken(await serviceTokens.create({ account_id: accountId, name, duration: '8760h' })),
      ),
    rotateServiceToken: (id) =>
      guard(`rotate service token ${id}`, async () =>
        toServiceToken(await serviceTokens.rotate(id, { account_id: accountId })),
      ),
    refreshServiceToken: (id) =>
      guard(`refresh service token ${id}`, async () =>
        toServiceToken(await serviceTokens.refresh(id, { account_id: accountId })),
      ),
    listServiceTokens: tokens.list,
    getServiceToken: tokens.get,
    deleteServiceToken: tokens.delete,

    createAccessApp: (name, domain, policies, settings) =>
      guard(`create Access application for ${domain}`, async () =>
        toAccessApp(
          await applications.create(
            appBody(name, domain, policies, settings) as unknown as Parameters<typeof applications.create>[0],
          ),
        ),
      ),
    updateAccessApp: (id, name, domain, policies, settings) =>
      guard(`update Access application for ${domain}`, async () =>
        toAccessApp(
          await applications.update(
            id,
            appBody(name, domain, policies, settings) as unknown as Parameters<typeof applications.update>[1],
          ),
        ),
      ),
    listAccessApps: apps.list,
    getAccessApp: apps.get,
    deleteAccessApp: apps.delete,
  };
}

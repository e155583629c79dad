// A certified OpenID Provider (oidc-provider 8) on loopback, for `tunnelplane dev` and tests:
// code flow with PKCE S256, the device authorization grant, static clients, demo accounts
// whose groups ride in the ID token. Fresh signing key, cookie keys and storage at every
// start; nothing persists and nothing leaves the machine. Not for production.
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Provider, { type Grant, type ProviderContext } from 'oidc-provider';
import { demoAccounts, scopeClaims, toProviderAccount, type LocalAccount } from './accounts.js';
import { createInteractionHandler } from './interactions.js';
import { createMemoryAdapter } from './memory-adapter.js';
import * as pages from './pages.js';

export { demoAccounts, type LocalAccount } from './accounts.js';

/** A relying party registered at start. It may authenticate with client_secret_basic or _post. */
export interface LocalClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

/** Where the provider's own messages go (failed token requests at info, internal errors at warn). */
export interface LocalProviderLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface LocalProviderOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default `demoAccounts`. */
  accounts?: LocalAccount[];
  clients: LocalClient[];
  /** ID token (and access token) lifetime; default 3600. */
  idTokenTtlSeconds?: number;
  /** `interval` advertised in device authorization responses; default 5 (RFC 8628). Tests lower it. */
  deviceIntervalSeconds?: number;
  logger?: LocalProviderLogger;
}

export interface LocalProvider {
  /** `http://<host>:<port>`, no trailing slash; discovery under `/.well-known/openid-configuration`. */
  issuer: string;
  accounts: LocalAccount[];
  close(): Promise<void>;
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DAY = 24 * 60 * 60;

function check(opts: LocalProviderOptions): void {
  const problems: string[] = [];
  if (opts.clients.length === 0) problems.push('clients: at least one client is needed');
  const ids = opts.clients.map((c) => c.clientId);
  if (new Set(ids).size !== ids.length) problems.push('clients: client ids must be unique');
  const names = (opts.accounts ?? demoAccounts).map((a) => a.username);
  if (new Set(names).size !== names.length) problems.push('accounts: usernames must be unique');
  const ttl = opts.idTokenTtlSeconds;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0))
    problems.push('idTokenTtlSeconds: a positive integer');
  const interval = opts.deviceIntervalSeconds;
  if (interval !== undefined && !(interval > 0)) problems.push('deviceIntervalSeconds: a positive number');
  if (problems.length) throw new TypeError(`local identity provider: ${problems.join('; ')}`);
}

async function signingKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/**
 * Consent for first-party clients: the grant always holds what the request asks for, so the
 * consent prompt never fires. Extends the session's grant when a later request asks for more.
 */
async function grantWhatIsAsked(ctx: ProviderContext): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const clientId = oidc.client?.clientId;
  const accountId = oidc.account?.accountId;
  if (!clientId || !accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) grant = new oidc.provider.Grant({ accountId, clientId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

function configuration(
  opts: LocalProviderOptions,
  accounts: LocalAccount[],
  jwk: Record<string, unknown>,
): Record<string, unknown> {
  const tokenTtl = opts.idTokenTtlSeconds ?? 3600;
  return {
    adapter: createMemoryAdapter(),
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      grant_types: ['authorization_code', DEVICE_CODE_GRANT],
      response_types: ['code'],
      // Either secret method is accepted for a client registered with one of them.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    // The relying parties are servers; no browser calls the provider cross-origin.
    clientBasedCORS: () => false,
    claims: Object.fromEntries(Object.entries(scopeClaims).map(([scope, claims]) => [scope, [...claims]])),
    scopes: Object.keys(scopeClaims),
    // The relying party maps groups from the ID token, so scope claims go into it too.
    conformIdTokenClaims: false,
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Browsers share cookies across the ports of 127.0.0.1: names that no relying party uses.
      names: { session: 'tp_idp_session', interaction: 'tp_idp_interaction', resume: 'tp_idp_resume' },
      // Lax rather than the default None: browsers drop SameSite=None cookies that are not Secure.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: pages.userCodeInputSource,
        userCodeConfirmSource: pages.userCodeConfirmSource,
        successSource: pages.deviceSuccessSource,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: pages.logoutSource,
        postLogoutSuccessSource: pages.postLogoutSuccessSource,
      },
      resourceIndicators: { enabled: false },
      userinfo: { enabled: true },
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = accounts.find((a) => a.username === sub);
      return account ? toProviderAccount(account) : undefined;
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    jwks: { keys: [jwk] },
    loadExistingGrant: grantWhatIsAsked,
    pkce: { methods: ['S256'], required: () => true },
    renderError: pages.renderError,
    responseTypes: ['code'],
    // Every TTL given, so oidc-provider has no default to warn about.
    ttl: {
      AccessToken: tokenTtl,
      AuthorizationCode: 60,
      BackchannelAuthenticationRequest: 600,
      ClientCredentials: 600,
      DeviceCode: 600,
      Grant: DAY,
      IdToken: tokenTtl,
      Interaction: 3600,
      RefreshToken: DAY,
      Session: DAY,
    },
  };
}

/** Errors oidc-provider reports to the client; logged at info, since tests provoke them. */
const CLIENT_ERROR_EVENTS = [
  'authorization.error',
  'grant.error',
  'device_authorization.error',
  'code_verification.error',
  'device_resume.error',
  'end_session.error',
  'userinfo.error',
];

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { error?: unknown; error_description?: unknown; message?: unknown };
    if (typeof e.error === 'string')
      return `${e.error}${typeof e.error_description === 'string' ? `: ${e.error_description}` : ''}`;
    if (typeof e.message === 'string') return e.message;
  }
  return String(err);
}

/** Starts the provider and resolves once it listens. */
export async function startLocalProvider(opts: LocalProviderOptions): Promise<LocalProvider> {
  check(opts);
  const accounts = opts.accounts ?? demoAccounts;
  const log = opts.logger;
  const jwk = await signingKey();

  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const close = (): Promise<void> => {
    if (server.listening) {
      server.close();
      // Keep-alive connections (undici keeps them open) would otherwise hold close() open.
      server.closeAllConnections();
    }
    return closed;
  };

  try {
    const { address, port } = server.address() as AddressInfo;
    const issuer = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    const provider = new Provider(issuer, configuration(opts, accounts, jwk));

    const warn = (err: unknown) => log?.warn(`local identity provider: ${describe(err)}`);
    provider.app.on('error', warn);
    provider.on('server_error', (_ctx, err) => warn(err));
    for (const event of CLIENT_ERROR_EVENTS) {
      provider.on(event, (_ctx, err) => log?.info(`local identity provider: ${event}: ${describe(err)}`));
    }

    const interval = opts.deviceIntervalSeconds ?? 5;
    provider.use(async (ctx, next) => {
      await next();
      // oidc-provider leaves `interval` out of device authorization responses (clients then wait 5 s).
      const body = ctx.body as Record<string, unknown> | null;
      if (
        ctx.oidc?.route === 'device_authorization' &&
        ctx.status === 200 &&
        body &&
        typeof body === 'object'
      ) {
        body.interval = interval;
      }
    });

    const oidc = provider.callback();
    const interactions = createInteractionHandler(provider, accounts, warn);
    handle = (req, res) => {
      if (req.url?.startsWith('/interaction/')) void interactions(req, res);
      else oidc(req, res);
    };
    return { issuer, accounts, close };
  } catch (err) {
    await close();
    throw err;
  }
}

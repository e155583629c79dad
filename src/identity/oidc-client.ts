/**
 * The relying party: Tunnelplane as a client of the operator's OpenID provider, through
 * openid-client (discovery, JWKS, state, nonce, PKCE, ID-token checks with clock tolerance).
 * At start `connectOidc` discovers the provider and proves the client credentials (a token
 * request with a code nobody issued: a provider authenticates the client before it looks at the
 * code), so that a wrong issuer, an unreachable provider or a bad secret is reported at once,
 * with the key at fault. Plain HTTP is allowed only for a loopback issuer (the local provider).
 */
import * as oidc from 'openid-client';
import { AppError } from '../domain/errors.js';
import { identityFromClaims, type ClaimSettings, type SsoIdentity } from './claims.js';

export interface OidcSettings extends ClaimSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  clockToleranceSeconds: number;
  /** Where the provider sends the browser back: `<publicUrl>/auth/callback`. */
  redirectUri: string;
  timeoutMs?: number;
}

/** A configuration error naming the key at fault (start-up reports it as such). */
export class OidcConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'OidcConfigError';
  }
}

export interface CodeStart {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

export interface DeviceStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  interval: number;
  expiresIn: number;
}

export type DevicePoll =
  | { status: 'done'; identity: SsoIdentity }
  | { status: 'pending'; interval: number }
  | { status: 'over'; reason: string };

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

const failed = (reason: string, err?: unknown) =>
  new AppError('sso.failed', `Single sign-on failed: ${reason}. Sign in again.`, { reason }, err);

const unavailable = (err: unknown) =>
  new AppError(
    'sso.unavailable',
    'The identity provider cannot be reached right now; try again shortly.',
    { retryAfterSeconds: 5 },
    err,
  );

/** What a provider's error says, for messages (never a secret: error codes and descriptions only). */
function reasonOf(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError)
    return err.error_description ? `${err.error}: ${err.error_description}` : err.error;
  if (err instanceof oidc.AuthorizationResponseError) return err.error;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A network failure (not an answer the provider gave). */
const isUnreachable = (err: unknown) =>
  err instanceof TypeError ||
  (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) ||
  (err instanceof Error && /fetch failed|ECONNREFUSED|ENOTFOUND|timed out/i.test(err.message));

export async function connectOidc(s: OidcSettings) {
  const issuerUrl = new URL(s.issuer);
  const insecure = issuerUrl.protocol === 'http:';
  if (insecure && !isLoopback(issuerUrl))
    throw new OidcConfigError(
      'identity.oidc.issuer',
      `must be https:// (plain http only on loopback), got ${s.issuer}`,
    );
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(
      issuerUrl,
      s.clientId,
      { client_secret: s.clientSecret, [oidc.clockTolerance]: s.clockToleranceSeconds },
      oidc.ClientSecretBasic(s.clientSecret),
      {
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
        timeout: (s.timeoutMs ?? 10_000) / 1000,
      },
    );
  } catch (err) {
    if (isUnreachable(err))
      throw new OidcConfigError('identity.oidc.issuer', `cannot reach ${s.issuer} (${reasonOf(err)})`);
    throw new OidcConfigError(
      'identity.oidc.issuer',
      `${s.issuer} is not an OpenID provider this server can use (${reasonOf(err)}); the issuer must be exactly what its discovery document says`,
    );
  }
  // ID tokens' signatures checked against the provider's JWKS, not only their claims.
  oidc.enableNonRepudiationChecks(config);
  const meta = config.serverMetadata();
  const scope = s.scopes.join(' ');

  // The client credentials, proven: a code nobody issued is `invalid_grant` for a known client.
  try {
    await oidc.genericGrantRequest(config, 'authorization_code', {
      code: 'tunnelplane-start-check',
      redirect_uri: s.redirectUri,
    });
  } catch (err) {
    if (isUnreachable(err))
      throw new OidcConfigError(
        'identity.oidc.issuer',
        `the token endpoint of ${s.issuer} cannot be reached (${reasonOf(err)})`,
      );
    // A refused client is a 401 (with a WWW-Authenticate challenge) or an `invalid_client` body.
    const code =
      err instanceof oidc.ResponseBodyError
        ? err.error
        : err instanceof oidc.WWWAuthenticateChallengeError && err.status === 401
          ? 'invalid_client'
          : null;
    if (code === 'invalid_client' || code === 'unauthorized_client')
      throw new OidcConfigError(
        'identity.oidc.clientSecret',
        `the provider refused the client credentials (${code}): check identity.oidc.clientId and identity.oidc.clientSecret`,
      );
  }

  const identity = (claims: Record<string, unknown> | undefined) => {
    if (!claims) throw failed('the provider gave no ID token');
    return identityFromClaims(claims, s);
  };

  return {
    issuer: meta.issuer,
    deviceFlow: !!meta.device_authorization_endpoint,

    /** The authorization URL (code + PKCE S256, state, nonce) and what the callback must check. */
    async startCode(): Promise<CodeStart> {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: s.redirectUri,
        scope,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.href, state, nonce, verifier };
    },

    /** The callback: the code exchanged, the ID token checked (signature, iss, aud, exp, nonce). */
    async finishCode(
      callbackUrl: URL,
      flow: { state: string; nonce: string; verifier: string },
    ): Promise<SsoIdentity> {
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        if (isUnreachable(err)) throw unavailable(err);
        throw failed(reasonOf(err), err);
      }
      return identity(tokens.claims());
    },

    async startDevice(): Promise<DeviceStart> {
      if (!meta.device_authorization_endpoint)
        throw new AppError(
          'sso.not_configured',
          'The identity provider does not offer device sign-in; use the browser.',
        );
      let r;
      try {
        r = await oidc.initiateDeviceAuthorization(config, { scope });
      } catch (err) {
        if (isUnreachable(err)) throw unavailable(err);
        throw failed(reasonOf(err), err);
      }
      return {
        deviceCode: r.device_code,
        userCode: r.user_code,
        verificationUri: r.verification_uri,
        verificationUriComplete: r.verification_uri_complete ?? null,
        interval: r.interval ?? 5,
        expiresIn: r.expires_in,
      };
    },

    /** One token request for a device code (the caller polls at the interval). */
    async pollDevice(deviceCode: string, interval: number): Promise<DevicePoll> {
      let tokens;
      try {
        tokens = await oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', {
          device_code: deviceCode,
        });
      } catch (err) {
        if (isUnreachable(err)) throw unavailable(err);
        const code = err instanceof oidc.ResponseBodyError ? err.error : null;
        if (code === 'authorization_pending') return { status: 'pending', interval };
        if (code === 'slow_down') return { status: 'pending', interval: interval + 5 };
        if (code === 'expired_token' || code === 'access_denied' || code === 'invalid_grant')
          return { status: 'over', reason: code };
        throw failed(reasonOf(err), err);
      }
      // Outside the try: its own refusal (no ID token) is not wrapped a second time.
      return { status: 'done', identity: identity(tokens.claims()) };
    },
  };
}

export type OidcClient = Awaited<ReturnType<typeof connectOidc>>;

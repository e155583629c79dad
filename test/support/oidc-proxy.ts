/**
 * A "provider front" for attacks on the relying party's ID-token checks: an HTTP server that
 * is the issuer Tunnelplane is configured with, in front of the real local provider
 * (oidc-provider). It serves its own discovery document and JWKS (a test key pair made here)
 * and forwards the rest to the provider:
 *
 * - `GET /auth` → the browser is redirected to the provider's authorization endpoint, with the
 *   redirect URI swapped for the front's `/cb` (registered at the provider as the client's);
 * - `GET /cb` → the provider's answer, sent on to the relying party's own redirect URI with the
 *   RFC 9207 `iss` parameter made the front's (the provider puts its own issuer there, and
 *   openid-client compares it with the configured one); `callbackIss` changes that per test;
 * - `POST /token`, `POST /device/auth` → forwarded (the code's redirect URI swapped likewise);
 *   in a token response the provider's ID token is decoded, its `iss` set to the front's, and
 *   `rewriteIdToken` makes the token actually sent (by default: re-signed with the front's key,
 *   which makes it a valid ID token of this issuer). Tests change claims, re-sign with another
 *   key, `alg: none`, or alter a signed token (tamper).
 *
 * Only node:crypto: RS256 and HS256 by hand, so any header or signature can be forged.
 */
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwtHeader = Record<string, unknown>;
export type JwtClaims = Record<string, unknown>;

/** An RSA key pair, its key id, and its public JWK (what a JWKS lists). */
export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export function newTestKey(kid: string = randomUUID()): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
  };
}

const b64u = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const fromB64u = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));

/** JWS compact serialization by hand: any header, any claims, any signature. */
export const jws = {
  /** The two first segments, `<header>.<claims>`: what a signature covers. */
  signingInput: (header: JwtHeader, claims: JwtClaims) =>
    `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`,
  /** `alg` RS256 (set in the header if absent) with `key`. */
  rs256(header: JwtHeader, claims: JwtClaims, key: KeyObject): string {
    const input = jws.signingInput({ alg: 'RS256', ...header }, claims);
    return `${input}.${b64u(sign('sha256', Buffer.from(input), key))}`;
  },
  /** `alg` HS256 (set in the header if absent) keyed with `secret`. */
  hs256(header: JwtHeader, claims: JwtClaims, secret: string | Buffer): string {
    const input = jws.signingInput({ alg: 'HS256', ...header }, claims);
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  },
  /** An unsecured JWS (`alg: none`, empty signature). */
  none: (claims: JwtClaims, header: JwtHeader = {}) =>
    `${jws.signingInput({ alg: 'none', typ: 'JWT', ...header }, claims)}.`,
  decode(token: string): { header: JwtHeader; claims: JwtClaims } {
    const [header = '', claims = ''] = token.split('.');
    return { header: fromB64u(header), claims: fromB64u(claims) };
  },
  /** The same token with its claims segment replaced, signature kept (a tampered token). */
  withClaims(token: string, claims: JwtClaims): string {
    const [header, , signature] = token.split('.');
    return `${header}.${b64u(JSON.stringify(claims))}.${signature}`;
  },
};

/** What `rewriteIdToken` works from. */
export interface IdTokenForge {
  /** The provider's ID token as it came. */
  original: string;
  /** Its claims, `iss` already set to the front's issuer. */
  claims: JwtClaims;
  /** The front's key (the one its JWKS lists). */
  key: TestKey;
  /** A valid-looking signature with `key` (default the front's): RS256, `kid` the key's. */
  sign(claims: JwtClaims, key?: TestKey, header?: JwtHeader): string;
  /** Which token endpoint grant this is for (`authorization_code`, the device code grant). */
  grantType: string;
}

/** The ID token to send instead; null: the token response goes without one. */
export type IdTokenRewrite = (forge: IdTokenForge) => string | null;

/** One ID token the front handed out: the provider's claims and the token sent instead. */
export interface Forged {
  grantType: string;
  upstreamClaims: JwtClaims;
  /** null: none was sent. */
  sent: string | null;
}

export interface OidcFront {
  /** `http://127.0.0.1:<port>`: configure the relying party with this. */
  issuer: string;
  /** The redirect URI to register at the real provider for the client. */
  redirectUri: string;
  key: TestKey;
  /** Per test; `reset()` restores the default (re-sign, valid). */
  rewriteIdToken: IdTokenRewrite;
  /** The `iss` put on the way back to the relying party; default the front's issuer. */
  callbackIss: (upstreamIss: string | null) => string | null;
  /** Every ID token sent, in order. */
  forged: Forged[];
  /** Points the front at the real provider (its discovery is read now). */
  connect(upstreamIssuer: string): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Response headers passed through from the provider's token and device endpoints. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'dpop-nonce'];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export async function startOidcFront(): Promise<OidcFront> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const redirectUri = `${issuer}/cb`;
  const key = newTestKey();
  const defaultRewrite: IdTokenRewrite = (f) => f.sign(f.claims);
  const defaultIss = () => issuer;

  let upstream: { issuer: string; meta: Record<string, unknown> } | undefined;
  /** The relying party's redirect URI per authorization request (keyed by its state). */
  const returnTo = new Map<string, string>();

  const front: OidcFront = {
    issuer,
    redirectUri,
    key,
    rewriteIdToken: defaultRewrite,
    callbackIss: defaultIss,
    forged: [],
    async connect(upstreamIssuer) {
      const res = await fetch(`${upstreamIssuer}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`provider front: no discovery at ${upstreamIssuer} (${res.status})`);
      upstream = { issuer: upstreamIssuer, meta: (await res.json()) as Record<string, unknown> };
    },
    reset() {
      front.rewriteIdToken = defaultRewrite;
      front.callbackIss = defaultIss;
    },
    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  const endpoint = (name: string) => {
    const value = upstream?.meta[name];
    if (typeof value !== 'string') throw new Error(`provider front: the provider has no ${name}`);
    return value;
  };

  function discovery() {
    const meta: Record<string, unknown> = { ...upstream!.meta };
    // Only what the relying party uses; the provider's other endpoints would name its own issuer.
    for (const k of [
      'introspection_endpoint',
      'revocation_endpoint',
      'pushed_authorization_request_endpoint',
    ])
      delete meta[k];
    return {
      ...meta,
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      device_authorization_endpoint: `${issuer}/device/auth`,
      jwks_uri: `${issuer}/jwks`,
      id_token_signing_alg_values_supported: ['RS256'],
      // `/cb` puts the front's issuer in `iss`, as a provider that says so must.
      authorization_response_iss_parameter_supported: true,
    };
  }

  /** The provider's answer forwarded, its ID token (if any) rewritten. */
  async function forward(res: ServerResponse, target: string, req: IncomingMessage, body: string) {
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'accept', 'dpop']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const answer = await fetch(target, { method: 'POST', headers, body, redirect: 'manual' });
    const out: Record<string, string> = {};
    for (const h of PASSED_HEADERS) {
      const v = answer.headers.get(h);
      if (v) out[h] = v;
    }
    let text = await answer.text();
    const grantType = new URLSearchParams(body).get('grant_type') ?? '';
    if (answer.status === 200 && grantType) {
      const json = JSON.parse(text) as Record<string, unknown>;
      if (typeof json.id_token === 'string') {
        const original = json.id_token;
        const upstreamClaims = jws.decode(original).claims;
        const forge: IdTokenForge = {
          original,
          claims: { ...upstreamClaims, iss: issuer },
          key,
          grantType,
          sign: (claims, with_ = key, header = {}) =>
            jws.rs256({ typ: 'JWT', kid: with_.kid, ...header }, claims, with_.privateKey),
        };
        const sent = front.rewriteIdToken(forge);
        if (sent === null) delete json.id_token;
        else json.id_token = sent;
        front.forged.push({ grantType, upstreamClaims, sent });
        text = JSON.stringify(json);
      }
    }
    res.writeHead(answer.status, out);
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', issuer);
    if (!upstream) return send(res, 503, { error: 'temporarily_unavailable' });
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration')
      return send(res, 200, discovery(), { 'cache-control': 'max-age=0' });
    if (req.method === 'GET' && url.pathname === '/jwks')
      return send(res, 200, { keys: [key.publicJwk] }, { 'content-type': 'application/jwk-set+json' });
    if (req.method === 'GET' && url.pathname === '/auth') {
      const rp = url.searchParams.get('redirect_uri');
      const state = url.searchParams.get('state');
      if (!rp || !state) return send(res, 400, { error: 'invalid_request' });
      returnTo.set(state, rp);
      const target = new URL(endpoint('authorization_endpoint'));
      target.search = url.search;
      target.searchParams.set('redirect_uri', redirectUri);
      res.writeHead(302, { location: target.href }).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/cb') {
      const state = url.searchParams.get('state') ?? '';
      const rp = returnTo.get(state);
      if (!rp) return send(res, 400, { error: 'invalid_request', error_description: 'unknown state' });
      returnTo.delete(state);
      const back = new URL(rp);
      back.search = url.search;
      const iss = front.callbackIss(url.searchParams.get('iss'));
      if (iss === null) back.searchParams.delete('iss');
      else back.searchParams.set('iss', iss);
      res.writeHead(303, { location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const params = new URLSearchParams(await readBody(req));
      // The code was issued for the front's redirect URI; the relying party sends its own.
      if (params.get('grant_type') === 'authorization_code' && params.has('redirect_uri'))
        params.set('redirect_uri', redirectUri);
      return forward(res, endpoint('token_endpoint'), req, params.toString());
    }
    if (req.method === 'POST' && url.pathname === '/device/auth')
      return forward(res, endpoint('device_authorization_endpoint'), req, await readBody(req));
    return send(res, 404, { error: 'not_found' });
  }

  return front;
}

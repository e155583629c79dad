/**
 * The local identity provider driven as Tunnelplane's relying party drives it: openid-client 6
 * for discovery, the code flow with PKCE and the device grant, and the test browser for the
 * person in front of the provider's pages.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  demoAccounts,
  startLocalProvider,
  type LocalProvider,
} from '../src/identity/provider/local-provider.js';
import {
  approveDevice,
  CookieJar,
  parseForms,
  signInAtProvider,
  TestBrowser,
} from './support/oidc-browser.js';

const CLIENT_ID = 'tunnelplane';
const SECRET = 'local-test-secret';
const REDIRECT_URI = 'http://127.0.0.1:9/oidc/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1:9/';
const SCOPE = 'openid email profile groups';
const [ada, bob] = demoAccounts as [(typeof demoAccounts)[0], (typeof demoAccounts)[0]];

let idp: LocalProvider;
let config: client.Configuration;
const logged: string[] = [];
const consoleSpies = (['log', 'info', 'warn', 'error'] as const).map((m) => vi.spyOn(console, m));

beforeAll(async () => {
  idp = await startLocalProvider({
    clients: [
      {
        clientId: CLIENT_ID,
        clientSecret: SECRET,
        redirectUris: [REDIRECT_URI],
        postLogoutRedirectUris: [POST_LOGOUT_URI],
      },
    ],
    deviceIntervalSeconds: 0.05,
    logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m) },
  });
  config = await discover(SECRET);
});
afterAll(async () => idp?.close());

function discover(secret: string, auth?: client.ClientAuth): Promise<client.Configuration> {
  return client.discovery(new URL(idp.issuer), CLIENT_ID, secret, auth, {
    execute: [client.allowInsecureRequests],
  });
}

/** An authorization request as the relying party builds it, with the checks it keeps. */
async function authorizationRequest(cfg = config) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
  });
  return { url: url.href, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
}

/** Signs `account` in through a fresh browser and returns the callback URL with the code. */
async function callbackFor(account: { username: string; password: string }, cfg = config) {
  const request = await authorizationRequest(cfg);
  const page = await signInAtProvider(new TestBrowser(), request.url, account, { stopAt: REDIRECT_URI });
  expect(page.redirectTo, page.body).toBeDefined();
  return { callback: new URL(page.redirectTo!), checks: request.checks };
}

describe('local identity provider', () => {
  it('serves discovery for the code and device flows with the groups scope', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(meta.scopes_supported).toEqual(['openid', 'email', 'profile', 'groups']);
    expect(meta.claims_supported).toEqual(
      expect.arrayContaining(['email', 'email_verified', 'name', 'preferred_username', 'groups']),
    );
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(meta.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:device_code');
    expect(meta.device_authorization_endpoint).toBe(`${idp.issuer}/device/auth`);
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('signs ada in with the code flow; the ID token carries her email, name and groups', async () => {
    const browser = new TestBrowser();
    const request = await authorizationRequest();
    const page = await signInAtProvider(browser, request.url, ada, { stopAt: REDIRECT_URI });
    expect(browser.history.some((u) => u.startsWith(`${idp.issuer}/interaction/`))).toBe(true);
    expect(page.redirectTo).toMatch(/[?&]code=/);

    const tokens = await client.authorizationCodeGrant(config, new URL(page.redirectTo!), request.checks);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: CLIENT_ID,
      sub: 'ada',
      email: 'ada@example.test',
      email_verified: true,
      name: 'Ada Lovelace',
      preferred_username: 'ada',
      groups: ['tunnelplane-admins', 'team-platform'],
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(tokens.refresh_token).toBeUndefined();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'ada');
    expect(userinfo).toMatchObject({ sub: 'ada', groups: ['tunnelplane-admins', 'team-platform'] });

    // The provider session remains: a second sign-in in the same browser shows no form.
    const again = await authorizationRequest();
    const second = await signInAtProvider(
      browser,
      again.url,
      { username: 'ada', password: 'not asked' },
      { stopAt: REDIRECT_URI },
    );
    expect(second.redirectTo).toMatch(/[?&]code=/);
    const sub = (
      await client.authorizationCodeGrant(config, new URL(second.redirectTo!), again.checks)
    ).claims()?.sub;
    expect(sub).toBe('ada');
  });

  it('accepts client_secret_post as well as client_secret_basic', async () => {
    const postConfig = await discover(SECRET, client.ClientSecretPost(SECRET));
    const { callback, checks } = await callbackFor(bob, postConfig);
    const tokens = await client.authorizationCodeGrant(postConfig, callback, checks);
    expect(tokens.claims()).toMatchObject({ sub: 'bob', groups: ['team-platform'] });
  });

  it('shows the form again with an error on a wrong password, and issues no code', async () => {
    const browser = new TestBrowser();
    const request = await authorizationRequest();
    const page = await signInAtProvider(
      browser,
      request.url,
      { username: 'ada', password: 'wrong' },
      { stopAt: REDIRECT_URI },
    );
    expect(page.redirectTo).toBeUndefined();
    expect(page.status).toBe(200);
    expect(page.body).toContain('Wrong username or password');
    expect(page.forms[0]?.names).toEqual(['username', 'password']);
    expect(page.forms[0]?.fields.username).toBe('ada');
    expect(browser.history.some((u) => u.startsWith(REDIRECT_URI))).toBe(false);

    // The same form then signs in with the right password.
    const retry = await browser.submit(page, { password: ada.password }, 0, { stopAt: REDIRECT_URI });
    expect(retry.redirectTo).toMatch(/[?&]code=/);
  });

  it('refuses an authorization request without PKCE', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: SCOPE,
      state: 's',
    });
    const page = await new TestBrowser().get(url.href, { stopAt: REDIRECT_URI });
    const params = new URL(page.redirectTo!).searchParams;
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);
  });

  it('fails at the token endpoint with invalid_client when the secret is wrong', async () => {
    const wrong = await discover('not-the-secret');
    const { callback, checks } = await callbackFor(ada, wrong);
    await expect(client.authorizationCodeGrant(wrong, callback, checks)).rejects.toMatchObject({
      error: 'invalid_client',
      status: 401,
    });
    expect(logged.some((l) => l.includes('grant.error') && l.includes('invalid_client'))).toBe(true);
  });

  it('signs bob in on a device: the user approves in a browser while the device polls', async () => {
    const device = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    expect(device.verification_uri).toBe(`${idp.issuer}/device`);
    expect(device.verification_uri_complete).toBe(
      `${idp.issuer}/device?user_code=${encodeURIComponent(device.user_code)}`,
    );
    expect(device.interval).toBe(0.05);

    const polling = client.pollDeviceAuthorizationGrant(config, device);
    const page = await approveDevice(device.verification_uri_complete!, bob);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Device signed in');

    const tokens = await polling;
    expect(tokens.claims()).toMatchObject({
      sub: 'bob',
      email: 'bob@example.test',
      groups: ['team-platform'],
    });
  });

  it('does not approve a device with a wrong password', async () => {
    const device = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    const page = await approveDevice(device.verification_uri_complete!, { username: 'cy', password: 'nope' });
    expect(page.body).toContain('Wrong username or password');
  });

  it('signs out through the end-session endpoint and back to the registered URI', async () => {
    const browser = new TestBrowser();
    const request = await authorizationRequest();
    const signedIn = await signInAtProvider(browser, request.url, ada, { stopAt: REDIRECT_URI });
    const tokens = await client.authorizationCodeGrant(config, new URL(signedIn.redirectTo!), request.checks);
    expect(browser.cookie(idp.issuer, 'tp_idp_session')).toBeDefined();

    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: POST_LOGOUT_URI,
    });
    const confirm = await browser.get(endSession.href, { stopAt: POST_LOGOUT_URI });
    const done = await browser.submit(confirm, { logout: 'yes' }, 0, { stopAt: POST_LOGOUT_URI });
    expect(done.redirectTo).toBe(POST_LOGOUT_URI);
    expect(browser.cookie(idp.issuer, 'tp_idp_session')).toBeUndefined();
  });

  it('closes at once even with keep-alive connections open', async () => {
    const other = await startLocalProvider({
      clients: [{ clientId: 'x', clientSecret: 'y', redirectUris: [REDIRECT_URI] }],
    });
    await (await fetch(`${other.issuer}/.well-known/openid-configuration`)).json();
    await other.close();
    await other.close(); // idempotent
    await expect(fetch(`${other.issuer}/jwks`)).rejects.toThrow();
  });

  it('refuses bad options at start', async () => {
    await expect(startLocalProvider({ clients: [] })).rejects.toThrow(/at least one client/);
  });

  it('wrote nothing to the console', () => {
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });
});

describe('test browser', () => {
  it('keeps cookies per host and path, and drops them on Max-Age=0 or a past Expires', () => {
    const jar = new CookieJar();
    const at = new URL('http://127.0.0.1:4000/interaction/abc');
    jar.store(at, 'a=1; Path=/; HttpOnly');
    jar.store(at, 'b=2; path=/interaction/abc; SameSite=Lax');
    jar.store(at, 'c=3'); // default path: /interaction
    jar.store(at, 'old=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    jar.store(new URL('http://127.0.0.1:4000/'), 'evil=1; Domain=example.test');
    expect(jar.header(at)).toBe('b=2; c=3; a=1');
    // Another port of the same host gets the same cookies, as in browsers.
    expect(jar.header(new URL('http://127.0.0.1:5000/'))).toBe('a=1');
    expect(jar.header(new URL('http://localhost:4000/'))).toBeUndefined();

    jar.store(at, 'b=gone; Path=/interaction/abc; Max-Age=0');
    jar.store(at, 'a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(jar.header(at)).toBe('c=3');
    expect(jar.find(new URL('http://127.0.0.1:4000/'), 'c')).toBe('3');
  });

  it('reads forms with attributes in any order and quoting, keeping hidden inputs', () => {
    const html = `<form id='f' action="/go?x=1&amp;y=2" method=POST>
      <input value="v&quot;1" type=hidden name="h">
      <input name='t' type='text'>
      <input type="checkbox" name="off"><input type="checkbox" name="on" checked>
      <input type="submit" name="go" value="Go">
    </form><form><input name="q" value="a>b"></form>`;
    const [first, second] = parseForms(html, 'http://127.0.0.1:4000/page/here');
    expect(first).toEqual({
      action: 'http://127.0.0.1:4000/go?x=1&y=2',
      method: 'POST',
      id: 'f',
      fields: { h: 'v"1', t: '', on: 'on' },
      names: ['h', 't', 'off', 'on', 'go'],
    });
    expect(second).toMatchObject({
      action: 'http://127.0.0.1:4000/page/here',
      method: 'GET',
      fields: { q: 'a>b' },
    });
  });
});

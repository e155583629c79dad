/**
 * Single sign-on end to end, against a real OpenID provider (oidc-provider, run locally): the
 * browser's authorization code flow with PKCE through HTTP redirects and form posts, the device
 * flow as a user does it (start, approve at the provider, finish), groups mapped to role and
 * teams, sessions with CSRF protection, refusals (a disabled user, a replayed or foreign state),
 * and misconfiguration reported at start with the key at fault.
 */
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalProvider, type LocalProvider } from '../src/identity/provider/local-provider.js';
import { approveDevice, signInAtProvider, TestBrowser } from './support/oidc-browser.js';
import { startStack, type Stack } from './support/stack.js';
import { freePort } from '../src/main/free-port.js';
import { baseEnv, tunnelctl } from './cli/harness.js';

const CLIENT = { clientId: 'tunnelplane', clientSecret: 'a-long-client-secret-for-tests' };
const account = (idp: LocalProvider, name: string) => idp.accounts.find((a) => a.username === name)!;

/** A fetch as the signed-in browser: its cookies, and the CSRF token when given. */
async function asBrowser(
  stack: Stack,
  browser: TestBrowser,
  method: string,
  path: string,
  opts: { body?: unknown; csrf?: string } = {},
) {
  const url = new URL(path, stack.url).href;
  const res = await fetch(url, {
    method,
    headers: {
      cookie: browser.cookies.header(new URL(url)) ?? '',
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.csrf ? { 'x-csrf-token': opts.csrf } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('single sign-on with a local OpenID provider', () => {
  let idp: LocalProvider;
  let stack: Stack;
  let port: number;

  const identity = (issuer: string, over: Record<string, unknown> = {}) => ({
    'listen.port': port,
    'identity.publicUrl': `http://127.0.0.1:${port}`,
    'identity.oidc': {
      issuer,
      ...CLIENT,
      adminGroups: ['tunnelplane-admins'],
      teamGroupPrefix: 'team-',
      ...over,
    },
  });

  beforeAll(async () => {
    port = await freePort();
    idp = await startLocalProvider({
      clients: [{ ...CLIENT, redirectUris: [`http://127.0.0.1:${port}/auth/callback`] }],
      deviceIntervalSeconds: 0.05,
    });
    stack = await startStack({ config: identity(idp.issuer) });
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.close();
  });

  async function browserSignIn(name: string) {
    const browser = new TestBrowser();
    const landed = await signInAtProvider(
      browser,
      `${stack.url}/auth/login?returnTo=/api/v1/me`,
      account(idp, name),
    );
    return { browser, landed };
  }

  it('signs a browser in with the code flow: account made from the ID token, groups give role and teams', async () => {
    const { browser, landed } = await browserSignIn('ada');
    expect(landed.url).toBe(`${stack.url}/api/v1/me`);
    expect(landed.status).toBe(200);
    const me = JSON.parse(landed.body);
    expect(me).toMatchObject({
      name: 'ada',
      role: 'admin',
      email: 'ada@example.test',
      signIn: ['sso'],
      authenticatedWith: 'session',
      teams: [{ name: 'platform' }],
    });
    // The flow went through the provider's login form and back to the callback.
    expect(browser.history.some((u) => u.startsWith(`${idp.issuer}/interaction/`))).toBe(true);
    expect(browser.history.some((u) => u.startsWith(`${stack.url}/auth/callback?`))).toBe(true);
    // The session cookie is HttpOnly and SameSite=Lax; the account is keyed on issuer + sub.
    const row = await stack.runtime.store.users.byName('ada');
    expect([row?.oidc_issuer, row?.oidc_subject]).toEqual([idp.issuer, 'ada']);
  });

  it('sets the session cookie HttpOnly and SameSite, and asks changes for the CSRF token', async () => {
    const { browser } = await browserSignIn('bob');
    const setCookie = browser.history.length; // visited
    expect(setCookie).toBeGreaterThan(0);
    // The raw Set-Cookie of a password sign-in shows the attributes.
    const res = await fetch(`${stack.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'user1', password: 'user1password' }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^tp_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain HTTP on loopback; Secure under TLS

    const noCsrf = await asBrowser(stack, browser, 'POST', '/api/v1/tunnels?wait=0', { body: {} });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('auth.csrf');
    const session = await asBrowser(stack, browser, 'GET', '/auth/session');
    expect(session.status).toBe(200);
    expect(session.body.user.name).toBe('bob');
    const made = await asBrowser(stack, browser, 'POST', '/api/v1/tunnels?wait=0', {
      body: { team: 'platform' },
      csrf: session.body.csrfToken,
    });
    expect(made.status).toBe(202);
    expect(made.body.owner).toBe('team:platform');
    // Ada (also in team-platform) sees and manages it; cy (team-data) does not see it.
    const ada = await browserSignIn('ada');
    const adaList = await asBrowser(stack, ada.browser, 'GET', '/api/v1/tunnels');
    expect(adaList.body.items.map((t: { name: string }) => t.name)).toContain(made.body.name);
    const cy = await browserSignIn('cy');
    const cyGet = await asBrowser(stack, cy.browser, 'GET', `/api/v1/tunnels/${made.body.name}`);
    expect(cyGet.status).toBe(404);
    const cyList = await asBrowser(stack, cy.browser, 'GET', '/api/v1/tunnels');
    expect(cyList.body.items).toEqual([]);

    // Signing out ends the session: the cookie no longer works.
    const out = await asBrowser(stack, browser, 'POST', '/auth/logout', { csrf: session.body.csrfToken });
    expect(out.status).toBe(204);
    const after = await asBrowser(stack, browser, 'GET', '/api/v1/me');
    expect(after.status).toBe(401);
  });

  it('refuses a replayed state, and a callback this browser did not start', async () => {
    const { browser } = await browserSignIn('cy');
    const callback = browser.history.find((u) => u.startsWith(`${stack.url}/auth/callback?`))!;
    const again = await browser.get(callback);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body).error).toMatchObject({
      code: 'sso.failed',
      details: { reason: 'state_mismatch' },
    });

    // Another browser that started its own sign-in, handed this callback (login CSRF): refused.
    const other = new TestBrowser();
    const started = await other.get(`${stack.url}/auth/login`, { stopAt: idp.issuer });
    expect(started.redirectTo).toMatch(new RegExp(`^${idp.issuer}/auth\\?`));
    const handed = await other.get(callback);
    expect(handed.status).toBe(401);
    expect(JSON.parse(handed.body).error.code).toBe('sso.failed');

    // The same callback with the state cookie put back: the state was used, so it is unknown now.
    const state = new URL(callback).searchParams.get('state')!;
    const replay = await fetch(callback, {
      headers: { cookie: `tp_sso_state=${state}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe(
      'unknown_state',
    );
  });

  it('refuses a user disabled at Tunnelplane even with a valid ID token, and lets them back when enabled', async () => {
    await browserSignIn('bob');
    const admin = stack.as('admin');
    expect((await admin.request('PATCH', '/api/v1/admin/users/bob', { disabled: true })).status).toBe(200);
    const { landed } = await browserSignIn('bob');
    expect(landed.status).toBe(403);
    expect(JSON.parse(landed.body).error.code).toBe('auth.disabled');
    expect((await admin.request('PATCH', '/api/v1/admin/users/bob', { disabled: false })).status).toBe(200);
    const back = await browserSignIn('bob');
    expect(back.landed.status).toBe(200);
  });

  it('signs the CLI in with the device flow: start, approve at the provider, finish with an API token', async () => {
    const start = await fetch(`${stack.url}/api/v1/auth/device`, { method: 'POST' });
    expect(start.status).toBe(200);
    const d = (await start.json()) as {
      deviceCode: string;
      userCode: string;
      verificationUriComplete: string;
    };
    expect(d.verificationUriComplete).toContain(d.userCode);
    const poll = () =>
      fetch(`${stack.url}/api/v1/auth/device/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deviceCode: d.deviceCode, tokenName: 'laptop' }),
      });
    const pending = await poll();
    expect(pending.status).toBe(400);
    expect(((await pending.json()) as { error: { code: string } }).error.code).toBe('sso.pending');

    await approveDevice(d.verificationUriComplete, account(idp, 'cy'));
    const done = await poll();
    expect(done.status).toBe(201);
    const body = (await done.json()) as { user: string; secret: string; token: { scopes: string[] } };
    expect(body.user).toBe('cy');
    expect(body.token.scopes).toEqual(['read', 'write']);
    const me = await fetch(`${stack.url}/api/v1/me`, { headers: { authorization: `Bearer ${body.secret}` } });
    expect(await me.json()).toMatchObject({
      name: 'cy',
      role: 'user',
      teams: [{ name: 'data' }],
      authenticatedWith: 'token',
    });
    // Used up: the same device code finds nothing now.
    const twice = await poll();
    expect(((await twice.json()) as { error: { code: string } }).error.code).toBe('sso.expired');
  });

  it('tunnelctl login --sso: prints the code, the user approves at the provider, the token is saved 0600, list works', async () => {
    const env = baseEnv();
    const approvals: Promise<unknown>[] = [];
    const login = await tunnelctl(['login', '--sso', '--server', stack.url], {
      env,
      // The user opens the printed URL in a browser and approves there, as bob.
      openUrl: (url) => void approvals.push(approveDevice(url, account(idp, 'bob'))),
    });
    await Promise.all(approvals);
    expect([login.code, login.stderr]).toEqual([0, expect.stringContaining(`${idp.issuer}/device`)]);
    const configFile = /saved in (\S+)/.exec(login.stderr + login.stdout)![1]!;
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { token: string; user?: string };
    expect(saved.token).toMatch(/^tp_/);
    const whoami = await tunnelctl(['whoami', '-o', 'json'], { env });
    expect(JSON.parse(whoami.stdout)).toMatchObject({ name: 'bob', teams: [{ name: 'platform' }] });
    const list = await tunnelctl(['list', '-o', 'json'], { env });
    expect(list.code).toBe(0);
    // bob's team's tunnel (made in an earlier test) is in his list.
    expect(list.stdout).toContain('team:platform');
  });

  it('reports a wrong issuer, an unreachable provider and a bad client secret at start, with the key', async () => {
    const deadPort = await freePort();
    await expect(
      startStack({ instance: null, config: identity(`http://127.0.0.1:${deadPort}`) }),
    ).rejects.toThrow(/identity\.oidc\.issuer: cannot reach/);
    await expect(
      startStack({ instance: null, config: identity(`${idp.issuer}/not-the-issuer`) }),
    ).rejects.toThrow(/identity\.oidc\.issuer/);
    await expect(
      startStack({ instance: null, config: identity(idp.issuer, { clientSecret: 'wrong-secret' }) }),
    ).rejects.toThrow(/identity\.oidc\.clientSecret/);
    await expect(
      startStack({
        instance: null,
        config: identity('https://idp.example.test', { issuer: 'http://idp.example.test' }),
      }),
    ).rejects.toThrow(/identity\.oidc\.issuer: must be https/);
  });
});

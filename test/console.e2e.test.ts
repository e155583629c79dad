/**
 * The web console in a real Chromium against a real `tunnelplane dev` (a child process, as a
 * person starts it): sign-in (password, single sign-on, a wrong password, a session that ended),
 * a tunnel's whole life (create, an HTTP and a TCP route becoming ready, the run commands copied,
 * deletion) checked in the emulators' state, tenants kept apart, an admin's quota change seen by
 * the user, and the security headers. test/console-pages.e2e.test.ts checks each page's
 * accessibility and takes the screenshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  apiAs,
  buildConsole,
  cloudflareState,
  kubernetesObjects,
  launchChromium,
  newContext,
  readClipboard,
  signIn,
  startDev,
  until,
  type Dev,
} from './support/console-browser.js';

let dev: Dev;
let browser: Browser;

beforeAll(async () => {
  await buildConsole();
  [dev, browser] = await Promise.all([startDev(), launchChromium()]);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

const base = () => dev.info.controlPlane;

describe('the console is served safely beside the API', () => {
  it('answers browsers with the console and strict headers, and API clients as before', async () => {
    const html = await fetch(`${base()}/`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(200);
    const page = await html.text();
    expect(page).toContain('<div id="app">');
    // Nothing inline: every script is a file of this origin.
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const csp = html.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page)![1]!;
    const js = await fetch(`${base()}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');

    // The proof of concept's `GET /` for everyone else; the API reference still served.
    const poc = await fetch(`${base()}/`);
    expect(await poc.text()).toBe('Welcome');
    expect((await fetch(`${base()}/docs/`)).status).toBe(200);
    expect((await fetch(`${base()}/assets/nothing-here.js`)).status).toBe(404);
  });
});

describe('signing in', () => {
  it('says clearly when the password is wrong, then signs in and out', async () => {
    const { context, page, cspViolations } = await newContext(browser, base());
    try {
      await page.goto('/');
      await page.getByLabel('User name').fill('user1');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(
        /Sign-in failed: wrong user name or password \(auth\.invalid\): check both and try again/,
      );
      // The password field is emptied for the next try; the user name stays.
      expect(await page.getByLabel('Password').inputValue()).toBe('');

      await page.getByLabel('Password').fill('user1password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByTestId('who').filter({ hasText: 'user1' }).waitFor();
      const cookie = (await context.cookies()).find((c) => c.name === 'tp_session')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You are signed out.').waitFor();
      expect((await context.cookies()).find((c) => c.name === 'tp_session')).toBeUndefined();
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('says the session ended when it expired under an open page, and signs in again', async () => {
    const { context, page } = await newContext(browser, base());
    try {
      await signIn(page, 'user2', 'user2password');
      // End the session on the server, as its expiry would, while the page still holds the cookie.
      const secret = (await context.cookies()).find((c) => c.name === 'tp_session')!.value;
      const headers = { cookie: `tp_session=${secret}` };
      const session = (await (await fetch(`${base()}/auth/session`, { headers })).json()) as {
        csrfToken: string;
      };
      const out = await fetch(`${base()}/auth/logout`, {
        method: 'POST',
        headers: { ...headers, 'x-csrf-token': session.csrfToken },
      });
      expect(out.status).toBe(204);
      await context.addCookies([{ name: 'tp_session', value: secret, url: base() }]);

      await page.getByRole('link', { name: 'API tokens' }).click();
      await page.getByText('Your session has expired or was signed out; sign in again').waitFor();
      await page.getByLabel('User name').fill('user2');
      await page.getByLabel('Password').fill('user2password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      // Back where the user was.
      await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor();
    } finally {
      await context.close();
    }
  }, 180_000);

  it('signs in with single sign-on through the identity provider', async () => {
    const { context, page } = await newContext(browser, base());
    try {
      await page.goto('/');
      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      const ada = dev.info.oidc.accounts.find((a) => a.username === 'ada')!;
      // The provider's pages: a login form, perhaps a consent form; then back to the console.
      await until(async () => {
        if (page.url().startsWith(base()))
          return page.getByTestId('who').filter({ hasText: 'ada' }).isVisible();
        const password = page.locator('input[type=password]');
        if (await password.isVisible()) {
          await page.locator('input[name=login], input[name=username]').first().fill(ada.username);
          await password.fill(ada.password);
          await page.locator('button[type=submit], input[type=submit]').first().click();
        } else if (await page.locator('button[type=submit]').first().isVisible()) {
          await page.locator('button[type=submit]').first().click();
        }
        return false;
      }, 'back in the console as ada');
      expect(await page.getByTestId('who').textContent()).toContain('(admin)');
      await page.getByRole('link', { name: 'Admin' }).waitFor();
    } finally {
      await context.close();
    }
  }, 180_000);
});

describe("a tunnel's life in the console", () => {
  it('creates a tunnel, adds an HTTP and a TCP route that become ready, copies the run command, deletes', async () => {
    const { context, page, cspViolations } = await newContext(browser, base());
    try {
      await signIn(page, 'user1', 'user1password');
      await page.getByLabel('Name', { exact: true }).fill('shop');
      await page.getByLabel('Configuration').selectOption('remote');
      await page.getByRole('button', { name: 'Create tunnel' }).click();
      await page.getByText('Tunnel shop created').waitFor();
      const row = page.locator('tr[data-tunnel="shop"]');
      await row.getByText('Ready').waitFor({ timeout: 90_000 });
      const cfName = await until(
        async () =>
          (await cloudflareState(dev.info)).tunnels.find((t: any) => !t.deletedAt && /-shop$/.test(t.name))
            ?.name,
        'the Cloudflare tunnel exists',
      );
      expect(cfName).toMatch(/^tunnelplane-.*-shop$/);

      await row.getByRole('link', { name: 'shop' }).click();
      await page.getByRole('heading', { name: 'Tunnel shop', level: 1 }).waitFor();

      // An HTTP route, open to everyone.
      await page.getByLabel('Service').fill('http://localhost:8000');
      await page.getByLabel('Route name').fill('app');
      await page.getByRole('button', { name: 'Add route' }).click();
      const http = page.locator('tr[data-route="app"]');
      await http.getByRole('link', { name: 'app-shop.example.com' }).waitFor();
      await http.locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: 90_000 });
      await until(
        async () =>
          (await cloudflareState(dev.info)).dnsRecords.some((r: any) => r.name === 'app-shop.example.com'),
        'the DNS record of app-shop',
      );

      // A TCP route: behind Access, with its in-cluster address once its pods run.
      await page.getByLabel('Service').fill('tcp://db:5432');
      await page.getByLabel('Route name').fill('db');
      await page.getByRole('button', { name: 'Add route' }).click();
      const tcp = page.locator('tr[data-route="db"]');
      await tcp.locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: 90_000 });
      const address = (await apiAs(dev.info, 'user1', '/api/v1/tunnels/shop/routes/db')).inCluster.address;
      expect(address).toBeTruthy();
      await tcp.getByText(address).waitFor();
      expect(await tcp.textContent()).toContain('Cloudflare Access');
      const state = await cloudflareState(dev.info);
      expect(state.accessApps.some((a: any) => a.fields.domain === 'db-shop.example.com')).toBe(true);
      const deployments = await kubernetesObjects(dev.info, 'Deployment');
      expect(deployments.length).toBeGreaterThan(0);

      // The run commands: tunnelctl's, and cloudflared's with the token only once asked for.
      await page
        .locator('.command', { hasText: 'tunnelctl run shop' })
        .getByRole('button', { name: 'Copy' })
        .click();
      await page.getByText('Copied to the clipboard').first().waitFor();
      expect(await readClipboard(page)).toBe('tunnelctl run shop');
      expect(await page.content()).not.toContain(
        (await apiAs(dev.info, 'user1', '/api/v1/tunnels/shop/token')).token,
      );
      await page.getByRole('button', { name: 'Reveal token' }).click();
      const token = (await apiAs(dev.info, 'user1', '/api/v1/tunnels/shop/token')).token as string;
      const run = page.locator('.command', { hasText: 'cloudflared tunnel run --token' });
      await run.getByText(token).waitFor();
      await run.getByRole('button', { name: 'Copy' }).click();
      await until(
        async () => (await readClipboard(page)) === `cloudflared tunnel run --token ${token}`,
        'the cloudflared command on the clipboard',
      );

      // Deleting a route asks first; then its record goes.
      await http.getByRole('button', { name: 'Delete route app-shop.example.com' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('app-shop.example.com stops answering').waitFor();
      await dialog.getByRole('button', { name: 'Delete route' }).click();
      await http.waitFor({ state: 'detached', timeout: 90_000 });
      await until(
        async () =>
          !(await cloudflareState(dev.info)).dnsRecords.some((r: any) => r.name === 'app-shop.example.com'),
        'the DNS record of app-shop removed',
      );

      // Deleting the tunnel: confirmed, back to the list, gone at Cloudflare.
      await page.getByRole('button', { name: 'Delete tunnel' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete tunnel' }).click();
      await page.getByRole('heading', { name: 'Tunnels', level: 1 }).waitFor();
      await page.locator('tr[data-tunnel="shop"]').waitFor({ state: 'detached', timeout: 90_000 });
      await until(
        async () =>
          !(await cloudflareState(dev.info)).tunnels.some((t: any) => t.name === cfName && !t.deletedAt),
        'the Cloudflare tunnel deleted',
      );
      expect(cspViolations).toEqual([]);
    } finally {
      await context.close();
    }
  }, 300_000);

  it('gives a local tunnel its config.yaml and credentials.json as downloads', async () => {
    const { context, page } = await newContext(browser, base());
    try {
      await signIn(page, 'user1', 'user1password');
      await page.getByLabel('Name', { exact: true }).fill('files');
      await page.getByLabel('Configuration').selectOption('local');
      await page.getByRole('button', { name: 'Create tunnel' }).click();
      await page.getByRole('link', { name: 'files' }).first().click();
      const button = page.getByRole('button', { name: 'Download credentials.json' });
      await until(() => button.isEnabled(), 'the tunnel has its Cloudflare id');
      const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
      expect(download.suggestedFilename()).toBe('credentials.json');
      const creds = JSON.parse(await streamText(await download.createReadStream()));
      expect(creds.AccountTag).toBe(dev.info.cloudflare.accountId);
      const tunnel = await apiAs(dev.info, 'user1', '/api/v1/tunnels/files');
      expect(creds.TunnelID).toBe(tunnel.id);
      const [yaml] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download config.yaml' }).click(),
      ]);
      expect(await streamText(await yaml.createReadStream())).toContain(`tunnel: ${tunnel.id}`);
      await page
        .getByText('cloudflared tunnel --config config.yaml run --cred-file credentials.json')
        .waitFor();
    } finally {
      await context.close();
    }
  }, 180_000);
});

describe('tenants and admins', () => {
  it("never shows a user another's tunnels", async () => {
    await until(
      async () => (await apiAs(dev.info, 'user1', '/api/v1/tunnels/files')).name === 'files',
      'files exists',
    );
    const { context, page } = await newContext(browser, base());
    try {
      await signIn(page, 'user2', 'user2password');
      await page.getByRole('heading', { name: 'Tunnels', level: 1 }).waitFor();
      await page
        .getByText(/No tunnels yet|Created/)
        .first()
        .waitFor();
      expect(await page.locator('tr[data-tunnel="files"]').count()).toBe(0);
      await page.goto('/#/tunnels/files');
      await page.getByRole('alert').filter({ hasText: 'tunnel.not_found' }).waitFor();
      expect(await page.content()).not.toContain(dev.info.cloudflare.accountId);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('an admin changes a quota and the user sees it without reloading', async () => {
    const user = await newContext(browser, base());
    const admin = await newContext(browser, base());
    try {
      await signIn(user.page, 'user2', 'user2password');
      const usage = user.page.getByTestId('usage');
      await usage.waitFor();
      expect(await usage.textContent()).not.toContain('of 7 tunnels');

      await signIn(admin.page, 'admin', 'adminpassword');
      await admin.page.getByRole('link', { name: 'Admin' }).click();
      await admin.page.getByText("Change a user's quotas").waitFor();
      await admin.page.getByLabel('User', { exact: true }).selectOption('user2');
      await admin.page.getByLabel('Tunnel quota').fill('7');
      await admin.page.getByLabel('Route quota').fill('12');
      await admin.page.getByRole('button', { name: 'Save quotas' }).click();
      await admin.page.getByText('Quotas of user2: 7 tunnels, 12 routes.').waitFor();
      await admin.page.locator('tr[data-user="user2"]').getByText('0 / 7').waitFor();
      expect((await apiAs(dev.info, 'admin', '/api/v1/admin/users/user2')).quotas).toMatchObject({
        tunnels: 7,
        routes: 12,
      });

      await usage.filter({ hasText: 'of 7 tunnels' }).waitFor({ timeout: 90_000 });
      expect(await usage.textContent()).toContain('of 12 routes');
      // The reconciler's health, in words.
      await admin.page
        .getByTestId('health')
        .getByText(/Queue:/)
        .waitFor();
    } finally {
      await user.context.close();
      await admin.context.close();
    }
  }, 180_000);
});

describe('tokens and events', () => {
  it('creates a token whose secret is shown once and works, revokes it; filters the events', async () => {
    const { context, page } = await newContext(browser, base());
    try {
      await signIn(page, 'user1', 'user1password');
      await page.getByRole('link', { name: 'API tokens' }).click();
      await page.getByLabel('Token name').fill('laptop');
      // A session lasts hours: a token made with it cannot outlive it, and the page says why.
      await page.getByLabel('Expires after (days)').fill('7');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByRole('alert').filter({ hasText: 'token.exceeds' }).waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('leave the expiry empty');
      await page.getByLabel('Expires after (days)').fill('');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByText('it is shown only this once').waitFor();
      const secret = (await page.locator('.note.ok pre code').textContent())!.trim();
      const me = (token: string) =>
        fetch(`${base()}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await me(secret)).toBe(200);
      const row = page.locator('tr[data-token="laptop"]');
      await row.waitFor();
      expect(await row.textContent()).toContain('read, write');

      await row.getByRole('button', { name: 'Revoke token laptop' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
      await row.waitFor({ state: 'detached' });
      expect(await me(secret)).toBe(401);

      await page.getByRole('link', { name: 'Events' }).click();
      await page.getByText('token.create').first().waitFor();
      await page.getByLabel('Filter').fill('token.revoke');
      await until(async () => {
        const actions = await page.locator('td[data-label="What"]').allTextContents();
        return actions.length > 0 && actions.every((a) => a.includes('token.revoke'));
      }, 'only token.revoke events shown');
    } finally {
      await context.close();
    }
  }, 180_000);
});

async function streamText(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of s) out += chunk.toString();
  return out;
}

/**
 * Every page of the console, as a user and as an admin with some tunnels and routes: axe-core
 * finds no serious or critical accessibility violation, and each page is photographed at desktop
 * and phone width into test-results/console-screenshots/ (kept by CI; how a person judges it).
 * axe is injected as a script of the test's own, so this context bypasses the CSP;
 * test/console.e2e.test.ts checks the pages under it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  apiAs,
  apiSend,
  axe,
  buildConsole,
  launchChromium,
  newContext,
  shoot,
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
  // Something to show: user1's tunnels with an HTTP route, a protected one and a TCP route.
  const post = async (path: string, body: unknown) => {
    const res = await apiSend(dev.info, 'user1', 'POST', path, body);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  await post('/api/v1/tunnels?wait=60', { name: 'billing', configMode: 'remote' });
  await post('/api/v1/tunnels?wait=60', { name: 'intranet', configMode: 'local' });
  await post('/api/v1/tunnels/billing/routes?wait=60', { name: 'api', service: 'http://localhost:8080' });
  await post('/api/v1/tunnels/billing/routes?wait=60', {
    name: 'admin',
    service: 'http://localhost:9000',
    access: { emails: ['ada@example.com'], emailDomains: ['example.com'] },
  });
  await post('/api/v1/tunnels/billing/routes?wait=60', { name: 'db', service: 'tcp://postgres:5432' });
  await post('/api/v1/tunnels/intranet/routes?wait=60', {
    name: 'wiki',
    service: 'http://wiki.internal:80',
    allowIps: ['203.0.113.0/24'],
  });
  await post('/api/v1/tokens', { name: 'ci-deploy', scopes: ['read', 'write'], expiresInDays: 30 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

/** Checks the page with axe and photographs it. */
async function judge(page: Page, name: string) {
  const violations = await axe(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
  await shoot(page, name);
}

describe('each page is accessible and photographed', () => {
  it('sign-in, with a wrong password shown', async () => {
    const { context, page } = await newContext(browser, dev.info.controlPlane, { bypassCSP: true });
    try {
      await page.goto('/');
      await page.getByLabel('User name').waitFor();
      await judge(page, 'sign-in');
      await page.getByLabel('User name').fill('user1');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('alert').waitFor();
      await judge(page, 'sign-in-wrong-password');
    } finally {
      await context.close();
    }
  }, 180_000);

  it("a user's pages: tunnels, a tunnel, tokens, events", async () => {
    const { context, page } = await newContext(browser, dev.info.controlPlane, { bypassCSP: true });
    try {
      await signIn(page, 'user1', 'user1password');
      await page.locator('tr[data-tunnel="billing"]').getByText('Ready').waitFor({ timeout: 90_000 });
      await judge(page, 'tunnels');

      await page.getByRole('link', { name: 'billing' }).click();
      await until(
        async () => (await page.locator('tr[data-route] .badge', { hasText: 'Ready' }).count()) === 3,
        'the routes of billing ready',
      );
      // The add form with its Advanced section open (the origin options of an https service).
      await page.getByLabel('Service').fill('https://localhost:8443');
      await page.getByText('Advanced: how cloudflared talks to the service').click();
      await page.getByLabel('TLS server name').waitFor();
      await judge(page, 'tunnel');
      // The token shows only when asked for (after the picture: the user guide shows it hidden).
      await page.getByRole('button', { name: 'Reveal token' }).click();
      const token = (await apiAs(dev.info, 'user1', '/api/v1/tunnels/billing/token')).token as string;
      await page.getByText(`cloudflared tunnel run --token ${token}`).waitFor();

      await page.getByRole('button', { name: 'Delete route api-billing.example.com' }).click();
      await page.getByRole('dialog').waitFor();
      await judge(page, 'tunnel-delete-route-dialog');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      // Editing a route behind Access: its people, session length and origin options.
      await page.getByRole('button', { name: 'Edit route admin-billing.example.com' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit route admin-billing.example.com' });
      await edit.getByLabel('E-mail addresses').waitFor();
      await edit.getByText('Advanced: how cloudflared talks to the service').click();
      await edit.getByLabel('Host header').waitFor();
      await judge(page, 'tunnel-edit-route-dialog');
      await edit.getByRole('button', { name: 'Cancel' }).click();
      await edit.waitFor({ state: 'detached' });

      await page.goto('/#/tunnels/intranet');
      await page.getByRole('button', { name: 'Download config.yaml' }).waitFor();
      await judge(page, 'tunnel-local');

      await page.getByRole('link', { name: 'API tokens' }).click();
      await page.locator('tr[data-token="ci-deploy"]').waitFor();
      await judge(page, 'tokens');

      await page.getByRole('link', { name: 'Events' }).click();
      await page.getByText('route.create').first().waitFor();
      await judge(page, 'events');
    } finally {
      await context.close();
    }
  }, 300_000);

  it("the admin's page", async () => {
    const { context, page } = await newContext(browser, dev.info.controlPlane, { bypassCSP: true });
    try {
      await signIn(page, 'admin', 'adminpassword');
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.locator('tr[data-admin-tunnel="billing"]').waitFor();
      await page.getByTestId('health').waitFor();
      await judge(page, 'admin');
    } finally {
      await context.close();
    }
  }, 180_000);
});

/**
 * A tunnel's routes in the console, every option the API has, in a real Chromium against a real
 * `tunnelplane dev`, each checked in the Cloudflare emulator's state: a chosen hostname with
 * origin options (the remote configuration's ingress), Access for people with a session length
 * (the Access application), editing a route in place (its service and protection change, its
 * hostname and DNS record stay), a concurrent change (412: the page says so and shows the route
 * as it is), and options the API refuses (its message in the page, nothing written).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  apiAs,
  apiSend,
  buildConsole,
  cloudflareState,
  launchChromium,
  newContext,
  signIn,
  startDev,
  until,
  type Dev,
} from './support/console-browser.js';

let dev: Dev;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cspViolations: string[];

/** The emulator's ingress rule for a hostname in the tunnel's remote configuration (undefined: none). */
async function ingressRule(hostname: string): Promise<any> {
  const state = await cloudflareState(dev.info);
  const tunnel = state.tunnels.find((t: any) => !t.deletedAt && /-web$/.test(t.name));
  const ingress = (tunnel?.configuration?.config?.ingress ?? []) as any[];
  return ingress.find((r) => r.hostname === hostname);
}

const dnsRecord = async (name: string) =>
  (await cloudflareState(dev.info)).dnsRecords.find((r: any) => r.name === name);

const accessApp = async (domain: string) =>
  (await cloudflareState(dev.info)).accessApps.find((a: any) => a.fields.domain === domain);

const row = (route: string) => page.locator(`tr[data-route="${route}"]`);

beforeAll(async () => {
  await buildConsole();
  [dev, browser] = await Promise.all([startDev(), launchChromium()]);
  const made = await apiSend(dev.info, 'user1', 'POST', '/api/v1/tunnels?wait=60', {
    name: 'web',
    configMode: 'remote',
  });
  expect(made.status).toBe(201);
  ({ context, page, cspViolations } = await newContext(browser, dev.info.controlPlane));
  await signIn(page, 'user1', 'user1password');
  await page.goto('/#/tunnels/web');
  await page.getByRole('heading', { name: 'Tunnel web', level: 1 }).waitFor();
}, 300_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await dev?.stop();
});

describe('adding a route with every option', () => {
  it('takes a chosen hostname and origin options into the remote configuration', async () => {
    // One zone only: no zone to choose.
    expect(await page.getByLabel('Zone').count()).toBe(0);
    await page.getByLabel('Service').fill('http://localhost:8000');
    await page.getByLabel('Hostname').fill('shopfront');
    // The origin options are tucked away until asked for; the TLS ones do not fit an http service.
    const advanced = page.locator('details.advanced').first();
    expect(await advanced.getAttribute('open')).toBeNull();
    await advanced.getByText('Advanced: how cloudflared talks to the service').click();
    expect(await advanced.getByLabel('TLS server name').count()).toBe(0);
    await advanced.getByLabel('Host header').fill('shop.internal');
    await advanced.getByLabel('Connect timeout').fill('10');
    await page.getByRole('button', { name: 'Add route' }).click();

    await page.getByText('Route shopfront.example.com added').waitFor();
    // The route's name is the hostname's label.
    await row('shopfront').getByRole('link', { name: 'shopfront.example.com' }).waitFor();
    const rule = await until(() => ingressRule('shopfront.example.com'), 'the ingress rule of shopfront');
    expect(rule).toEqual({
      hostname: 'shopfront.example.com',
      service: 'http://localhost:8000',
      originRequest: { httpHostHeader: 'shop.internal', connectTimeout: 10 },
    });
    await until(() => dnsRecord('shopfront.example.com'), 'the DNS record of shopfront');
    await row('shopfront').locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: 90_000 });
    expect(cspViolations).toEqual([]);
  }, 180_000);

  it('puts Access for people with a session length on the Access application', async () => {
    await page.getByLabel('Service').fill('http://localhost:9000');
    await page.getByLabel('Route name').fill('staff');
    await page.getByLabel('People signed in with Cloudflare Access (HTTP)').check();
    await page.getByLabel('E-mail addresses').fill('ada@example.com\ngrace@example.com');
    await page.getByLabel('Session length').selectOption('12h');
    await page.getByRole('button', { name: 'Add route' }).click();
    await row('staff').waitFor();
    const app = await until(() => accessApp('staff-web.example.com'), 'the Access application of staff');
    expect(app.fields.session_duration).toBe('12h');
    const route = await apiAs(dev.info, 'user1', '/api/v1/tunnels/web/routes/staff');
    expect(route.access).toMatchObject({
      emails: ['ada@example.com', 'grace@example.com'],
      sessionDuration: '12h',
    });
    expect(await row('staff').textContent()).toContain(
      'Cloudflare Access: ada@example.com, grace@example.com',
    );
    await row('staff').locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: 90_000 });
  }, 180_000);

  it("shows the API's refusal of an option the server is not set up for, and writes nothing", async () => {
    // dev has no Access identity provider: groups are refused.
    await page.getByLabel('Service').fill('http://localhost:9100');
    await page.getByLabel('Route name').fill('eng');
    await page.getByLabel('People signed in with Cloudflare Access (HTTP)').check();
    await page.getByLabel('E-mail addresses').fill('');
    await page.getByLabel('Groups').fill('engineers');
    await page.getByRole('button', { name: 'Add route' }).click();
    const alert = page.locator('section[aria-labelledby="add-route"]').getByRole('alert');
    await alert.filter({ hasText: 'route.origin_option_unavailable' }).waitFor();
    expect(await alert.textContent()).toContain('no Access identity provider configured');
    const routes = await apiAs(dev.info, 'user1', '/api/v1/tunnels/web/routes');
    expect(routes.items.map((r: any) => r.name)).not.toContain('eng');
    await alert.getByRole('button', { name: 'Dismiss' }).click();
    await page.getByLabel('Everyone').check();
  }, 120_000);
});

describe('editing a route in place', () => {
  it('changes the service and adds an allow-list; the hostname and DNS record stay', async () => {
    const recordBefore = await dnsRecord('shopfront.example.com');
    expect(recordBefore).toBeTruthy();
    await row('shopfront').getByRole('button', { name: 'Edit route shopfront.example.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit route shopfront.example.com' });
    // Prefilled with the route as it is, its origin options shown.
    expect(await dialog.getByLabel('Service').inputValue()).toBe('http://localhost:8000');
    expect(await dialog.getByLabel('Host header').inputValue()).toBe('shop.internal');
    expect(await dialog.getByLabel('Connect timeout').inputValue()).toBe('10');

    // Another kind of service is refused with the API's words; the dialog stays open.
    await dialog.getByLabel('Service').fill('tcp://db:5432');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'route.protocol_change' }).waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain('Delete it and add a new route instead');

    await dialog.getByLabel('Service').fill('http://localhost:8001');
    await dialog.getByLabel('Only these IP addresses').check();
    await dialog.getByLabel('Allowed addresses').fill('203.0.113.0/24');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Route shopfront.example.com saved').waitFor();
    await row('shopfront').getByText('http://localhost:8001').waitFor();

    await until(
      async () => (await ingressRule('shopfront.example.com'))?.service === 'http://localhost:8001',
      'the ingress rule points at the new service',
    );
    // The origin options were not touched, so they stay.
    expect((await ingressRule('shopfront.example.com')).originRequest).toEqual({
      httpHostHeader: 'shop.internal',
      connectTimeout: 10,
    });
    const app = await until(
      () => accessApp('shopfront.example.com'),
      'the allow-list (an Access application) of shopfront',
    );
    expect(app).toBeTruthy();
    const route = await apiAs(dev.info, 'user1', '/api/v1/tunnels/web/routes/shopfront');
    expect(route).toMatchObject({ hostname: 'shopfront.example.com', allowIps: ['203.0.113.0/24'] });
    const recordAfter = await dnsRecord('shopfront.example.com');
    expect(recordAfter.id).toBe(recordBefore.id);
    expect(recordAfter.content).toBe(recordBefore.content);
    await row('shopfront').locator('.badge', { hasText: 'Ready' }).waitFor({ timeout: 90_000 });
    expect(await row('shopfront').textContent()).toContain('Only from 203.0.113.0/24');
  }, 180_000);

  it('says so when someone changed the route meanwhile, shows it as it is, then saves', async () => {
    await row('staff').getByRole('button', { name: 'Edit route staff-web.example.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit route staff-web.example.com' });
    expect(await dialog.getByLabel('Session length').inputValue()).toBe('12h');
    // Behind the page's back, through the API.
    const behind = await apiSend(dev.info, 'user1', 'PATCH', '/api/v1/tunnels/web/routes/staff', {
      service: 'http://localhost:9001',
    });
    expect(behind.status).toBe(200);

    await dialog.getByLabel('Service').fill('http://localhost:9002');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'request.precondition_failed' }).waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain(
      'Someone changed this since you opened it',
    );
    // The form now holds the route as it is; nothing of ours was written.
    await until(
      async () => (await dialog.getByLabel('Service').inputValue()) === 'http://localhost:9001',
      'the form shows the service changed behind its back',
    );
    expect((await apiAs(dev.info, 'user1', '/api/v1/tunnels/web/routes/staff')).service).toBe(
      'http://localhost:9001',
    );

    // Made again on the fresh route, the change goes through.
    await dialog.getByLabel('Service').fill('http://localhost:9002');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await until(
      async () => (await ingressRule('staff-web.example.com'))?.service === 'http://localhost:9002',
      'the ingress rule of staff points at the service saved in the page',
    );
    // Its Access application kept its session length.
    expect((await accessApp('staff-web.example.com')).fields.session_duration).toBe('12h');
    expect(cspViolations).toEqual([]);
  }, 180_000);
});

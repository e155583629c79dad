/**
 * What the console's browser tests share: `tunnelplane dev` as a child process (as a person runs
 * it), Debian's Chromium through playwright-core, the emulators' state read over their control
 * APIs, screenshots at desktop and phone width, and an axe-core check of a page.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const run = promisify(execFile);

/** Where the tests leave their screenshots (kept by .ci/run: it runs in the clone; ignored by git). */
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'console-screenshots');

export const CHROMIUM = '/usr/bin/chromium';

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 375, height: 760 };

export interface DevInfo {
  controlPlane: string;
  users: Array<{ name: string; password: string; role: string }>;
  cloudflare: { url: string; token: string; accountId: string; zoneId: string; zoneName: string };
  kubernetes: { url: string; token: string; namespace: string };
  oidc: {
    issuer: string;
    signIn: string;
    accounts: Array<{ username: string; password: string; groups: string[] }>;
  };
}

export interface Dev {
  info: DevInfo;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Builds the console when web/ changed since the last build (as `npm start` does). */
export async function buildConsole() {
  await run(process.execPath, ['scripts/build-web.mjs', '--if-stale'], { cwd: process.cwd() });
}

/** `tunnelplane dev --json` on a free port with a fresh data directory; resolves with its one JSON line. */
export async function startDev(): Promise<Dev> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-console-'));
  const proc = spawn(
    process.execPath,
    [join(process.cwd(), 'bin/tunnelplane.js'), 'dev', '--port', '0', '--json', '--data-dir', dir],
    { env: { PATH: process.env.PATH!, HOME: process.env.HOME! }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const info = await new Promise<DevInfo>((resolve, reject) => {
    // Generous: a busy two-core machine starts the emulators and the identity provider slowly.
    const timer = setTimeout(
      () => reject(new Error(`tunnelplane dev not ready: ${out.slice(-3000)}`)),
      120_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"controlPlane"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as DevInfo);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`tunnelplane dev exited ${code}: ${out.slice(-3000)}`)));
  });
  return {
    info,
    proc,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** A context at `viewport`, with the clipboard usable, recording every CSP violation the page reports. */
export async function newContext(
  browser: Browser,
  base: string,
  opts: { viewport?: { width: number; height: number }; bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; cspViolations: string[] }> {
  const context = await browser.newContext({
    baseURL: base,
    viewport: opts.viewport ?? DESKTOP,
    bypassCSP: opts.bypassCSP ?? false,
    permissions: ['clipboard-read', 'clipboard-write'],
    acceptDownloads: true,
  });
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return { context, page, cspViolations };
}

/** Signs in with a password on the console's sign-in page and waits for the signed-in header. */
export async function signIn(page: Page, name: string, password: string) {
  await page.goto('/');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  try {
    await page.getByTestId('who').filter({ hasText: name }).waitFor();
  } catch (err) {
    // What the page said instead (a refusal's alert, or another page): the failure names it.
    const shown = await page
      .locator('body')
      .innerText({ timeout: 5_000 })
      .catch(() => '(the page could not be read)');
    await page
      .screenshot({ path: join(SCREENSHOTS, `sign-in-failed-${name}-${Date.now()}.png`), fullPage: true })
      .catch(() => undefined);
    throw new Error(
      `${name} was not signed in (${(err as Error).message.split('\n')[0]}); ${page.url()} showed: ${shown.slice(0, 500)}`,
    );
  }
}

/** What the page's clipboard holds (the context has the clipboard permissions). */
export function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as any).navigator.clipboard.readText() as Promise<string>);
}

/** Polls `fn` until it returns a truthy value (no timing assertion: only the outcome counts). */
export async function until<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not so within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The Cloudflare emulator's whole state (its control API under /__emulator/). */
export async function cloudflareState(info: DevInfo): Promise<any> {
  const res = await fetch(`${new URL(info.cloudflare.url).origin}/__emulator/state`);
  return res.json();
}

/** Kubernetes objects of a kind in the namespace (the emulator's control API; its certificate is its own). */
export function kubernetesObjects(info: DevInfo, kind: string): Promise<any[]> {
  const url = new URL(`${info.kubernetes.url}/__emulator/objects`);
  url.searchParams.set('kind', kind);
  url.searchParams.set('namespace', info.kubernetes.namespace);
  return new Promise((resolve, reject) => {
    https
      .get(
        url,
        { rejectUnauthorized: false, headers: { authorization: `Bearer ${info.kubernetes.token}` } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            try {
              resolve((JSON.parse(body) as { items: any[] }).items);
            } catch (err) {
              reject(err);
            }
          });
        },
      )
      .on('error', reject);
  });
}

/** The API as a script sees it (Basic auth), to compare with what the console shows. */
export async function apiAs(info: DevInfo, user: string, path: string): Promise<any> {
  return (await apiSend(info, user, 'GET', path)).body;
}

/** A request to the API as a script makes it (Basic auth, a JSON body): its status and body. */
export async function apiSend(
  info: DevInfo,
  user: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const u = info.users.find((x) => x.name === user)!;
  const res = await fetch(`${info.controlPlane}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${u.name}:${u.password}`).toString('base64')}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Screenshots of the page as it is, at desktop and phone width (the viewport is put back). */
export async function shoot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.evaluate(() => {
      const raf = (globalThis as any).requestAnimationFrame as (f: () => void) => void;
      return new Promise<void>((r) => raf(() => raf(r)));
    });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's check of the page (WCAG 2 A/AA rules and best practices); the serious and critical
 * violations. The context must bypass the CSP: axe is injected as a script of the test's own.
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const g = globalThis as any;
    const r = await g.axe.run(g.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return r.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: any) => n.target.join(' ')),
    }));
  });
  return (result as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

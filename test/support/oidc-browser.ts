/**
 * A small "browser" for end-to-end sign-in tests: Node's fetch plus a cookie jar, following
 * redirects by hand and posting HTML forms the way a person's browser would, across the
 * identity provider and the relying party. No JavaScript: pages that auto-submit a form
 * (oidc-provider's form_post) are submitted with `submit(page, {})`.
 *
 * Cookies follow RFC 6265 like real browsers: they belong to a host, not an origin, so two
 * servers on 127.0.0.1 with different ports share them (a name clash there is a real bug).
 */

export interface Form {
  /** Absolute URL the form submits to (its action resolved against the page). */
  action: string;
  method: 'GET' | 'POST';
  id?: string;
  /** Successful controls with their current values (hidden, text, password, checked boxes…). */
  fields: Record<string, string>;
  /** Names of every input, filled or not: `password` in `names` tells a sign-in form. */
  names: string[];
}

export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
  forms: Form[];
  /** Set when the browser stopped at a redirect (`stopAt`): the absolute URL it points to. */
  redirectTo?: string;
}

export interface NavigateOptions {
  /** Do not follow a redirect whose target starts with this; return the redirecting response. */
  stopAt?: string;
}

interface Cookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
}

const MAX_REDIRECTS = 20;

/** Cookie storage keyed like a browser's: domain, path and name. */
export class CookieJar {
  private readonly cookies: Cookie[] = [];

  /** Stores one Set-Cookie header received from `url`; a past expiry deletes the cookie. */
  store(url: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const host = url.hostname.toLowerCase();
    let domain = host;
    let hostOnly = true;
    let path: string | undefined;
    let secure = false;
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attribute of attributes) {
      const i = attribute.indexOf('=');
      const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : attribute.slice(i + 1).trim();
      if (key === 'domain' && val) {
        domain = val.replace(/^\./, '').toLowerCase();
        hostOnly = false;
      } else if (key === 'path' && val.startsWith('/')) path = val;
      else if (key === 'secure') secure = true;
      else if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = Number(val);
      else if (key === 'expires' && !Number.isNaN(Date.parse(val))) expires = Date.parse(val);
    }
    if (!hostOnly && !domainMatches(host, domain)) return; // a server may not set another's cookies
    if (maxAge !== undefined) expires = Date.now() + maxAge * 1000; // Max-Age wins over Expires
    const cookie: Cookie = { name, value, domain, hostOnly, path: path ?? defaultPath(url), secure };
    if (expires !== undefined) cookie.expires = expires;
    const at = this.cookies.findIndex(
      (c) => c.name === name && c.domain === domain && c.path === cookie.path,
    );
    if (at >= 0) this.cookies.splice(at, 1);
    if (expires === undefined || expires > Date.now()) this.cookies.push(cookie);
  }

  /** The cookies a request to `url` carries, longest path first, as browsers send them. */
  matching(url: URL): { name: string; value: string }[] {
    const host = url.hostname.toLowerCase();
    const now = Date.now();
    return this.cookies
      .filter((c) => (c.hostOnly ? c.domain === host : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(url.pathname, c.path))
      .filter((c) => !c.secure || url.protocol === 'https:' || isLoopback(host))
      .filter((c) => c.expires === undefined || c.expires > now)
      .sort((a, b) => b.path.length - a.path.length)
      .map(({ name, value }) => ({ name, value }));
  }

  /** Cookie `name` of `url`'s host under any path, the one `url` would be sent first. */
  find(url: URL, name: string): string | undefined {
    const host = url.hostname.toLowerCase();
    const now = Date.now();
    const sent = this.matching(url).find((c) => c.name === name);
    if (sent) return sent.value;
    return this.cookies.find(
      (c) =>
        c.name === name &&
        (c.hostOnly ? c.domain === host : domainMatches(host, c.domain)) &&
        (c.expires === undefined || c.expires > now),
    )?.value;
  }

  header(url: URL): string | undefined {
    const list = this.matching(url);
    return list.length ? list.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
  return p.slice(0, p.lastIndexOf('/'));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[\da-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isNaN(code) ? whole : String.fromCodePoint(code);
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/** Attributes of one start tag, names lower-cased, values decoded; any order, any quotes. */
function attributesOf(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of tag.matchAll(re)) {
    const name = m[1]!.toLowerCase();
    if (!attrs.has(name)) attrs.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

// A start tag whose quoted attribute values may hold '>'.
const TAG_BODY = `((?:[^>"']|"[^"]*"|'[^']*')*)`;
const FORM_RE = new RegExp(`<form\\b${TAG_BODY}>([\\s\\S]*?)</form\\s*>`, 'gi');
const INPUT_RE = new RegExp(`<input\\b${TAG_BODY}>`, 'gi');
const UNSENT_TYPES = new Set(['submit', 'button', 'image', 'reset', 'file']);

/** The forms of a page and their inputs (not textarea, select or buttons). */
export function parseForms(html: string, pageUrl: string): Form[] {
  const forms: Form[] = [];
  for (const [, formTag = '', inner = ''] of html.matchAll(FORM_RE)) {
    const attrs = attributesOf(formTag);
    const fields: Record<string, string> = {};
    const names: string[] = [];
    for (const [, inputTag = ''] of inner.matchAll(INPUT_RE)) {
      const input = attributesOf(inputTag);
      const name = input.get('name');
      if (!name) continue;
      names.push(name);
      const type = (input.get('type') ?? 'text').toLowerCase();
      if (UNSENT_TYPES.has(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !input.has('checked')) continue;
      fields[name] = input.get('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
    }
    const form: Form = {
      action: new URL(attrs.get('action') || pageUrl, pageUrl).href,
      method: (attrs.get('method') ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
      names,
    };
    const id = attrs.get('id');
    if (id) form.id = id;
    forms.push(form);
  }
  return forms;
}

export class TestBrowser {
  readonly cookies = new CookieJar();
  /** Every URL requested, redirects included, in order. */
  readonly history: string[] = [];

  /** Opens `url` and follows redirects to the final page (or to `stopAt`). */
  get(url: string, options: NavigateOptions = {}): Promise<Page> {
    return this.navigate(new URL(url), 'GET', undefined, options);
  }

  /**
   * Submits `page.forms[formIndex]`: its own fields, overridden and extended by `fields` (a
   * clicked button's name and value go there), urlencoded, then follows redirects.
   */
  submit(
    page: Page,
    fields: Record<string, string> = {},
    formIndex = 0,
    options: NavigateOptions = {},
  ): Promise<Page> {
    const form = page.forms[formIndex];
    if (!form) {
      throw new Error(`no form #${formIndex} on ${page.url} (status ${page.status}): ${excerpt(page.body)}`);
    }
    const data = new URLSearchParams({ ...form.fields, ...fields });
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = data.toString();
      return this.navigate(target, 'GET', undefined, options);
    }
    return this.navigate(new URL(form.action), 'POST', data.toString(), options, new URL(page.url).origin);
  }

  /** The value of cookie `name` held for `origin`'s host, whatever its path. */
  cookie(origin: string, name: string): string | undefined {
    return this.cookies.find(new URL(origin), name);
  }

  private async navigate(
    start: URL,
    startMethod: 'GET' | 'POST',
    startBody: string | undefined,
    options: NavigateOptions,
    origin?: string,
  ): Promise<Page> {
    let url = start;
    let method = startMethod;
    let body = startBody;
    for (let hops = 0; hops <= MAX_REDIRECTS; hops++) {
      this.history.push(url.href);
      const headers: Record<string, string> = {
        accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
        'user-agent': 'tunnelplane-test-browser',
      };
      const cookie = this.cookies.header(url);
      if (cookie) headers.cookie = cookie;
      if (method === 'POST') {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers.origin = origin ?? url.origin;
      }
      const res = await fetch(url, { method, headers, body, redirect: 'manual' });
      for (const header of res.headers.getSetCookie()) this.cookies.store(url, header);
      const location = res.headers.get('location');
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        const next = new URL(location, url);
        if (options.stopAt && next.href.startsWith(options.stopAt)) {
          return { ...(await this.page(url, res)), redirectTo: next.href };
        }
        await res.body?.cancel();
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      return this.page(url, res);
    }
    throw new Error(
      `more than ${MAX_REDIRECTS} redirects from ${start.href}: ${this.history.slice(-5).join(' → ')}`,
    );
  }

  private async page(url: URL, res: Response): Promise<Page> {
    const body = await res.text();
    return {
      url: url.href,
      status: res.status,
      headers: res.headers,
      body,
      forms: parseForms(body, url.href),
    };
  }
}

function excerpt(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

function hasPassword(form: Form): boolean {
  return form.names.includes('password');
}

/**
 * Signs in through the relying party: opens `startUrl` (its login route), fills the provider's
 * sign-in form when one is shown (none when the provider session is still alive), and follows
 * the redirects back. Returns the last page: the relying party's landing page, the sign-in form
 * again (wrong password), or the redirect at `stopAt`.
 */
export async function signInAtProvider(
  browser: TestBrowser,
  startUrl: string,
  account: { username: string; password: string },
  options: NavigateOptions = {},
): Promise<Page> {
  const page = await browser.get(startUrl, options);
  const index = page.forms.findIndex(hasPassword);
  if (page.redirectTo || index < 0) return page;
  return browser.submit(page, { username: account.username, password: account.password }, index, options);
}

/**
 * Approves a device sign-in as its user would, in a fresh browser: opens the verification URL
 * (with the user code), confirms the code, signs in, and returns the last page ("Device signed
 * in" on success). Stops early and returns the page when an expected form is missing (an
 * unknown or expired code, a wrong password).
 */
export async function approveDevice(
  verificationUriComplete: string,
  account: { username: string; password: string },
): Promise<Page> {
  const browser = new TestBrowser();
  let page = await browser.get(verificationUriComplete);
  // oidc-provider first answers with a self-submitting form carrying the code and its xsrf token.
  if (page.forms[0] && 'user_code' in page.forms[0].fields && !('confirm' in page.forms[0].fields)) {
    page = await browser.submit(page, {});
  }
  const confirm = page.forms.findIndex((f) => f.fields.confirm === 'yes');
  if (confirm < 0) return page;
  page = await browser.submit(page, {}, confirm);
  const login = page.forms.findIndex(hasPassword);
  if (login < 0) return page;
  return browser.submit(page, { username: account.username, password: account.password }, login);
}

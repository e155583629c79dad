/**
 * The OpenAPI document is the contract, and this walks it against the real stack
 * (test/support/stack.ts, with a local OpenID provider and a webhook): every operation in
 * `/openapi.json` must be in WALK, whose entry drives real requests to its success answers and to
 * its documented refusals; every real answer is checked against the document — its status is
 * declared, its body matches the declared schema (ajv; objects closed to undeclared properties,
 * so a field the server sends and the document omits fails too), an error's code is one the
 * answer names, its declared headers (`Location`) are there and a `Location` leads to the object.
 * Authentication's refusals (401, 403, 429) and a too-long path name (400) are provoked for every
 * operation from the document alone. At the end every declared status of every operation must have
 * been seen, unless its entry says why it cannot be reached here.
 *
 * A new operation fails `every operation is walked` until WALK has an entry for it; a new status
 * (412, 422…) fails `every declared answer was seen` until the entry provokes it.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalProvider, type LocalProvider } from '../../src/identity/provider/local-provider.js';
import { freePort } from '../../src/main/free-port.js';
import { codesIn } from '../../src/server/schemas.js';
import { approveDevice, signInAtProvider, TestBrowser } from '../support/oidc-browser.js';
import { PASSWORDS, startStack, testHash, type Stack } from '../support/stack.js';

const CLIENT = { clientId: 'tunnelplane', clientSecret: 'a-long-client-secret-for-tests' };
const PASSWORD = 'walker-password';

interface Operation {
  id: string;
  method: string;
  path: string;
  op: any;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

interface CallOptions {
  /** A user name (password PASSWORD, or the stack's), `null` for no credentials, or headers of one's own. */
  as?: string | null;
  password?: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** The status this request must get. */
  expect?: number;
  /** The error code it must carry. */
  code?: string;
}

let stack: Stack;
let idp: LocalProvider;
let doc: any;
const operations = new Map<string, Operation>();
const seen = new Map<string, Set<string>>();
const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<object, ValidateFunction>();

/** Objects close to undeclared properties (unless they say otherwise); refs point into the document. */
function strict(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === '$ref' ? String(v).replace(/^#/, 'openapi.json#') : strict(v);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function validatorOf(schema: object) {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = ajv.compile(strict(schema))));
  return v;
}

/** The operation a path (with its query) answers to, by the document's templates. */
function operationAt(method: string, url: string): Operation | undefined {
  const path = url.split('?')[0]!;
  return [...operations.values()].find(
    (o) => o.method === method && new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

/** Checks a real answer of `opId` against the document; records what was seen. */
function check(opId: string, res: Answer, what: string) {
  const { op } = operations.get(opId)!;
  const status = String(res.status);
  // Ranges only for what any request may meet (too large, not JSON, a failure of the server, an
  // Idempotency-Key used already).
  const idempotency = [
    'request.invalid_idempotency_key',
    'idempotency.in_progress',
    'idempotency.key_reused',
  ].includes(res.body?.error?.code);
  const ranged = [413, 414, 415].includes(res.status) || res.status >= 500 || idempotency;
  const key = idempotency ? '4XX' : op.responses[status] ? status : ranged ? `${status[0]}XX` : status;
  const declared = op.responses[key];
  expect(declared, `${what}: ${res.status} is not declared (${res.text.slice(0, 300)})`).toBeDefined();
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (declared.content) {
    const media = declared.content[type];
    expect(
      media,
      `${what}: ${res.status} in ${type || 'nothing'}, declared ${Object.keys(declared.content)}`,
    ).toBeDefined();
    if (type.endsWith('json')) {
      const validate = validatorOf(media.schema);
      const ok = validate(res.body);
      expect(
        ok,
        `${what}: ${res.status} body does not match: ${ajv.errorsText(validate.errors)} in ${res.text.slice(0, 400)}`,
      ).toBe(true);
    } else {
      expect(media.schema.type, `${what}: ${type} is text`).toBe('string');
    }
  } else {
    expect(res.text, `${what}: ${res.status} is declared without a body`).toBe('');
  }
  if (res.status >= 400 && res.body?.error)
    expect(codesIn(declared.description), `${what}: ${res.status} names its codes`).toContain(
      res.body.error.code,
    );
  for (const name of Object.keys(declared.headers ?? {}))
    expect(res.headers.get(name), `${what}: ${res.status} declares ${name}`).toBeTruthy();
  if (res.headers.get('location'))
    expect(declared.headers?.location, `${what}: Location sent but not declared`).toBeDefined();
  (seen.get(opId) ?? seen.set(opId, new Set()).get(opId)!).add(key);
}

function authHeaders(as: string | null | undefined, password?: string): Record<string, string> {
  if (as === null) return {};
  const user = as ?? 'walker';
  const pass = password ?? PASSWORDS[user] ?? PASSWORD;
  return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

function urlOf(opId: string, params: Record<string, string> = {}, query = '') {
  const { path } = operations.get(opId)!;
  const filled = path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
    encodeURIComponent(params[name] ?? 'nosuch'),
  );
  return filled + (query ? `?${query}` : '');
}

async function send(method: string, url: string, headers: Record<string, string>, body?: unknown) {
  const init: RequestInit = { method, headers: { ...headers }, redirect: 'manual' };
  if (typeof body === 'string') init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(stack.url + url, init);
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, text, body: json };
}

/** Calls `opId` as the options say, checks the answer against the document, and returns it. */
async function call(opId: string, o: CallOptions = {}): Promise<Answer> {
  const { method } = operations.get(opId)!;
  const url = urlOf(opId, o.params, o.query);
  const res = await send(method, url, { ...authHeaders(o.as, o.password), ...o.headers }, o.body);
  const what = `${opId} (${method} ${url})`;
  if (o.expect !== undefined) expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(o.expect);
  if (o.code !== undefined) expect(res.body?.error?.code, `${what}: ${res.text.slice(0, 300)}`).toBe(o.code);
  check(opId, res, what);
  return res;
}

/** Follows a created object's Location with the GET the document has for it. */
async function followLocation(res: Answer, as?: string) {
  const location = res.headers.get('location')!;
  const get = operationAt('GET', location) ?? operationAt('DELETE', location);
  expect(get, `Location ${location} is a path of the document`).toBeDefined();
  if (get!.method !== 'GET') return location;
  const got = await send('GET', location, authHeaders(as));
  expect(got.status, `GET ${location}`).toBe(200);
  check(get!.id, got, `GET ${location}`);
  return location;
}

const tunnelOf = async (as: string, body: object = {}, query = '') =>
  (await call('createTunnel', { as, body, query, ...(query ? {} : { expect: 201 }) })).body.name as string;

/** A browser signed in with a password: its cookie and CSRF token. */
async function session(user = 'walker') {
  const res = await send('POST', '/auth/password', {}, { name: user, password: PASSWORDS[user] ?? PASSWORD });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: res.body.csrfToken as string };
}

interface Entry {
  /** Drives the operation to its answers (each call is checked against the document). */
  walk(): Promise<void>;
  /** Declared statuses this stack cannot produce, each with why (and where it is tested). */
  unreachable?: Record<string, string>;
}

const NO_IDP = 'this stack has an identity provider, so sso.not_configured cannot happen (identity.e2e)';
const SIGN_IN_PACE =
  'sign-ins started per address per minute: 30 more would pace the rest of this walk (identity-attacks.e2e)';

/** Every operation of the document, and how to reach its answers. */
const WALK: Record<string, Entry> = {
  // --- sign-in ----------------------------------------------------------------------------
  getSignInMethods: { walk: async () => void (await call('getSignInMethods', { as: null, expect: 200 })) },
  startBrowserSignIn: {
    async walk() {
      const browser = new TestBrowser();
      const page = await browser.get(`${stack.url}/auth/login?returnTo=/api/v1/me`, { stopAt: idp.issuer });
      expect(page.status).toBe(302);
      check('startBrowserSignIn', { ...page, text: page.body, body: page.body }, 'GET /auth/login');
      await call('startBrowserSignIn', { as: null, query: 'bogus=1', expect: 400 });
    },
    unreachable: { 404: NO_IDP, 429: SIGN_IN_PACE },
  },
  finishBrowserSignIn: {
    async walk() {
      const callbackOf = async (user: string) => {
        const browser = new TestBrowser();
        const at = await signInAtProvider(
          browser,
          `${stack.url}/auth/login?returnTo=/api/v1/me`,
          idp.accounts.find((a) => a.username === user)!,
          { stopAt: `${stack.url}/auth/callback` },
        );
        const url = new URL(at.redirectTo!);
        return send('GET', url.pathname + url.search, { cookie: browser.cookies.header(url) ?? '' });
      };
      const done = await callbackOf('bob');
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe('/api/v1/me');
      check('finishBrowserSignIn', done, 'GET /auth/callback');
      await call('finishBrowserSignIn', {
        as: null,
        query: 'code=x&state=y',
        expect: 401,
        code: 'sso.failed',
      });
      // Disabled at Tunnelplane: the provider's yes is not enough.
      await call('updateUser', {
        as: 'admin',
        params: { user: 'bob' },
        body: { disabled: true },
        expect: 200,
      });
      const refused = await callbackOf('bob');
      expect(refused.body.error.code).toBe('auth.disabled');
      check('finishBrowserSignIn', refused, 'GET /auth/callback (disabled)');
      await call('updateUser', {
        as: 'admin',
        params: { user: 'bob' },
        body: { disabled: false },
        expect: 200,
      });
    },
    unreachable: { 404: NO_IDP },
  },
  signInWithPassword: {
    async walk() {
      await call('signInWithPassword', {
        as: null,
        body: { name: 'walker', password: PASSWORD },
        expect: 200,
      });
      await call('signInWithPassword', { as: null, body: { name: 'walker' }, expect: 400 });
      await call('signInWithPassword', {
        as: null,
        body: { name: 'walker', password: 'wrong-one' },
        expect: 401,
      });
      await call('signInWithPassword', {
        as: null,
        body: { name: 'walker-disabled', password: PASSWORD },
        expect: 403,
        code: 'auth.disabled',
      });
      await throttled();
      await call('signInWithPassword', {
        as: null,
        body: { name: 'walker-throttled', password: guess() },
        expect: 429,
      });
    },
  },
  getSession: {
    async walk() {
      const s = await session();
      await call('getSession', { as: null, headers: { cookie: s.cookie }, expect: 200 });
    },
  },
  signOut: {
    async walk() {
      const s = await session();
      await call('signOut', { as: null, headers: { cookie: s.cookie }, expect: 403, code: 'auth.csrf' });
      await call('signOut', { as: null, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, expect: 204 });
      await call('getSession', { as: null, headers: { cookie: s.cookie }, expect: 401 });
    },
  },
  startDeviceSignIn: {
    walk: async () => void (await call('startDeviceSignIn', { as: null, expect: 200 })),
    unreachable: { 404: NO_IDP, 429: SIGN_IN_PACE },
  },
  pollDeviceSignIn: {
    async walk() {
      const start = (await call('startDeviceSignIn', { as: null, expect: 200 })).body;
      await call('pollDeviceSignIn', {
        as: null,
        body: { deviceCode: start.deviceCode },
        expect: 400,
        code: 'sso.pending',
      });
      const approved = await approveDevice(
        start.verificationUriComplete,
        idp.accounts.find((a) => a.username === 'cy')!,
      );
      expect(approved.status).toBe(200);
      const made = await call('pollDeviceSignIn', {
        as: null,
        body: { deviceCode: start.deviceCode },
        expect: 201,
      });
      expect(await followLocation(made)).toBe(`/api/v1/tokens/${made.body.token.id}`);
      await call('pollDeviceSignIn', {
        as: null,
        body: { deviceCode: start.deviceCode },
        expect: 400,
        code: 'sso.expired',
      });
      // Approved by someone Tunnelplane disabled: no token.
      await call('updateUser', {
        as: 'admin',
        params: { user: 'cy' },
        body: { disabled: true },
        expect: 200,
      });
      const again = (await call('startDeviceSignIn', { as: null, expect: 200 })).body;
      await approveDevice(
        again.verificationUriComplete,
        idp.accounts.find((a) => a.username === 'cy')!,
      );
      await call('pollDeviceSignIn', {
        as: null,
        body: { deviceCode: again.deviceCode },
        expect: 403,
        code: 'auth.disabled',
      });
      await call('updateUser', {
        as: 'admin',
        params: { user: 'cy' },
        body: { disabled: false },
        expect: 200,
      });
    },
    unreachable: { 404: NO_IDP, 429: 'device polls are paced per device code (60 a minute); identity.e2e' },
  },

  // --- me, tokens, events -----------------------------------------------------------------
  getMe: { walk: async () => void (await call('getMe', { expect: 200 })) },
  changePassword: {
    async walk() {
      await call('changePassword', {
        as: 'walker-pw',
        body: { currentPassword: 'nope-nope', newPassword: 'another-password' },
        expect: 403,
        code: 'auth.wrong_password',
      });
      await call('changePassword', {
        as: 'walker-pw',
        body: { currentPassword: PASSWORD, newPassword: 'short' },
        expect: 400,
        code: 'user.weak_password',
      });
      await call('changePassword', {
        as: 'walker-pw',
        body: { currentPassword: PASSWORD, newPassword: PASSWORD },
        expect: 200,
      });
    },
  },
  listMyTeams: { walk: async () => void (await call('listMyTeams', { as: 'walker-member', expect: 200 })) },
  createToken: {
    async walk() {
      const made = await call('createToken', {
        body: { name: 'walk', scopes: ['read'], expiresInDays: 1 },
        expect: 201,
      });
      expect(await followLocation(made)).toBe(`/api/v1/tokens/${made.body.token.id}`);
      await call('createToken', {
        body: { name: 'walk', scopes: ['everything'] },
        expect: 400,
        code: 'token.bad_scope',
      });
      const bearer = { authorization: `Bearer ${made.body.secret}` };
      await call('createToken', {
        as: null,
        headers: bearer,
        body: { name: 'more' },
        expect: 403,
        code: 'auth.scope',
      });
      const writer = (await call('createToken', { body: { name: 'w', expiresInDays: 1 }, expect: 201 })).body
        .secret;
      await call('createToken', {
        as: null,
        headers: { authorization: `Bearer ${writer}` },
        body: { name: 'longer', expiresInDays: 30 },
        expect: 403,
        code: 'token.exceeds',
      });
    },
  },
  listTokens: { walk: async () => void (await call('listTokens', { expect: 200 })) },
  revokeToken: {
    async walk() {
      const made = await call('createToken', { body: { name: 'to-revoke' }, expect: 201 });
      const location = made.headers.get('location')!;
      const id = decodeURIComponent(location.split('/').pop()!);
      await call('revokeToken', { params: { id }, expect: 204 });
      await call('revokeToken', { params: { id }, expect: 404, code: 'token.not_found' });
    },
  },
  listEvents: {
    async walk() {
      await call('listEvents', { expect: 200 });
      await call('listEvents', { query: 'limit=0', expect: 400 });
    },
  },
  streamEvents: {
    async walk() {
      const open: AbortController[] = [];
      try {
        for (let i = 0; i < 6; i++) {
          const ctl = new AbortController();
          open.push(ctl);
          const res = await fetch(`${stack.url}/api/v1/events/stream`, {
            headers: authHeaders('walker-stream'),
            signal: ctl.signal,
          });
          if (i < 5) {
            expect(res.status).toBe(200);
            // The stream never ends: its head is what the document describes.
            check(
              'streamEvents',
              { status: res.status, headers: res.headers, text: 'x', body: null },
              'stream',
            );
          } else {
            const text = await res.text();
            const answer = { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
            expect(answer.body.error.code).toBe('rate.limited');
            check('streamEvents', answer, 'a sixth stream');
          }
        }
      } finally {
        for (const ctl of open) ctl.abort();
      }
      await call('streamEvents', { query: 'after=-1', expect: 400 });
    },
  },

  // --- tunnels ----------------------------------------------------------------------------
  createTunnel: {
    async walk() {
      const made = await call('createTunnel', { body: { name: 'walk-made' }, expect: 201 });
      expect(await followLocation(made, 'walker')).toBe('/api/v1/tunnels/walk-made');
      const pending = await call('createTunnel', { query: 'wait=0', body: {}, expect: 202 });
      await followLocation(pending, 'walker');
      await call('createTunnel', { body: { name: 'Bad_Name' }, expect: 400, code: 'tunnel.invalid_name' });
      await call('createTunnel', { body: { colour: 'blue' }, expect: 400, code: 'request.invalid' });
      await call('createTunnel', { body: { name: 'walk-made' }, expect: 409, code: 'tunnel.name_taken' });
      await call('createTunnel', { body: { team: 'nosuch' }, expect: 404, code: 'team.not_found' });
      await call('createTunnel', { as: 'walker-noquota', body: {}, expect: 403, code: 'quota.exceeded' });
      // A retried create with the same Idempotency-Key answers as the first; another request with it is refused.
      const key = { 'idempotency-key': 'walk-once' };
      const once = await call('createTunnel', { body: { name: 'walk-once' }, headers: key, expect: 201 });
      const again = await call('createTunnel', { body: { name: 'walk-once' }, headers: key, expect: 201 });
      expect(again.body).toEqual(once.body);
      await call('createTunnel', {
        body: { name: 'walk-twice' },
        headers: key,
        code: 'idempotency.key_reused',
      });
      await call('createTunnel', {
        body: {},
        headers: { 'idempotency-key': 'not ascii é' },
        expect: 400,
        code: 'request.invalid_idempotency_key',
      });
      await call('deleteTunnel', { params: { tunnel: 'walk-once' }, expect: 204 });
    },
  },
  updateTunnel: {
    async walk() {
      const name = await tunnelOf('walker', { name: 'walk-moving', configMode: 'local' });
      const got = await call('getTunnel', { params: { tunnel: name }, expect: 200 });
      const etag = got.headers.get('etag')!;
      await call('updateTunnel', {
        params: { tunnel: name },
        body: { configMode: 'remote' },
        headers: { 'if-match': '"999"' },
        expect: 412,
        code: 'request.precondition_failed',
      });
      await call('updateTunnel', {
        params: { tunnel: name },
        body: { configMode: 'remote' },
        headers: { 'if-match': 'yesterday' },
        expect: 400,
        code: 'request.invalid_precondition',
      });
      await call('updateTunnel', {
        params: { tunnel: name },
        body: { configMode: 'remote' },
        headers: { 'if-match': etag },
        expect: 200,
      });
      await call('updateTunnel', {
        params: { tunnel: name },
        body: { configMode: 'local' },
        expect: 400,
        code: 'tunnel.config_mode_change',
      });
      await call('updateTunnel', {
        params: { tunnel: name },
        body: {},
        expect: 400,
        code: 'request.invalid',
      });
      await call('updateTunnel', {
        params: { tunnel: 'nosuch' },
        body: { configMode: 'remote' },
        expect: 404,
        code: 'tunnel.not_found',
      });
      const going = await tunnelOf('walker', { name: 'walk-going' });
      await call('deleteTunnel', { params: { tunnel: going }, query: 'wait=0' });
      await call('updateTunnel', {
        params: { tunnel: going },
        body: { configMode: 'remote' },
        expect: 409,
        code: 'tunnel.deleting',
      });
    },
  },
  listTunnels: {
    async walk() {
      await call('listTunnels', { expect: 200 });
      await call('listTunnels', { as: 'walker-member', query: 'team=walkers', expect: 200 });
      await call('listTunnels', { query: 'limit=1', expect: 200 });
      await call('listTunnels', { query: 'limit=0', expect: 400 });
      await call('listTunnels', { query: 'team=nosuch', expect: 404, code: 'team.not_found' });
    },
  },
  getTunnel: {
    async walk() {
      await call('getTunnel', { params: { tunnel: fixtures.tunnel }, expect: 200 });
      await call('getTunnel', { params: { tunnel: 'nosuch' }, expect: 404, code: 'tunnel.not_found' });
      await call('getTunnel', { params: { tunnel: 'Bad_Name' }, expect: 400, code: 'tunnel.invalid_name' });
    },
  },
  deleteTunnel: {
    async walk() {
      const a = await tunnelOf('walker');
      await call('deleteTunnel', { params: { tunnel: a }, expect: 204 });
      await call('deleteTunnel', { params: { tunnel: a }, expect: 404, code: 'tunnel.not_found' });
      const b = await tunnelOf('walker');
      await call('deleteTunnel', { params: { tunnel: b }, query: 'wait=0', expect: 202 });
      await call('deleteTunnel', { params: { tunnel: b }, query: 'wait=-1', expect: 400 });
    },
  },
  getTunnelCredentials: fileOf('getTunnelCredentials'),
  getTunnelConfig: fileOf('getTunnelConfig'),
  getTunnelToken: fileOf('getTunnelToken'),

  // --- routes -----------------------------------------------------------------------------
  createRoute: {
    async walk() {
      const params = { tunnel: fixtures.tunnel };
      const made = await call('createRoute', {
        params,
        body: { service: 'http://localhost:8001', name: 'made' },
        expect: 201,
      });
      expect(await followLocation(made, 'walker')).toBe(`/api/v1/tunnels/${fixtures.tunnel}/routes/made`);
      const pending = await call('createRoute', {
        params,
        query: 'wait=0',
        body: { service: 'http://localhost:8002' },
        expect: 202,
      });
      await followLocation(pending, 'walker');
      await call('createRoute', {
        params,
        body: { service: 'ftp://files' },
        expect: 400,
        code: 'route.invalid_service',
      });
      await call('createRoute', { params, body: {}, expect: 400, code: 'request.invalid' });
      await call('createRoute', {
        params,
        body: { service: 'http://localhost:8001', zone: 'other.org' },
        expect: 422,
        code: 'route.unknown_zone',
      });
      await call('createRoute', {
        params,
        body: { service: 'http://localhost:8001', name: 'made' },
        expect: 409,
        code: 'route.name_taken',
      });
      await call('createRoute', {
        params: { tunnel: 'nosuch' },
        body: { service: 'http://localhost:1' },
        expect: 404,
      });
      await call('createRoute', {
        as: 'walker-noquota',
        params: { tunnel: fixtures.noQuotaTunnel },
        body: { service: 'http://localhost:1' },
        expect: 403,
        code: 'quota.exceeded',
      });
    },
  },
  listRoutes: {
    async walk() {
      await call('listRoutes', { params: { tunnel: fixtures.tunnel }, expect: 200 });
      await call('listRoutes', { params: { tunnel: 'nosuch' }, expect: 404 });
    },
  },
  getRoute: {
    async walk() {
      const { tunnel, route, hostname } = fixtures;
      await call('getRoute', { params: { tunnel, route }, expect: 200 });
      await call('getRoute', { params: { tunnel, route: hostname }, expect: 200 });
      await call('getRoute', { params: { tunnel, route: 'nosuch' }, expect: 404, code: 'route.not_found' });
    },
  },
  listZones: {
    async walk() {
      const zones = await call('listZones', { expect: 200 });
      expect(zones.body.defaultZone).toBe('example.com');
    },
  },
  ...Object.fromEntries(
    (['user', 'team'] as const).flatMap((kind) => {
      const Kind = kind === 'user' ? 'User' : 'Team';
      const name = kind === 'user' ? 'walker-member' : 'walkers';
      const missing = kind === 'user' ? 'user.not_found' : 'team.not_found';
      return [
        [
          `get${Kind}Zones`,
          {
            async walk() {
              await call(`get${Kind}Zones`, { as: 'admin', params: { [kind]: name }, expect: 200 });
              await call(`get${Kind}Zones`, {
                as: 'admin',
                params: { [kind]: 'nosuch' },
                expect: 404,
                code: missing,
              });
            },
          },
        ],
        [
          `set${Kind}Zones`,
          {
            async walk() {
              const params = { [kind]: name };
              await call(`set${Kind}Zones`, {
                as: 'admin',
                params,
                body: { zones: ['example.com'] },
                expect: 200,
              });
              await call(`set${Kind}Zones`, {
                as: 'admin',
                params,
                body: { zones: ['other.org'] },
                expect: 422,
                code: 'zone.unknown',
              });
              await call(`set${Kind}Zones`, {
                as: 'admin',
                params: { [kind]: 'nosuch' },
                body: { zones: [] },
                expect: 404,
                code: missing,
              });
              await call(`set${Kind}Zones`, {
                as: 'admin',
                params,
                body: {},
                expect: 400,
                code: 'request.invalid',
              });
              await call(`set${Kind}Zones`, { as: 'admin', params, body: { zones: [] }, expect: 200 });
            },
          },
        ],
      ];
    }),
  ),
  updateRoute: {
    async walk() {
      const { tunnel } = fixtures;
      const params = { tunnel, route: 'walkpatch' };
      await call('createRoute', {
        params: { tunnel },
        body: { service: 'http://localhost:8010', name: 'walkpatch' },
        expect: 201,
      });
      const got = await call('getRoute', { params, expect: 200 });
      await call('updateRoute', {
        params,
        body: { service: 'http://localhost:8011' },
        headers: { 'if-match': got.headers.get('etag')! },
        expect: 200,
      });
      await call('updateRoute', {
        params,
        body: { service: 'http://localhost:8012' },
        headers: { 'if-match': got.headers.get('etag')! },
        expect: 412,
        code: 'request.precondition_failed',
      });
      await call('updateRoute', {
        params,
        body: { service: 'tcp://db:5432' },
        expect: 400,
        code: 'route.protocol_change',
      });
      await call('updateRoute', {
        params,
        body: { originRequest: { bogus: true } },
        expect: 400,
        code: 'route.invalid_origin_request',
      });
      await call('updateRoute', { params, body: {}, expect: 400, code: 'request.invalid' });
      await call('updateRoute', {
        params: { tunnel, route: 'nosuch' },
        body: { service: 'http://x:1' },
        expect: 404,
        code: 'route.not_found',
      });
      await call('updateRoute', {
        as: 'walker-noquota',
        params: { tunnel: fixtures.noQuotaTunnel, route: 'nosuch' },
        body: { allowIps: ['203.0.113.0/24'] },
        expect: 404,
      });
    },
    unreachable: {
      403: 'quota.exceeded when a route becomes protected past the quota: routes-edit.e2e',
      409: 'tunnel.deleting and capacity.exhausted race a deletion or the shared account: routes-edit.e2e, tenants.e2e',
    },
  },
  deleteRoute: {
    async walk() {
      const { tunnel } = fixtures;
      const a = (
        await call('createRoute', {
          params: { tunnel },
          body: { service: 'http://localhost:8003' },
          expect: 201,
        })
      ).body.name;
      await call('deleteRoute', { params: { tunnel, route: a }, expect: 204 });
      await call('deleteRoute', { params: { tunnel, route: a }, expect: 404, code: 'route.not_found' });
      const b = (
        await call('createRoute', {
          params: { tunnel },
          body: { service: 'http://localhost:8004' },
          expect: 201,
        })
      ).body.name;
      await call('deleteRoute', { params: { tunnel, route: b }, query: 'wait=0', expect: 202 });
      await call('deleteRoute', { params: { tunnel, route: b }, query: 'wait=x', expect: 400 });
    },
  },
  deleteRoutesOfService: {
    async walk() {
      const { tunnel } = fixtures;
      await call('createRoute', {
        params: { tunnel },
        body: { service: 'http://localhost:8005' },
        expect: 201,
      });
      const query = `service=${encodeURIComponent('http://localhost:8005')}`;
      const gone = await call('deleteRoutesOfService', { params: { tunnel }, query, expect: 200 });
      expect(gone.body.deleted).toHaveLength(1);
      await call('deleteRoutesOfService', {
        params: { tunnel },
        query,
        expect: 404,
        code: 'route.not_found',
      });
      await call('deleteRoutesOfService', { params: { tunnel }, expect: 400, code: 'request.invalid' });
    },
  },

  // --- admin ------------------------------------------------------------------------------
  listUsers: { walk: async () => void (await call('listUsers', { as: 'admin', expect: 200 })) },
  createUser: {
    async walk() {
      const made = await call('createUser', {
        as: 'admin',
        body: { name: 'walk-made', password: PASSWORD },
        expect: 201,
      });
      expect(await followLocation(made, 'admin')).toBe('/api/v1/admin/users/walk-made');
      await call('createUser', {
        as: 'admin',
        body: { name: 'walk-made' },
        expect: 409,
        code: 'user.name_taken',
      });
      await call('createUser', {
        as: 'admin',
        body: { name: 'no spaces' },
        expect: 400,
        code: 'user.invalid_name',
      });
      await call('createUser', { as: 'walker', body: { name: 'x' }, expect: 403, code: 'auth.forbidden' });
    },
  },
  getUser: {
    async walk() {
      await call('getUser', { as: 'admin', params: { user: 'walker' }, expect: 200 });
      await call('getUser', { as: 'admin', params: { user: 'nosuch' }, expect: 404, code: 'user.not_found' });
    },
  },
  updateUser: {
    async walk() {
      await call('updateUser', {
        as: 'admin',
        params: { user: 'walk-made' },
        body: { role: 'user' },
        expect: 200,
      });
      await call('updateUser', {
        as: 'admin',
        params: { user: 'admin' },
        body: { role: 'user' },
        expect: 409,
        code: 'user.last_admin',
      });
      await call('updateUser', {
        as: 'admin',
        params: { user: 'nosuch' },
        body: { role: 'user' },
        expect: 404,
      });
      await call('updateUser', { as: 'admin', params: { user: 'walker' }, body: {}, expect: 400 });
    },
  },
  deleteUser: {
    async walk() {
      await call('createUser', { as: 'admin', body: { name: 'walk-gone' }, expect: 201 });
      await call('deleteUser', { as: 'admin', params: { user: 'walk-gone' }, expect: 204 });
      await call('deleteUser', { as: 'admin', params: { user: 'walk-gone' }, expect: 404 });
      await call('deleteUser', {
        as: 'admin',
        params: { user: 'walker' },
        expect: 409,
        code: 'user.has_tunnels',
      });
    },
  },
  resetUserPassword: {
    async walk() {
      await call('resetUserPassword', {
        as: 'admin',
        params: { user: 'walk-made' },
        body: { password: 'a-new-password' },
        expect: 200,
      });
      await call('resetUserPassword', {
        as: 'admin',
        params: { user: 'walk-made' },
        body: { password: 'short' },
        expect: 400,
      });
      await call('resetUserPassword', {
        as: 'admin',
        params: { user: 'nosuch' },
        body: { password: 'a-new-password' },
        expect: 404,
      });
    },
  },
  setUserQuotas: {
    async walk() {
      await call('setUserQuotas', {
        as: 'admin',
        params: { user: 'walk-made' },
        body: { tunnels: 3, routes: null },
        expect: 200,
      });
      await call('setUserQuotas', {
        as: 'admin',
        params: { user: 'walk-made' },
        body: { tunnels: -1 },
        expect: 400,
      });
      await call('setUserQuotas', {
        as: 'admin',
        params: { user: 'nosuch' },
        body: { tunnels: 1 },
        expect: 404,
      });
    },
  },
  listTeams: { walk: async () => void (await call('listTeams', { as: 'admin', expect: 200 })) },
  createTeam: {
    async walk() {
      const made = await call('createTeam', {
        as: 'admin',
        body: { name: 'walk-team', quotas: { tunnels: 1 } },
        expect: 201,
      });
      expect(await followLocation(made, 'admin')).toBe('/api/v1/admin/teams/walk-team');
      await call('createTeam', {
        as: 'admin',
        body: { name: 'walk-team' },
        expect: 409,
        code: 'team.name_taken',
      });
      await call('createTeam', { as: 'admin', body: { name: 'no spaces' }, expect: 400 });
    },
  },
  getTeam: {
    async walk() {
      await call('getTeam', { as: 'admin', params: { team: 'walkers' }, expect: 200 });
      await call('getTeam', { as: 'admin', params: { team: 'nosuch' }, expect: 404, code: 'team.not_found' });
    },
  },
  deleteTeam: {
    async walk() {
      await call('createTeam', { as: 'admin', body: { name: 'walk-empty' }, expect: 201 });
      await call('deleteTeam', { as: 'admin', params: { team: 'walk-empty' }, expect: 204 });
      await call('deleteTeam', { as: 'admin', params: { team: 'walk-empty' }, expect: 404 });
      await call('deleteTeam', {
        as: 'admin',
        params: { team: 'walkers' },
        expect: 409,
        code: 'team.has_tunnels',
      });
    },
  },
  setTeamQuotas: {
    async walk() {
      await call('setTeamQuotas', {
        as: 'admin',
        params: { team: 'walkers' },
        body: { tunnels: 5 },
        expect: 200,
      });
      await call('setTeamQuotas', {
        as: 'admin',
        params: { team: 'walkers' },
        body: { routes: 'many' },
        expect: 400,
      });
      await call('setTeamQuotas', { as: 'admin', params: { team: 'nosuch' }, body: {}, expect: 404 });
    },
  },
  addTeamMember: {
    async walk() {
      await call('addTeamMember', {
        as: 'admin',
        params: { team: 'walkers', user: 'walk-made' },
        expect: 200,
      });
      await call('addTeamMember', { as: 'admin', params: { team: 'walkers', user: 'nosuch' }, expect: 404 });
    },
  },
  removeTeamMember: {
    async walk() {
      await call('removeTeamMember', {
        as: 'admin',
        params: { team: 'walkers', user: 'walk-made' },
        expect: 200,
      });
      await call('removeTeamMember', {
        as: 'admin',
        params: { team: 'walkers', user: 'walk-made' },
        expect: 404,
      });
    },
  },
  listAllTunnels: {
    async walk() {
      await call('listAllTunnels', { as: 'admin', expect: 200 });
      await call('listAllTunnels', { as: 'admin', query: 'owner=walker', expect: 200 });
      await call('listAllTunnels', { as: 'admin', query: 'owner=nosuch', expect: 404 });
      await call('listAllTunnels', { as: 'admin', query: 'limit=501', expect: 400 });
    },
  },
  rotateRouteToken: {
    async walk() {
      const { tunnel, route, tcpRoute } = fixtures;
      await call('rotateRouteToken', { as: 'admin', params: { tunnel, route: tcpRoute }, expect: 202 });
      await call('rotateRouteToken', {
        as: 'admin',
        params: { tunnel, route },
        expect: 409,
        code: 'route.no_service_token',
      });
      await call('rotateRouteToken', { as: 'admin', params: { tunnel, route: 'nosuch' }, expect: 404 });
    },
  },
  listWebhooks: { walk: async () => void (await call('listWebhooks', { as: 'admin', expect: 200 })) },
  testWebhook: {
    async walk() {
      await call('testWebhook', { as: 'admin', params: { name: 'walk' }, expect: 202 });
      await call('testWebhook', {
        as: 'admin',
        params: { name: 'nosuch' },
        expect: 404,
        code: 'webhook.not_found',
      });
    },
  },

  // --- the proof of concept's paths -------------------------------------------------------
  pocWelcome: { walk: async () => void (await call('pocWelcome', { as: null, expect: 200 })) },
  pocCreateTunnel: {
    async walk() {
      await call('pocCreateTunnel', { expect: 200 });
      await call('pocCreateTunnel', { as: 'walker-noquota', expect: 403, code: 'quota.exceeded' });
    },
  },
  pocListTunnels: { walk: async () => void (await call('pocListTunnels', { expect: 200 })) },
  pocGetCredentials: fileOf('pocGetCredentials', 'name'),
  pocGetConfig: fileOf('pocGetConfig', 'name'),
  pocDeleteTunnel: {
    async walk() {
      const name = (await call('pocCreateTunnel', { expect: 200 })).body.tunnel.name;
      expect((await call('pocDeleteTunnel', { params: { name }, expect: 200 })).body).toEqual({
        result: 'ok',
        name,
      });
      expect((await call('pocDeleteTunnel', { params: { name }, expect: 200 })).body.result).toBe('error');
    },
  },
  pocAddRoute: {
    async walk() {
      const name = fixtures.tunnel;
      const q = (s: string) => `service=${encodeURIComponent(s)}`;
      await call('pocAddRoute', { params: { name }, query: q('http://localhost:8010'), expect: 200 });
      expect((await call('pocAddRoute', { params: { name }, expect: 400 })).body).toEqual({
        message: "Missing parameter: 'service'",
      });
      await call('pocAddRoute', {
        params: { name },
        query: q('ftp://x'),
        expect: 400,
        code: 'route.invalid_service',
      });
      await call('pocAddRoute', { params: { name: 'nosuch' }, query: q('http://localhost:1'), expect: 404 });
      await call('pocAddRoute', {
        as: 'walker-noquota',
        params: { name: fixtures.noQuotaTunnel },
        query: q('http://localhost:1'),
        expect: 403,
      });
      const doomed = await tunnelOf('walker');
      await whileCloudflareRefuses('DELETE', '/accounts/*/cfd_tunnel/*', async () => {
        await call('deleteTunnel', { params: { tunnel: doomed }, query: 'wait=0', expect: 202 });
        await call('pocAddRoute', {
          params: { name: doomed },
          query: q('http://localhost:1'),
          expect: 409,
          code: 'tunnel.deleting',
        });
      });
    },
  },
  pocDeleteRoutes: {
    async walk() {
      const name = fixtures.tunnel;
      const q = `service=${encodeURIComponent('http://localhost:8010')}`;
      await call('pocDeleteRoutes', { params: { name }, query: q, expect: 200 });
      await call('pocDeleteRoutes', { params: { name }, query: q, expect: 200 });
      await call('pocDeleteRoutes', { params: { name }, expect: 400 });
      await call('pocDeleteRoutes', { params: { name: 'nosuch' }, query: q, expect: 404 });
    },
  },
};

const refused = { type: 'error', status: 403, code: 10000, message: 'refused' } as const;

/** Runs `fn` while Cloudflare refuses `method` on `path`. */
async function whileCloudflareRefuses<T>(method: string, path: string, fn: () => Promise<T>) {
  stack.cf.control.addFault({ method, path, times: 100_000, action: refused });
  try {
    return await fn();
  } finally {
    stack.cf.control.clearFaults();
  }
}

/** A tunnel file (credentials, config, run token): ready, unknown, not created in Cloudflare yet. */
function fileOf(opId: string, param = 'tunnel'): Entry {
  return {
    async walk() {
      await call(opId, { params: { [param]: fixtures.tunnel }, expect: 200 });
      await call(opId, { params: { [param]: 'nosuch' }, expect: 404, code: 'tunnel.not_found' });
      await call(opId, { params: { [param]: 'Bad_Name' }, expect: 400, code: 'tunnel.invalid_name' });
      await whileCloudflareRefuses('POST', '/accounts/*/cfd_tunnel', async () => {
        const pending = await tunnelOf('walker', {}, 'wait=0');
        await call(opId, { params: { [param]: pending }, expect: 409, code: 'tunnel.not_ready' });
      });
    },
  };
}

/** A wrong password not tried before (a failed pair is remembered and refused without a check). */
let guesses = 0;
const guess = () => `wrong-guess-${++guesses}`;

/** Puts walker-throttled into its backoff: wrong passwords until the server says 429. */
async function throttled() {
  for (let i = 0; i < 20; i++) {
    const res = await send('GET', '/api/v1/me', authHeaders('walker-throttled', guess()));
    if (res.status === 429) return;
  }
  throw new Error('walker-throttled never got 429');
}

const fixtures = {
  tunnel: '',
  route: 'web',
  hostname: '',
  tcpRoute: 'db',
  noQuotaTunnel: '',
};

beforeAll(async () => {
  const port = await freePort();
  idp = await startLocalProvider({
    clients: [{ ...CLIENT, redirectUris: [`http://127.0.0.1:${port}/auth/callback`] }],
    deviceIntervalSeconds: 0.05,
  });
  stack = await startStack({
    config: {
      'listen.port': port,
      'identity.publicUrl': `http://127.0.0.1:${port}`,
      'identity.oidc': { issuer: idp.issuer, ...CLIENT },
      // The walk makes more tunnels than the default quota of 10 (walker-noquota has its own 0).
      'quotas.tunnels': 25,
      webhooks: [
        { name: 'walk', url: 'http://127.0.0.1:9/hook', secret: 'walker-secret-0123456789', events: ['*'] },
      ],
    },
  });
  doc = (await send('GET', '/openapi.json', {})).body;
  ajv.addSchema({ $id: 'openapi.json', components: strict(doc.components) });
  for (const [path, methods] of Object.entries<any>(doc.paths))
    for (const [method, op] of Object.entries<any>(methods)) {
      const id = op.operationId ?? `${method.toUpperCase()} ${path}`;
      operations.set(id, { id, method: method.toUpperCase(), path, op });
    }

  const hash = await testHash(PASSWORD);
  for (const name of [
    'walker',
    'walker-pw',
    'walker-member',
    'walker-noquota',
    'walker-stream',
    'walker-disabled',
    'walker-throttled',
  ])
    await stack.runtime.store.users.ensure({ name, passwordHash: hash, role: 'user' });
  const admin = stack.as('admin');
  expect((await admin.post('/api/v1/admin/teams', { name: 'walkers' })).status).toBe(201);
  expect((await admin.request('PUT', '/api/v1/admin/teams/walkers/members/walker-member')).status).toBe(200);
  const member = stack.as('walker-member', PASSWORD);
  expect((await member.post('/api/v1/tunnels', { team: 'walkers' })).status).toBe(201);

  const walker = stack.as('walker', PASSWORD);
  const t = await walker.post('/api/v1/tunnels', { name: 'walk-main' });
  expect(t.status).toBe(201);
  fixtures.tunnel = t.body.name;
  const web = await walker.post(`/api/v1/tunnels/${fixtures.tunnel}/routes`, {
    service: 'http://localhost:8000',
    name: 'web',
  });
  expect(web.status).toBe(201);
  fixtures.hostname = web.body.hostname;
  const db = await walker.post(`/api/v1/tunnels/${fixtures.tunnel}/routes`, {
    service: 'tcp://10.0.0.5:5432',
    name: 'db',
  });
  expect([201, 202]).toContain(db.status);

  const nq = stack.as('walker-noquota', PASSWORD);
  fixtures.noQuotaTunnel = (await nq.post('/api/v1/tunnels', {})).body.name;
  expect(
    (await admin.request('PUT', '/api/v1/admin/users/walker-noquota/quotas', { tunnels: 1, routes: 0 }))
      .status,
  ).toBe(200);

  expect(
    (await admin.request('PATCH', '/api/v1/admin/users/walker-disabled', { disabled: true })).status,
  ).toBe(200);
  // The SSO people exist (first sign-in) before their entries disable them.
  for (const user of ['bob', 'cy']) {
    const browser = new TestBrowser();
    const landed = await signInAtProvider(
      browser,
      `${stack.url}/auth/login?returnTo=/api/v1/me`,
      idp.accounts.find((a) => a.username === user)!,
    );
    expect(landed.status).toBe(200);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await idp?.close();
});

describe('the OpenAPI document', () => {
  it('gives every operation an operationId, a success answer with its schema, and its security', () => {
    const problems: string[] = [];
    for (const { id, op, method, path } of operations.values()) {
      const where = `${method} ${path}`;
      if (!op.operationId) problems.push(`${where}: no operationId`);
      if (!Array.isArray(op.security)) problems.push(`${where}: no security`);
      const success = Object.entries<any>(op.responses ?? {}).filter(([s]) => /^[23]\d\d$/.test(s));
      if (success.length === 0) problems.push(`${where}: no success answer`);
      for (const [status, r] of success)
        if (status !== '204' && status[0] !== '3' && !r.content)
          problems.push(`${where}: ${status} without a schema`);
      for (const [status, r] of Object.entries<any>(op.responses ?? {}))
        if (status[0] === '4' || status[0] === '5') {
          const schema = r.content?.['application/json']?.schema;
          const refs = JSON.stringify(schema ?? {});
          if (!refs.includes('#/components/schemas/ErrorEnvelope'))
            problems.push(`${where}: ${status} is not the error envelope`);
        }
      if (path.startsWith('/api/v1/') && op.security?.length === 0 && !path.startsWith('/api/v1/auth/'))
        problems.push(`${where}: public`);
      void id;
    }
    expect(problems).toEqual([]);
    expect(new Set([...operations.values()].map((o) => o.op.operationId)).size).toBe(operations.size);
  });

  it('every operation is walked (a new one needs an entry in WALK)', () => {
    expect([...operations.keys()].filter((id) => !WALK[id]).sort()).toEqual([]);
    expect(
      Object.keys(WALK)
        .filter((id) => !operations.has(id))
        .sort(),
    ).toEqual([]);
  });
});

describe('real answers match the document', () => {
  for (const [id, entry] of Object.entries(WALK)) {
    it(
      id,
      async () => {
        expect(operations.has(id), `${id} is in the document`).toBe(true);
        await entry.walk();
      },
      60_000,
    );
  }

  it('authentication refuses every authenticated operation as documented; bad bodies and long names are refused at the edge', async () => {
    await throttled();
    for (const { id, op, path } of operations.values()) {
      const params = Object.fromEntries(
        (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => [p.name, 'x']),
      );
      if (op.security.length > 0) {
        await call(id, { as: null, params, expect: 401 });
        await call(id, { as: 'walker-disabled', params, expect: 403, code: 'auth.disabled' });
        // Its backoff may have just ended: a wrong password is then checked (401) and the next is 429.
        let answer = await call(id, { as: 'walker-throttled', password: guess(), params });
        for (let i = 0; i < 5 && answer.status === 401; i++)
          answer = await call(id, { as: 'walker-throttled', password: guess(), params });
        expect([id, answer.body.error.code]).toEqual([id, 'auth.throttled']);
      }
      // A body that is not an object, and one that is not JSON: 400 and 415 at the edge.
      if (op.requestBody) {
        const as = op.security.length === 0 ? null : path.startsWith('/api/v1/admin/') ? 'admin' : 'walker';
        await call(id, { as, params, body: [], expect: 400, code: 'request.invalid' });
        const res = await send(
          operations.get(id)!.method,
          urlOf(id, params),
          {
            ...authHeaders(as),
            'content-type': 'text/plain',
          },
          'plain words',
        );
        expect([id, res.status, res.body.error?.code]).toEqual([id, 415, 'request.unsupported_media_type']);
        check(id, res, `${id} with a text body`);
      }
      // A name longer than its schema allows (and shorter than the router's 100): 400 at the edge.
      for (const p of (op.parameters ?? []).filter((x: any) => x.in === 'path' && x.schema.maxLength < 100)) {
        const as = path.startsWith('/api/v1/admin/') ? 'admin' : 'walker';
        await call(id, {
          as,
          params: { ...params, [p.name]: 'a'.repeat(p.schema.maxLength + 1) },
          expect: 400,
          code: 'request.invalid',
        });
      }
    }
  }, 120_000);

  it('every declared answer was seen, or its entry says why it cannot be', () => {
    const missing: string[] = [];
    for (const { id, op } of operations.values()) {
      const got = seen.get(id) ?? new Set();
      for (const status of Object.keys(op.responses ?? {})) {
        if (status.endsWith('XX')) continue;
        if (!got.has(status) && !WALK[id]?.unreachable?.[status]) missing.push(`${id} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/**
 * A password-guessing flood against one account must not block or fail anyone else: 100
 * connections guess user1's password in a loop; meanwhile user2's and admin's first Basic
 * sign-ins (nothing cached: the stack is fresh) succeed, and so does user1's owner from another
 * address. The guesser is answered 429 `auth.throttled` with Retry-After, and scrypt runs a
 * handful of times, not once per guess. Outcomes are asserted, never durations.
 *
 * Also at the HTTP entrypoint: behind a reverse proxy, throttling counts the client's address
 * from X-Forwarded-For only when the hop is a trusted proxy (`trustProxy`), never by default;
 * and requests Node or the router refuse for their size answer in the error body.
 */
import { spawn } from 'node:child_process';
import type * as NodeCrypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, type AppConfig, type AppServices } from '../src/server/app.js';
import { createAuthenticator } from '../src/server/auth.js';
import { createMetrics } from '../src/server/metrics.js';
import type { UserRow } from '../src/store/index.js';
import { eventually, startStack, type Stack } from './support/stack.js';

// Counts every scrypt run of this process (the server runs in it), passing the call through.
const scryptRuns = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof NodeCrypto>();
  return {
    ...crypto,
    scrypt: (...args: Parameters<typeof NodeCrypto.scrypt>) => {
      scryptRuns.count++;
      return (crypto.scrypt as (...a: unknown[]) => void)(...args);
    },
  };
});

interface Tally {
  guesses: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  throttled: { headers: Record<string, string>; body: any } | null;
}

/**
 * The guesser runs in another process, as an attacker would, so that its connections do not
 * share the server's event loop. It prints its tally as a JSON line every 50 ms, and a last
 * one when its stdin closes.
 */
const GUESSER = `
import http from 'node:http';
const url = new URL(process.argv[1]);
const workers = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
const tally = { guesses: 0, statuses: {}, codes: {}, throttled: null };
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
const guess = (userpass) =>
  new Promise((resolve, reject) => {
    const headers = { authorization: 'Basic ' + Buffer.from(userpass).toString('base64') };
    const req = http.request({ host: url.hostname, port: url.port, path: '/api/v1/me', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
const report = setInterval(() => console.log(JSON.stringify(tally)), 50);
await Promise.all(
  Array.from({ length: workers }, async (_, w) => {
    // A new guess each time: the memory of failed pairs must not be what stops them.
    for (let i = 0; !stop; i++) {
      const res = await guess('user1:guess-' + w + '-' + i);
      tally.guesses++;
      tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
      const code = res.body?.error?.code ?? String(res.status);
      tally.codes[code] = (tally.codes[code] ?? 0) + 1;
      if (res.status === 429) tally.throttled ??= { headers: res.headers, body: res.body };
    }
  }),
);
clearInterval(report);
console.log(JSON.stringify(tally));
agent.destroy();
`;

function startGuesser(url: string, workers: number) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', GUESSER, url, String(workers)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let tally: Tally = { guesses: 0, statuses: {}, codes: {}, throttled: null };
  createInterface({ input: child.stdout }).on('line', (line) => (tally = JSON.parse(line) as Tally));
  // 'close', not 'exit': the last line has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    tally: () => tally,
    /** Stops the loops; resolves with the final tally. */
    async stop(): Promise<Tally> {
      child.stdin.end();
      expect(await exited).toBe(0);
      return tally;
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

/** One GET with Basic credentials on a new connection; `localAddress` picks the source (all of 127/8 is local). */
function get(
  path: string,
  userpass: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; body: any }> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Basic ${Buffer.from(userpass).toString('base64')}` };
    const req = http.request(
      { host: url.hostname, port: url.port, path, localAddress, agent: false, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

describe('a login flood against one account', () => {
  it('throttles the guesser while everyone else signs in', async () => {
    const runsBefore = scryptRuns.count;
    const guesser = startGuesser(stack.url, 100);
    let tally: Tally;
    try {
      // The flood is under way: the connections have been answered a few times each.
      await eventually(() => guesser.tally().guesses >= 500, 20_000);

      // Nothing is cached for these users: each needs a scrypt check during the flood.
      const user2 = await get('/api/v1/me', 'user2:user2password');
      expect(user2).toMatchObject({ status: 200, body: { name: 'user2' } });
      const admin = await get('/api/v1/admin/users', 'admin:adminpassword');
      expect(admin.status).toBe(200);
      // The owner of the attacked account, from another address, gets in too.
      const owner = await get('/api/v1/me', 'user1:user1password', '127.0.0.2');
      expect(owner).toMatchObject({ status: 200, body: { name: 'user1' } });

      // The flood goes on a while longer.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      tally = await guesser.stop();
    } finally {
      guesser.kill();
    }

    const { guesses, statuses, codes, throttled } = tally;
    expect(throttled?.body.error).toMatchObject({
      code: 'auth.throttled',
      details: { retryAfterSeconds: expect.any(Number) },
    });
    expect(throttled!.body.error.message).toMatch(/^Too many failed sign-ins .*; retry in \d+ s/);
    expect(Number(throttled!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(throttled!.headers['retry-after']).toBe(String(throttled!.body.error.details.retryAfterSeconds));
    // One account flooded is never "the system is busy", and no guess got through.
    expect(statuses).not.toHaveProperty('503');
    expect(statuses).not.toHaveProperty('200');
    expect((statuses['429'] ?? 0) + (statuses['401'] ?? 0)).toBe(guesses);
    expect(codes['auth.throttled']).toBe(statuses['429']);
    // A handful of scrypt runs (the free guesses, one after each backoff, three sign-ins), not one per guess.
    const runs = scryptRuns.count - runsBefore;
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(20);
    expect(runs * 20).toBeLessThan(guesses);
  });
});

/**
 * The HTTP layer alone (buildApp, in process) with the real authenticator over one user, alice
 * (password `right`), a fast fake password check, and stand-ins for the services /api/v1/me
 * does not use. `inject` sets the connection's address: the proxy's, or a client's.
 */
async function proxiedApp(trustProxy?: AppConfig['trustProxy']) {
  // A user row as the store gives it: /me promises each of these fields (its schema requires them).
  const alice = {
    id: 'u1',
    name: 'alice',
    role: 'user',
    password_hash: 'hash:right',
    disabled: 0,
    email: null,
    oidc_subject: null,
    created_at: '2026-01-01T00:00:00.000Z',
  } as UserRow;
  const none = { tunnels: 0, routes: 0, protectedRoutes: 0, tcpRoutes: 0 };
  const auth = createAuthenticator({
    store: {
      users: {
        byName: async (n) => (n === 'alice' ? { ...alice } : undefined),
        byId: async (id) => (id === alice.id ? { ...alice } : undefined),
        update: async () => {},
      },
      tokens: { byHash: async () => undefined, touch: async () => {} },
    },
    verifyPassword: async (password, stored) => stored === `hash:${password}`,
  });
  const services = {
    auth,
    accounts: { me: async ({ user }: { user: UserRow }) => ({ user, quotas: none, usage: none }) },
    tunnels: { views: { stats: () => ({ hits: 0, misses: 0, bytes: 0 }) } },
    routes: {},
    waits: { shutdown: () => {} },
  } as unknown as AppServices;
  const app = await buildApp({
    services,
    events: { append: async () => {}, after: async () => [], latestId: async () => 0 },
    ping: async () => {},
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    config: { version: 'test', inCluster: null, ...(trustProxy === undefined ? {} : { trustProxy }) },
  });
  /** GET /api/v1/me as `user`, over a connection from `from`, with X-Forwarded-For `forwarded`. */
  const me = async (user: string, password: string, from: string, forwarded?: string) => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      remoteAddress: from,
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        ...(forwarded ? { 'x-forwarded-for': forwarded } : {}),
      },
    });
    return res.statusCode === 429 ? `429 ${res.json().error.code}` : String(res.statusCode);
  };
  return { app, me };
}

describe('behind a reverse proxy', () => {
  const PROXY = '10.42.0.7';
  /** 20 unknown names (auth.maxAccountsPerSource) mistyped by one client: the 21st is refused. */
  const spray = async (
    me: Awaited<ReturnType<typeof proxiedApp>>['me'],
    forwarded: (i: number) => string,
  ) => {
    const answers = [];
    for (let i = 0; i < 21; i++) answers.push(await me(`nobody${i}`, 'x', PROXY, forwarded(i)));
    return answers;
  };

  it('counts the client from X-Forwarded-For when the hop is a trusted proxy: one sprayer does not lock out the others', async () => {
    const { app, me } = await proxiedApp([PROXY]);
    try {
      expect(await spray(me, () => '203.0.113.5')).toEqual([...Array(20).fill('401'), '429 auth.throttled']);
      // The same client written as IPv4-mapped IPv6 is the same address.
      expect(await me('nobody99', 'x', PROXY, '::ffff:203.0.113.5')).toBe('429 auth.throttled');
      // alice, another client behind the same proxy, has never signed in before: she gets in.
      expect(await me('alice', 'right', PROXY, '198.51.100.20')).toBe('200');
      // What a client prepends itself is not believed: the proxy appends the address it saw.
      expect(await me('nobody98', 'x', PROXY, '198.51.100.20, 203.0.113.5')).toBe('429 auth.throttled');
    } finally {
      await app.close();
    }
  });

  it('believes no X-Forwarded-For by default, nor one from an address that is not a trusted proxy', async () => {
    const untrusted = await proxiedApp();
    try {
      // Rotating the header changes nothing: every request counts as the proxy's address.
      expect(await spray(untrusted.me, (i) => `203.0.113.${i}`)).toEqual([
        ...Array(20).fill('401'),
        '429 auth.throttled',
      ]);
      expect(await untrusted.me('alice', 'right', PROXY, '198.51.100.20')).toBe('429 auth.throttled');
    } finally {
      await untrusted.app.close();
    }
    const trusting = await proxiedApp([PROXY]);
    try {
      const direct = '192.0.2.99';
      for (let i = 0; i < 20; i++)
        expect(await trusting.me(`nobody${i}`, 'x', direct, `203.0.113.${i}`)).toBe('401');
      expect(await trusting.me('nobody20', 'x', direct, '203.0.113.20')).toBe('429 auth.throttled');
    } finally {
      await trusting.app.close();
    }
  });
});

/** Writes `request` on a new connection and reads the whole answer until the server closes it. */
function rawRequest(request: string): Promise<{ status: number; headers: string; body: any }> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    // The server may close while a large request is still being written.
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({
        status: Number(head.split(' ')[1]),
        headers: head.toLowerCase(),
        body: JSON.parse(body || 'null'),
      });
    });
  });
}

describe('oversized requests', () => {
  const envelope = (code: string) => ({
    error: { code, message: expect.any(String), details: {}, requestId: expect.stringMatching(/^req-/) },
  });

  it('answers a path segment over 100 characters with 414 request.uri_too_long, before authentication', async () => {
    const res = await rawRequest(
      `GET /api/v1/tunnels/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(414);
    expect(res.headers).toContain('content-type: application/json');
    expect(res.body).toEqual(envelope('request.uri_too_long'));
    // A path that does not decode is refused by the router too, in the same body.
    const bad = await rawRequest(
      `GET /api/v1/tunnels/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(envelope('request.invalid'));
  });

  it('answers a URL over 16 KiB with 414 and headers over 16 KiB with 431, in the error body', async () => {
    const longUrl = await rawRequest(
      `GET /api/v1/tunnels?name=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(longUrl.status).toBe(414);
    expect(longUrl.headers).toContain('connection: close');
    expect(longUrl.body).toEqual(envelope('request.uri_too_long'));

    const bigHeader = await rawRequest(
      `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    );
    expect(bigHeader.status).toBe(431);
    expect(bigHeader.body).toEqual(envelope('request.headers_too_large'));

    const notHttp = await rawRequest('HELLO\r\n\r\n');
    expect(notHttp.status).toBe(400);
    expect(notHttp.body).toEqual(envelope('request.invalid'));

    // The server still answers normally afterwards.
    expect((await get('/api/v1/me', 'user2:user2password')).status).toBe(200);
  });
});

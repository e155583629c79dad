/**
 * A password-guessing flood against one account must not block or fail anyone else: 100
 * connections guess user1's password in a loop; meanwhile user2's and admin's first Basic
 * sign-ins (nothing cached: the stack is fresh) succeed, and so does user1's owner from another
 * address. The guesser is answered 429 `auth.throttled` with Retry-After, and scrypt runs a
 * handful of times, not once per guess. Outcomes are asserted, never durations.
 */
import { spawn } from 'node:child_process';
import type * as NodeCrypto from 'node:crypto';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

/**
 * `login --sso` against the fake server's simulated device flow: the URL and code shown, polls
 * at the server's interval (raised by slow_down, never lowered again), the token saved as
 * `login` saves one (0600, the previous token revoked), expiry, denial, Ctrl-C, and a server
 * without single sign-on. The wait between polls is injected, so nothing here sleeps.
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_VERIFICATION_URI } from './fake-identity.js';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { baseEnv, tunnelctl } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;
let configFile: string;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.devices.configure({ interval: 5, expiresIn: 600 });
  env = baseEnv();
  configFile = join(env.XDG_CONFIG_HOME as string, 'tunnelctl', 'config.json');
});

const saved = () => JSON.parse(readFileSync(configFile, 'utf8'));
const polls = () => fake.requests.filter((r) => r.path === '/api/v1/auth/device/token');

/** A sleep that records what it was asked to wait and runs `onSleep` (the user acting meanwhile). */
function fakeSleep(onSleep: (n: number) => void = () => undefined) {
  const waits: number[] = [];
  const sleep = async (ms: number, signal: AbortSignal) => {
    signal.throwIfAborted();
    waits.push(ms);
    onSleep(waits.length);
  };
  return { waits, sleep };
}

describe('login --sso', () => {
  it('pending, pending, then approved: shows the URL and code, polls at the interval, saves the token 0600', async () => {
    let shown: string | null = null;
    const { waits, sleep } = fakeSleep((n) => {
      if (n === 3) fake.devices.approve('user1');
    });
    const r = await tunnelctl(['login', '--sso', '--server', fake.url, '--name', 'laptop'], {
      env,
      sleep,
      openUrl: (url) => {
        shown = url;
      },
    });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const [device] = fake.devices.started;
    const complete = `${FAKE_VERIFICATION_URI}?user_code=${device!.userCode}`;
    expect(shown).toBe(complete);
    expect(r.stderr).toContain(complete);
    expect(r.stderr).toContain(`check that it shows the code ${device!.userCode}`);
    expect(r.stderr).toContain('Ctrl-C to stop');
    expect(r.stderr).toContain(`Logged in to ${fake.url} as user1; token saved in ${configFile}`);
    expect(r.stdout).toBe('');
    // Two polls pending, the third one done, each after the server's interval.
    expect(waits).toEqual([5000, 5000, 5000]);
    expect(polls().map((p) => p.status)).toEqual([400, 400, 201]);
    expect(polls().every((p) => p.auth === null)).toBe(true);
    expect(polls()[0]!.body).toMatchObject({ deviceCode: device!.deviceCode, tokenName: 'laptop' });
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const [token] = [...fake.tokens.values()];
    expect(token).toMatchObject({ owner: 'user1', name: 'laptop', scopes: ['read', 'write'] });
    expect(saved()).toMatchObject({
      server: fake.url,
      user: 'user1',
      token: token!.secret,
      tokenId: token!.id,
      tokenName: 'laptop',
    });
    // The saved token works for the next command, with no environment.
    const who = await tunnelctl(['whoami', '-o', 'json'], { env });
    expect(JSON.parse(who.stdout)).toMatchObject({
      name: 'user1',
      auth: 'config',
      authenticatedWith: 'token',
    });
  });

  it('slow_down raises the interval for good, even when a later answer names the old one', async () => {
    const { waits, sleep } = fakeSleep((n) => {
      if (n === 1) fake.devices.slowDown();
      if (n === 4) fake.devices.approve('user2');
    });
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(0);
    expect(waits).toEqual([5000, 10000, 10000, 10000]);
    expect(saved().user).toBe('user2');
  });

  it('without a complete URL: says to enter the code at the page', async () => {
    fake.devices.configure({ interval: 1, complete: false });
    const { sleep } = fakeSleep(() => fake.devices.approve('user1'));
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(0);
    const code = fake.devices.started[0]!.userCode;
    expect(r.stderr).toContain(`open this page in a browser and enter the code ${code}`);
    expect(r.stderr).toContain(`    ${FAKE_VERIFICATION_URI}\n`);
  });

  it('-o json: the verification first, the login at the end, as JSON lines', async () => {
    const { sleep } = fakeSleep(() => fake.devices.approve('user1'));
    const r = await tunnelctl(['login', '--sso', '--server', fake.url, '-o', 'json'], { env, sleep });
    expect(r.code).toBe(0);
    const [first, second, ...rest] = r.stdout.trimEnd().split('\n');
    expect(rest).toEqual([]);
    const code = fake.devices.started[0]!.userCode;
    expect(JSON.parse(first!)).toEqual({
      userCode: code,
      verificationUri: FAKE_VERIFICATION_URI,
      verificationUriComplete: `${FAKE_VERIFICATION_URI}?user_code=${code}`,
      expiresIn: 600,
    });
    expect(JSON.parse(second!)).toMatchObject({ server: fake.url, user: 'user1', configFile });
  });

  it('replaces and revokes the previous token of the same server, as login does', async () => {
    const first = await tunnelctl(['login', '--server', fake.url], {
      env: { ...env, USERPASS: 'user1:user1password' },
    });
    expect(first.code).toBe(0);
    const old = saved().tokenId as string;
    const { sleep } = fakeSleep(() => fake.devices.approve('user1'));
    const r = await tunnelctl(['login', '--sso'], { env, sleep });
    expect(r.code).toBe(0);
    expect(saved().tokenId).not.toBe(old);
    expect(fake.tokens.has(old)).toBe(false);
    expect(fake.tokens.size).toBe(1);
  });

  it('--expires-in-days reaches the server; a bad one is a usage error before any request', async () => {
    const { sleep } = fakeSleep(() => fake.devices.approve('user1'));
    const r = await tunnelctl(['login', '--sso', '--server', fake.url, '--expires-in-days', '7'], {
      env,
      sleep,
    });
    expect(r.code).toBe(0);
    expect([...fake.tokens.values()][0]!.expiresAt).not.toBeNull();
    fake.requests.length = 0;
    const bad = await tunnelctl(['login', '--sso', '--server', fake.url, '--expires-in-days', 'soon'], {
      env,
    });
    expect(bad.code).toBe(2);
    expect(fake.requests).toEqual([]);
  });

  it('denied at the provider: a clear message, exit 1, nothing saved', async () => {
    const { sleep } = fakeSleep((n) => {
      if (n === 2) fake.devices.deny();
    });
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: The device sign-in ended (access_denied) (sso.expired): run tunnelctl login --sso again',
    );
    expect(existsSync(configFile)).toBe(false);
  });

  it('expired on the server: a clear message, exit 1', async () => {
    fake.devices.configure({ interval: 0, expiresIn: 0.2 });
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(ms, 100)));
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: (This device sign-in is unknown, expired or finished \(sso\.expired\)|The sign-in was not approved within 1 min)/,
    );
    expect(r.stderr).toContain('run tunnelctl login --sso again');
    expect(existsSync(configFile)).toBe(false);
  });

  it('expired locally when the server keeps saying pending past expiresIn', async () => {
    fake.devices.configure({ interval: 0, expiresIn: 0.15 });
    // The fake forgets the flow at expiry too; answer pending forever by extending it.
    const sleep = async () => {
      await new Promise((r) => setTimeout(r, 60));
      const d = fake.devices.started[0]!;
      d.expiresAt = Date.now() + 60_000;
    };
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(1);
    const code = fake.devices.started[0]!.userCode;
    expect(r.stderr).toContain(
      `error: The sign-in was not approved within 1 min and its code ${code} expired: run tunnelctl login --sso again`,
    );
  });

  it('Ctrl-C while waiting stops cleanly: exit 130, nothing saved, no more polls', async () => {
    const signals = new EventEmitter();
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((_resolve, reject) => {
        if (polls().length === 2) setTimeout(() => signals.emit('SIGINT'), 10);
        const t = setTimeout(_resolve, 5);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep, signals });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Sign-in stopped; nothing was saved.');
    expect(r.stderr).not.toContain('error:');
    expect(existsSync(configFile)).toBe(false);
    const count = polls().length;
    await new Promise((res) => setTimeout(res, 50));
    expect(polls().length).toBe(count);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('rate.limited while polling: waits as told and goes on', async () => {
    // The real server paces polls; a 429 is not the end of the sign-in.
    fake.devices.configure({ interval: 2 });
    const { waits, sleep } = fakeSleep((n) => {
      if (n === 1) fake.devices.rateLimit(7);
      if (n === 3) fake.devices.approve('user1');
    });
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env, sleep });
    expect(r.code).toBe(0);
    expect(waits).toEqual([2000, 7000, 2000]);
    expect(polls().map((p) => p.status)).toEqual([429, 400, 201]);
  });

  it('a server without single sign-on: says so and how to log in instead', async () => {
    fake.devices.reset();
    const r = await tunnelctl(['login', '--sso', '--server', fake.url], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: Single sign-on is not configured on this server (identity.oidc) (sso.not_configured): sign in with a password (tunnelctl login), or ask the operator of ' +
        `${fake.url} to configure single sign-on\n`,
    );
  });

  it('refuses password flags with --sso', async () => {
    const r = await tunnelctl(['login', '--sso', '--server', fake.url, '--user', 'user1'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--sso signs in with single sign-on: --user does not apply');
  });
});

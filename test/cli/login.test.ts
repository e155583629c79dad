/**
 * login / logout / the saved token: file modes (0600 file, 0700 directory, in a temporary
 * XDG_CONFIG_HOME), where credentials come from, precedence, revocation.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startFakeServer, type FakeServer } from './fake-server.js';
import { baseEnv, fakeTerminal, tunnelctl } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;
let configFile: string;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  env = baseEnv();
  configFile = join(env.XDG_CONFIG_HOME as string, 'tunnelctl', 'config.json');
});

const mode = (path: string) => statSync(path).mode & 0o777;
const saved = () => JSON.parse(readFileSync(configFile, 'utf8'));

describe('login', () => {
  it('with USERPASS: creates a token, saves it 0600 in a 0700 directory', async () => {
    const r = await tunnelctl(['login'], {
      env: { ...env, CONTROL_PLANE: fake.url, USERPASS: 'user1:user1password' },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Logged in to ${fake.url} as user1; token saved in ${configFile}`);
    expect(r.stderr).toContain('USERPASS is set and wins over the saved token');
    expect(mode(configFile)).toBe(0o600);
    expect(mode(join(env.XDG_CONFIG_HOME as string, 'tunnelctl'))).toBe(0o700);
    const [token] = [...fake.tokens.values()];
    expect(saved()).toMatchObject({
      server: fake.url,
      user: 'user1',
      token: token!.secret,
      tokenId: token!.id,
    });
    expect(token!.name).toMatch(/^tunnelctl-/);
    const create = fake.requests.find((q) => q.method === 'POST' && q.path === '/api/v1/tokens');
    expect(create?.auth).toBe('basic:user1');
  });

  it('then later commands use the saved token and server, with no environment', async () => {
    await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:user1password' } });
    const secret = saved().token;
    fake.requests.length = 0;
    const r = await tunnelctl(['whoami', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'user1', server: fake.url, auth: 'config' });
    expect(fake.requests.every((q) => q.auth === `bearer:${secret}`)).toBe(true);
  });

  it('with --user and --password-stdin', async () => {
    const r = await tunnelctl(
      ['login', '--server', fake.url, '--user', 'user2', '--password-stdin', '--name', 'laptop'],
      {
        env,
        stdin: 'user2password\n',
      },
    );
    expect(r.code).toBe(0);
    expect(saved()).toMatchObject({ user: 'user2', tokenName: 'laptop' });
    expect([...fake.tokens.values()][0]).toMatchObject({ owner: 'user2', name: 'laptop' });
  });

  it('prompts for user and password on a terminal, without echoing the password', async () => {
    const stdin = fakeTerminal();
    const run = tunnelctl(['login', '--server', fake.url], { env, stdin });
    stdin.write('user1\r');
    stdin.write('user1password\r');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('User: ');
    expect(r.stderr).toContain('Password for user1: ');
    expect(r.stderr).not.toContain('user1password');
    expect(stdin.rawModes).toEqual([true, false]);
    expect(saved().user).toBe('user1');
  });

  it('with --expires-in-days', async () => {
    await tunnelctl(['login', '--server', fake.url, '--expires-in-days', '30', '-o', 'json'], {
      env: { ...env, USERPASS: 'user1:user1password' },
    });
    const [token] = [...fake.tokens.values()];
    expect(Date.parse(token!.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  });

  it('-o json reports what was saved, never the secret', async () => {
    const r = await tunnelctl(['login', '-o', 'json'], {
      env: { ...env, CONTROL_PLANE: fake.url, USERPASS: 'user1:user1password' },
    });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ server: fake.url, user: 'user1', configFile });
    expect(r.stdout).not.toContain(saved().token);
  });

  it('wrong password: exit 1, nothing saved', async () => {
    const r = await tunnelctl(['login', '--server', fake.url, '--user', 'user1', '--password-stdin'], {
      env,
      stdin: 'nope',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Authentication failed');
    expect(r.stderr).toContain('check the user name and password');
    expect(existsSync(configFile)).toBe(false);
    const u = await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:nope' } });
    expect(u.stderr).toContain('check USERPASS');
  });

  it('without credentials and without a terminal: says how', async () => {
    const r = await tunnelctl(['login', '--server', fake.url], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('set USERPASS=user:password, or pass --user USER');
    const noPw = await tunnelctl(['login', '--server', fake.url, '--user', 'user1'], { env });
    expect(noPw.stderr).toContain('--password-stdin');
    const stdinNoUser = await tunnelctl(['login', '--server', fake.url, '--password-stdin'], {
      env,
      stdin: 'x',
    });
    expect(stdinNoUser.code).toBe(2);
  });

  it('without a server: says how', async () => {
    const r = await tunnelctl(['login'], { env: { ...env, USERPASS: 'user1:user1password' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pass --server URL or set CONTROL_PLANE');
  });

  it('again: revokes the previous token instead of leaking it', async () => {
    const e = { ...env, CONTROL_PLANE: fake.url, USERPASS: 'user1:user1password' };
    await tunnelctl(['login'], { env: e });
    const first = saved().tokenId;
    await tunnelctl(['login'], { env: e });
    expect(saved().tokenId).not.toBe(first);
    expect([...fake.tokens.keys()]).toEqual([saved().tokenId]);
  });

  it('with --token: checks and keeps a token made elsewhere', async () => {
    const made = await tunnelctl(['login', '--server', fake.url], {
      env: { ...env, USERPASS: 'user2:user2password' },
    });
    expect(made.code).toBe(0);
    const secret = saved().token;
    const other = baseEnv();
    const r = await tunnelctl(['login', '--server', fake.url, '--token', secret], { env: other });
    expect(r.code).toBe(0);
    const file = join(other.XDG_CONFIG_HOME as string, 'tunnelctl', 'config.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      token: secret,
      tokenId: null,
      user: 'user2',
    });
    const bad = await tunnelctl(['login', '--server', fake.url, '--token', 'tp_bogus'], { env: baseEnv() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('check the token given with --token');
  });

  it('tightens an existing config directory to 0700', async () => {
    const dir = join(env.XDG_CONFIG_HOME as string, 'tunnelctl');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:user1password' } });
    expect(mode(dir)).toBe(0o700);
  });

  it('uses ~/.config when XDG_CONFIG_HOME is unset', async () => {
    const e = { ...env, XDG_CONFIG_HOME: undefined, USERPASS: 'user1:user1password' };
    const r = await tunnelctl(['login', '--server', fake.url], { env: e });
    expect(r.code).toBe(0);
    expect(mode(join(env.HOME as string, '.config', 'tunnelctl', 'config.json'))).toBe(0o600);
  });
});

describe('precedence with a saved login', () => {
  beforeEach(async () => {
    await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:user1password' } });
    fake.requests.length = 0;
  });

  it('USERPASS in the environment wins over the saved token', async () => {
    const r = await tunnelctl(['whoami', '-o', 'json'], { env: { ...env, USERPASS: 'user2:user2password' } });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'user2', auth: 'USERPASS' });
  });

  it('TUNNELCTL_TOKEN wins over USERPASS', async () => {
    const token = saved().token;
    const r = await tunnelctl(['whoami', '-o', 'json'], {
      env: { ...env, USERPASS: 'user2:user2password', TUNNELCTL_TOKEN: token },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'user1', auth: 'TUNNELCTL_TOKEN' });
  });

  it('--token wins over TUNNELCTL_TOKEN', async () => {
    const r = await tunnelctl(['whoami', '-o', 'json', '--token', saved().token], {
      env: { ...env, TUNNELCTL_TOKEN: 'tp_other' },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'user1', auth: '--token' });
  });

  it('the saved token is never sent to another server', async () => {
    const other = await startFakeServer();
    try {
      const r = await tunnelctl(['list'], { env: { ...env, CONTROL_PLANE: other.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`No credentials for ${other.url}`);
      expect(other.requests).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('logout', () => {
  beforeEach(async () => {
    await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:user1password' } });
  });

  it('revokes the token with the token itself and removes it from the file', async () => {
    const { token, tokenId } = saved();
    const r = await tunnelctl(['logout'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Logged out of ${fake.url}; token revoked`);
    expect(fake.tokens.size).toBe(0);
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      path: `/api/v1/tokens/${tokenId}`,
      auth: `bearer:${token}`,
    });
    expect(saved()).toEqual({ server: fake.url });
    expect(mode(configFile)).toBe(0o600);
    // The server is still remembered; credentials are not.
    const after = await tunnelctl(['list'], { env });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('No credentials');
  });

  it('twice is fine', async () => {
    await tunnelctl(['logout'], { env });
    const r = await tunnelctl(['logout', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ revoked: false });
  });

  it('with a token already revoked still forgets it', async () => {
    fake.tokens.clear();
    const r = await tunnelctl(['logout'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('already revoked or expired');
    expect(saved().token).toBeUndefined();
  });

  it('when the server is unreachable keeps the token, unless --local', async () => {
    const file = saved();
    const port = await freePort();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(configFile, JSON.stringify({ ...file, server: `http://127.0.0.1:${port}` }));
    const r = await tunnelctl(['logout'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tunnelctl logout --local');
    expect(saved().token).toBe(file.token);
    const local = await tunnelctl(['logout', '--local'], { env });
    expect(local.code).toBe(0);
    expect(saved().token).toBeUndefined();
  });
});

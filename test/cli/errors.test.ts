/**
 * Failures: one line naming the cause and the fix, exit 1; usage errors: the message and the
 * usage, exit 2. Never a stack trace.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startFakeServer, type FakeServer } from './fake-server.js';
import { baseEnv, tunnelctl, userEnv } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  env = userEnv(fake.url);
});

/** One line on stderr, starting with "error: ", no stack frames. */
function expectOneLine(stderr: string): void {
  expect(stderr).toMatch(/^error: [^\n]+\n$/);
  expect(stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('failures (exit 1)', () => {
  it('server unreachable: names the URL tried and CONTROL_PLANE', async () => {
    const port = await freePort();
    const r = await tunnelctl(['list'], { env: userEnv(`localhost:${port}`) });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain(`http://localhost:${port}/api/v1/tunnels`);
    expect(r.stderr).toContain('connection refused');
    expect(r.stderr).toContain('check CONTROL_PLANE');
  });

  it('server unreachable through --server says --server', async () => {
    const port = await freePort();
    const r = await tunnelctl(['list', '--server', `127.0.0.1:${port}`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`http://127.0.0.1:${port}/`);
    expect(r.stderr).toContain('check --server');
  });

  it('bad credentials: the USERPASS hint', async () => {
    const r = await tunnelctl(['list'], { env: { ...env, USERPASS: 'user1:wrong' } });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain(`Authentication failed at ${fake.url}`);
    expect(r.stderr).toContain('check USERPASS (user:password)');
  });

  it('a refused token: the TUNNELCTL_TOKEN hint', async () => {
    const r = await tunnelctl(['list'], { env: { ...env, USERPASS: undefined, TUNNELCTL_TOKEN: 'tp_nope' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('check TUNNELCTL_TOKEN');
  });

  it('no credentials at all: says how to give some, without calling the server', async () => {
    const r = await tunnelctl(['list'], { env: baseEnv({ CONTROL_PLANE: fake.url }) });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain('USERPASS');
    expect(r.stderr).toContain('tunnelctl login');
    expect(fake.requests).toEqual([]);
  });

  it('no server at all: says to set CONTROL_PLANE', async () => {
    const r = await tunnelctl(['list'], { env: baseEnv({ USERPASS: 'user1:user1password' }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('set CONTROL_PLANE');
  });

  it('a malformed CONTROL_PLANE says so', async () => {
    const r = await tunnelctl(['list'], { env: { ...env, CONTROL_PLANE: 'ftp://x' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONTROL_PLANE="ftp://x" is not valid');
  });

  it('unknown tunnel: says so and lists your tunnels', async () => {
    fake.seedTunnel('user1', { name: 'alpha' });
    fake.seedTunnel('user1', { name: 'beta' });
    fake.seedTunnel('user2', { name: 'theirs' });
    for (const argv of [
      ['credentials', 'nosuch'],
      ['config', 'nosuch'],
      ['delete', 'nosuch'],
      ['create', 'nosuch', 'http://localhost:1'],
      ['tunnel', 'get', 'nosuch'],
      ['run', 'nosuch', '--print'],
    ]) {
      const r = await tunnelctl(argv, { env });
      expect(r.code, argv.join(' ')).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toBe('error: Tunnel nosuch not found; your tunnels: alpha, beta\n');
      expect(r.stdout).toBe('');
    }
    // Another user's tunnel does not exist for you.
    const theirs = await tunnelctl(['credentials', 'theirs'], { env });
    expect(theirs.stderr).toBe('error: Tunnel theirs not found; your tunnels: alpha, beta\n');
  });

  it('unknown tunnel with no tunnels: says how to create one', async () => {
    const r = await tunnelctl(['config', 'nosuch'], { env });
    expect(r.stderr).toBe(
      'error: Tunnel nosuch not found: you have no tunnels; create one with: tunnelctl create\n',
    );
  });

  it('bad service URL: the server message', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(['create', 'web', 'ftp://files.local'], { env });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain('ftp://files.local uses the unsupported scheme "ftp"');
    expect(r.stderr).toContain('route.invalid_service');
  });

  it('quota exceeded: the numbers and what to do', async () => {
    fake.setQuota('user1', 1);
    fake.seedTunnel('user1');
    const r = await tunnelctl(['create'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('You have reached your quota of 1 tunnels.');
    expect(r.stderr).toContain('ask an admin to raise your quota');
  });

  it('a server that is not Tunnelplane says so', async () => {
    const other: Server = createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'),
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const r = await tunnelctl(['list'], { env: userEnv(url) });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain('HTTP 404');
      expect(r.stderr).toContain(`is ${url} a Tunnelplane control plane? (check CONTROL_PLANE)`);
    } finally {
      other.close();
    }
  });

  it('a 500 shows the request id, never internals', async () => {
    const broken: Server = createServer((_req, res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: { code: 'internal', message: 'Internal error.', details: {}, requestId: 'req-42' },
        }),
      ),
    );
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    try {
      const r = await tunnelctl(['list'], {
        env: userEnv(`http://127.0.0.1:${(broken.address() as AddressInfo).port}`),
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'error: The control plane failed (internal, request req-42): Internal error.; try again, or give the request id to its operator\n',
      );
    } finally {
      broken.close();
    }
  });
});

describe('usage errors (exit 2)', () => {
  it.each([
    [['credentials'], 'Missing parameter: TUNNEL', 'Usage: tunnelctl credentials TUNNEL'],
    [['config'], 'Missing parameter: TUNNEL', 'Usage: tunnelctl config TUNNEL'],
    [['delete'], 'Missing parameter: TUNNEL', 'Usage: tunnelctl delete TUNNEL [SERVICE]'],
    [['create', 'web'], 'Missing parameter: SERVICE', 'Usage: tunnelctl create'],
    [['route', 'add', 'web'], 'Missing parameter: SERVICE', 'Usage: tunnelctl route add TUNNEL SERVICE'],
    [['run'], 'Missing parameter: TUNNEL', 'Usage: tunnelctl run TUNNEL'],
    [['completion'], 'Missing parameter: SHELL', 'Usage: tunnelctl completion bash|zsh|fish'],
    [['frobnicate'], 'Unknown command: frobnicate', 'Usage: tunnelctl [COMMAND]'],
    [
      ['tunnel'],
      'Missing subcommand: tunnelctl tunnel create|list|get|delete',
      'Usage: tunnelctl tunnel COMMAND',
    ],
    [
      ['route', 'rename'],
      'Unknown command: route rename (use add, update, list, delete)',
      'Usage: tunnelctl route COMMAND',
    ],
    [['list', 'extra'], 'Unexpected argument: extra', 'Usage: tunnelctl list'],
    [['list', '--frobnicate'], 'Unknown flag: --frobnicate', 'Usage: tunnelctl [COMMAND]'],
    [['list', '--mode', 'local'], 'Flag --mode does not apply to list', 'Usage: tunnelctl list'],
    [['list', '-o', 'xml'], '-o must be table, json, yaml or name, not "xml"', 'Usage: tunnelctl list'],
    [['whoami', '-o', 'name'], '-o name only applies to list commands', 'Usage: tunnelctl whoami'],
    [['create', '--timeout', '0'], '--timeout must be a whole number of seconds', 'Usage: tunnelctl create'],
    [
      ['create', 'web', 'http://x', '--mode', 'remote'],
      '--mode applies to creating a tunnel, not a route',
      'Usage: tunnelctl create',
    ],
    [
      ['completion', 'powershell'],
      'Unknown shell "powershell": use bash, zsh or fish',
      'Usage: tunnelctl completion',
    ],
    [['help', 'frobnicate'], 'No help for "frobnicate": unknown command', 'Usage: tunnelctl [COMMAND]'],
  ])('%j', async (argv, message, usage) => {
    const r = await tunnelctl(argv, { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`${message}`)).toBe(true);
    expect(r.stderr).toContain(usage);
    expect(fake.requests).toEqual([]);
  });
});

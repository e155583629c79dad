/**
 * `-o json` / `-o yaml` errors: one object `{"error": {code, message, details?, requestId?, hint?}}`
 * on stderr (one line in JSON), the server's code for API errors and `cli.*` for tunnelctl's own;
 * the exit status as in text. Text stays the default.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
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

/** The one JSON line on stderr, nothing on stdout. */
async function jsonError(args: string[], runEnv = env) {
  const r = await tunnelctl(args, { env: runEnv });
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  return { code: r.code, body: JSON.parse(r.stderr) };
}

describe('-o json errors', () => {
  it('an API error keeps the server code, message, details and request id; the hint is the text line', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const { code, body } = await jsonError(['tunnel', 'get', 'nosuch', '-o', 'json']);
    expect(code).toBe(1);
    expect(body).toEqual({
      error: {
        code: 'tunnel.not_found',
        message: 'You have no tunnel named "nosuch".',
        details: { tunnel: 'nosuch' },
        requestId: expect.stringMatching(/^req-/),
        hint: 'Tunnel nosuch not found; your tunnels: web',
      },
    });
    const text = await tunnelctl(['tunnel', 'get', 'nosuch'], { env });
    expect(text.stderr).toBe('error: Tunnel nosuch not found; your tunnels: web\n');
  });

  it('a validation error from the server', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const { code, body } = await jsonError(['route', 'add', 'web', 'ftp://x', '-o', 'json']);
    expect(code).toBe(1);
    expect(body.error.code).toBe('route.invalid_service');
    expect(body.error.hint).toContain('(route.invalid_service)');
  });

  it('usage errors: cli.usage, exit 2, no usage text — also when the line does not parse', async () => {
    for (const args of [
      ['-o', 'json', 'create', 'a', 'b', 'c'],
      ['--bogus', '-ojson'],
      ['frobnicate', '--output=json'],
      ['share', '8000', '--ttl', '5s', '--output', 'json'],
    ]) {
      const { code, body } = await jsonError(args);
      expect(code, args.join(' ')).toBe(2);
      expect(body.error.code).toBe('cli.usage');
      expect(body.error.message).not.toBe('');
      expect(body.error.hint).toMatch(/^see tunnelctl help/);
    }
    expect((await jsonError(['share', '8000', '--ttl', '5s', '-o', 'json'])).body.error).toEqual({
      code: 'cli.usage',
      message: "--ttl must be from 1m to 30d (the control plane's limits), not 5s",
      hint: 'see tunnelctl help share',
    });
    expect(fake.requests).toEqual([]);
  });

  it('an unreachable server: cli.connection with the URL tried', async () => {
    const port = await freePort();
    const { code, body } = await jsonError(['list', '-o', 'json', '--server', `http://127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(body.error).toMatchObject({
      code: 'cli.connection',
      message: expect.stringContaining(
        `Cannot reach the control plane at http://127.0.0.1:${port}/api/v1/tunnels`,
      ),
      details: { url: `http://127.0.0.1:${port}/api/v1/tunnels`, reason: expect.any(String) },
      hint: expect.stringContaining('check --server'),
    });
  });

  it("tunnelctl's own failures get cli.* codes", async () => {
    const none = await jsonError(['list', '-o', 'json'], baseEnv({ CONTROL_PLANE: fake.url }));
    expect(none.code).toBe(1);
    expect(none.body.error.code).toBe('cli.no_credentials');
    const bad = await jsonError(['list', '-o', 'json'], userEnv(fake.url, 'user1', { USERPASS: 'nocolon' }));
    expect(bad.body.error.code).toBe('cli.bad_setting');
    fake.setBehaviour({ settleMs: 60_000 });
    const slow = await jsonError(['create', '--timeout', '1', '-o', 'json']);
    expect(slow.code).toBe(1);
    expect(slow.body.error.code).toBe('cli.timeout');
  });

  it('-o yaml: one YAML document on stderr', async () => {
    const r = await tunnelctl(['tunnel', 'get', 'nosuch', '-o', 'yaml'], { env });
    expect(r.code).toBe(1);
    expect(parseYaml(r.stderr)).toMatchObject({ error: { code: 'tunnel.not_found' } });
  });
});

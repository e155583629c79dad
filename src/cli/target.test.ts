import { describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { authHint, parseControlPlane, parseUserpass, resolveTarget } from './target.js';

describe('parseControlPlane', () => {
  it.each([
    // The proof of concept's form: host[:port]; http only for loopback.
    ['localhost:5000', 'http://localhost:5000'],
    ['localhost', 'http://localhost'],
    ['LOCALHOST:5000', 'http://localhost:5000'],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['127.1.2.3:8080', 'http://127.1.2.3:8080'],
    ['[::1]:5000', 'http://[::1]:5000'],
    ['[::1]', 'http://[::1]'],
    ['tunnels.example.com', 'https://tunnels.example.com'],
    ['tunnels.example.com:8443', 'https://tunnels.example.com:8443'],
    ['10.0.0.5:5000', 'https://10.0.0.5:5000'],
    ['localhost.example.com:5000', 'https://localhost.example.com:5000'],
    ['example.com/tunnelplane/', 'https://example.com/tunnelplane'],
    ['  localhost:5000  ', 'http://localhost:5000'],
    // Full URLs are kept as given (scheme and all).
    ['http://tunnels.example.com', 'http://tunnels.example.com'],
    ['https://localhost:5000/', 'https://localhost:5000'],
    ['HTTPS://Example.COM:443', 'https://example.com'],
    ['http://example.com:80/prefix//', 'http://example.com/prefix'],
  ])('%s -> %s', (input, expected) => {
    expect(parseControlPlane(input)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['ftp://example.com', /scheme must be http or https/],
    ['http://', /not a URL|no host/],
    ['localhost:notaport', /not valid/],
    ['localhost:99999', /not a host name|not valid/],
    ['http://user:pw@example.com', /USERPASS/],
    ['example.com?x=1', /query/],
  ])('rejects %j', (input, why) => {
    expect(() => parseControlPlane(input)).toThrow(CliError);
    expect(() => parseControlPlane(input)).toThrow(why);
  });

  it('names the setting in its message', () => {
    expect(() => parseControlPlane('ftp://x')).toThrow(/^CONTROL_PLANE=/);
    expect(() => parseControlPlane('ftp://x', '--server')).toThrow(/^--server=/);
  });
});

describe('parseUserpass', () => {
  it.each([
    ['user1:user1password', { user: 'user1', password: 'user1password' }],
    ['user1:pass:with:colons', { user: 'user1', password: 'pass:with:colons' }],
    ['user1:', { user: 'user1', password: '' }],
  ])('%s', (input, expected) => {
    expect(parseUserpass(input)).toEqual(expected);
  });

  it.each(['user1', ':password', ''])('rejects %j', (input) => {
    expect(() => parseUserpass(input)).toThrow(/USERPASS must be user:password/);
  });
});

describe('resolveTarget: flags > env > config file', () => {
  const configPath = '/home/u/.config/tunnelctl/config.json';
  const saved = { server: 'http://localhost:5000', token: 'tp_saved', tokenId: 'tok_1' };
  const resolve = (
    flags: { server?: string; token?: string },
    env: Record<string, string>,
    config: Record<string, unknown> = saved,
  ) => resolveTarget({ flags, env, config, configPath });

  it.each([
    ['the saved login alone', {}, {}, 'http://localhost:5000', 'config', 'tp_saved'],
    [
      'CONTROL_PLANE over the saved server',
      {},
      { CONTROL_PLANE: 'tp.example.com' },
      'https://tp.example.com',
      'CONTROL_PLANE',
      null,
    ],
    [
      '--server over CONTROL_PLANE',
      { server: 'localhost:9' },
      { CONTROL_PLANE: 'tp.example.com' },
      'http://localhost:9',
      '--server',
      null,
    ],
    [
      'CONTROL_PLANE naming the saved server keeps its token',
      {},
      { CONTROL_PLANE: 'localhost:5000' },
      'http://localhost:5000',
      'CONTROL_PLANE',
      'tp_saved',
    ],
  ] as const)('%s', (_name, flags, env, server, serverFrom, token) => {
    const t = resolve(flags, env);
    expect(t.server).toBe(server);
    expect(t.serverFrom).toBe(serverFrom);
    // The saved token goes only to the server it was saved for.
    expect(t.auth?.type === 'bearer' ? t.auth.token : null).toBe(token);
  });

  it.each([
    [
      '--token over everything',
      { token: 'tp_flag' },
      { TUNNELCTL_TOKEN: 'tp_env', USERPASS: 'u:p' },
      '--token',
    ],
    ['TUNNELCTL_TOKEN over USERPASS', {}, { TUNNELCTL_TOKEN: 'tp_env', USERPASS: 'u:p' }, 'TUNNELCTL_TOKEN'],
    ['USERPASS over the saved token', {}, { USERPASS: 'u:p' }, 'USERPASS'],
    ['the saved token last', {}, {}, 'config'],
  ] as const)('credentials: %s', (_name, flags, env, from) => {
    expect(resolve(flags, env).authFrom).toBe(from);
  });

  it('sends USERPASS as basic auth', () => {
    expect(resolve({}, { USERPASS: 'user1:pw:x' }).auth).toEqual({
      type: 'basic',
      user: 'user1',
      password: 'pw:x',
    });
  });

  it('fails with the fix when no server is known', () => {
    expect(() => resolve({}, {}, {})).toThrow(/CONTROL_PLANE/);
  });

  it('has no credentials when nothing gives any', () => {
    const t = resolve({}, { CONTROL_PLANE: 'localhost:5000' }, {});
    expect(t.auth).toBeNull();
    expect(authHint(t)).toMatch(/USERPASS/);
  });
});

/**
 * Which control plane tunnelctl talks to and with which credentials. Precedence: flags
 * (`--server`, `--token`) > environment (`TUNNELCTL_TOKEN`, `USERPASS`, `CONTROL_PLANE`) > the
 * config file written by `tunnelctl login`. A token beats USERPASS at the same level; the saved
 * token is only ever sent to the server it was saved for.
 */
import type { ClientAuth } from '../client/index.js';
import type { SavedConfig } from './config-file.js';
import { CliError } from './errors.js';

export type ServerSource = '--server' | 'CONTROL_PLANE' | 'config';
export type AuthSource = '--token' | 'TUNNELCTL_TOKEN' | 'USERPASS' | 'config' | '--user' | 'sso';

export interface Target {
  server: string;
  serverFrom: ServerSource;
  auth: ClientAuth | null;
  authFrom: AuthSource | null;
  configPath: string;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * `CONTROL_PLANE` as the proof of concept took it (`host[:port]`), or a full URL. Without a
 * scheme: `http` for loopback hosts (localhost, 127.x.x.x, [::1]), `https` otherwise. Returns the
 * base URL without a trailing slash.
 */
export function parseControlPlane(value: string, what = 'CONTROL_PLANE'): string {
  const v = value.trim();
  const fail = (why: string) =>
    new CliError(
      `${what}=${JSON.stringify(value)} is not valid (${why}); use host[:port] or a URL, e.g. localhost:5000`,
      { code: 'cli.bad_setting' },
    );
  if (v === '') throw fail('empty');
  let withScheme = v;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^[a-z][a-z0-9+.-]*:(?!\d)/i.test(v) && !v.startsWith('[')) throw fail('unknown scheme');
    let host: string;
    try {
      host = new URL(`http://${v}`).hostname;
    } catch {
      throw fail('not a host name');
    }
    withScheme = `${LOOPBACK.test(host) ? 'http' : 'https'}://${v}`;
  } else if (scheme !== 'http' && scheme !== 'https') {
    throw fail(`the scheme must be http or https, not ${scheme}`);
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw fail('not a URL');
  }
  if (!url.hostname) throw fail('no host');
  if (url.username || url.password) throw fail('put credentials in USERPASS, not in the URL');
  if (url.search || url.hash) throw fail('no query or fragment allowed');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** `user:password`; the password may contain ':'. */
export function parseUserpass(value: string): { user: string; password: string } {
  const i = value.indexOf(':');
  if (i <= 0)
    throw new CliError('USERPASS must be user:password (e.g. export USERPASS=user1:user1password)', {
      code: 'cli.bad_setting',
    });
  return { user: value.slice(0, i), password: value.slice(i + 1) };
}

export function resolveTarget(input: {
  flags: { server?: string | undefined; token?: string | undefined };
  env: Record<string, string | undefined>;
  config: SavedConfig;
  configPath: string;
}): Target {
  const { flags, env, config, configPath } = input;
  let server: string;
  let serverFrom: ServerSource;
  if (flags.server !== undefined) {
    server = parseControlPlane(flags.server, '--server');
    serverFrom = '--server';
  } else if (env.CONTROL_PLANE) {
    server = parseControlPlane(env.CONTROL_PLANE);
    serverFrom = 'CONTROL_PLANE';
  } else if (config.server) {
    server = parseControlPlane(config.server, `server in ${configPath}`);
    serverFrom = 'config';
  } else {
    throw new CliError(
      'No control plane given: set CONTROL_PLANE (e.g. export CONTROL_PLANE=localhost:5000), pass --server, or run tunnelctl login --server URL',
      { code: 'cli.no_server' },
    );
  }

  let auth: ClientAuth | null = null;
  let authFrom: AuthSource | null = null;
  if (flags.token !== undefined) {
    if (flags.token === '') throw new CliError('--token is empty');
    auth = { type: 'bearer', token: flags.token };
    authFrom = '--token';
  } else if (env.TUNNELCTL_TOKEN) {
    auth = { type: 'bearer', token: env.TUNNELCTL_TOKEN };
    authFrom = 'TUNNELCTL_TOKEN';
  } else if (env.USERPASS) {
    auth = { type: 'basic', ...parseUserpass(env.USERPASS) };
    authFrom = 'USERPASS';
  } else if (config.token && config.server && sameServer(config.server, server)) {
    auth = { type: 'bearer', token: config.token };
    authFrom = 'config';
  }
  return { server, serverFrom, auth, authFrom, configPath };
}

function sameServer(saved: string, server: string): boolean {
  try {
    return parseControlPlane(saved) === server;
  } catch {
    return false;
  }
}

/** How to fix the server address, for error messages. */
export function serverHint(target: Pick<Target, 'serverFrom' | 'configPath'>): string {
  switch (target.serverFrom) {
    case '--server':
      return 'check --server';
    case 'CONTROL_PLANE':
      return 'check CONTROL_PLANE';
    case 'config':
      return `check the server saved in ${target.configPath} (or set CONTROL_PLANE)`;
  }
}

/** How to fix refused credentials, for error messages. */
export function authHint(target: Pick<Target, 'authFrom' | 'configPath'>): string {
  switch (target.authFrom) {
    case '--token':
      return 'check the token given with --token (revoked or expired?)';
    case 'TUNNELCTL_TOKEN':
      return 'check TUNNELCTL_TOKEN (revoked or expired?)';
    case 'USERPASS':
      return 'check USERPASS (user:password)';
    case 'config':
      return `the token saved in ${target.configPath} was refused (revoked or expired?); run tunnelctl login again`;
    case '--user':
      return 'check the user name and password';
    case 'sso':
      return 'run tunnelctl login --sso again';
    case null:
      return 'set USERPASS=user:password or TUNNELCTL_TOKEN, or run tunnelctl login';
  }
}

/**
 * `login` (creates an API token with the user's password and saves it with the server, 0600;
 * `login --sso` is device-login.ts's), `logout` (revokes it and forgets it) and `whoami`.
 */
import { hostname } from 'node:os';
import {
  createTunnelplaneClient,
  isApiError,
  isConnectionError,
  type ClientAuth,
  type CreatedToken,
  type TunnelplaneClient,
} from '../client/index.js';
import { writeConfig, type SavedConfig } from './config-file.js';
import type { Ctx } from './context.js';
import { CliError, UsageError } from './errors.js';
import { meDetails } from './output.js';
import { isInteractive, promptLine, readAllStdin } from './prompt.js';
import { parseControlPlane, parseUserpass, type AuthSource, type ServerSource } from './target.js';

export async function login(ctx: Ctx): Promise<number> {
  const saved = await ctx.config();
  const { server, serverFrom } = loginServer(ctx, saved);
  const base = createTunnelplaneClient({ baseUrl: server, userAgent: `tunnelctl/${ctx.version}` });
  const adopt = (client: TunnelplaneClient, auth: ClientAuth, authFrom: AuthSource) =>
    ctx.adopt({ client, target: { server, serverFrom, auth, authFrom, configPath: ctx.configPath } });

  let entry: SavedConfig;
  const given = ctx.flag('token');
  if (given !== undefined) {
    // A token made elsewhere: check it, then keep it. Without its id, logout cannot revoke it.
    const auth: ClientAuth = { type: 'bearer', token: given };
    const client = base.withAuth(auth);
    adopt(client, auth, '--token');
    const me = await client.me();
    entry = { server, user: me.name, token: given, tokenId: null, savedAt: new Date().toISOString() };
  } else {
    const { auth, from } = await loginCredentials(ctx);
    const client = base.withAuth(auth);
    adopt(client, auth, from);
    const tokenName = ctx.flag('name') ?? defaultTokenName();
    const days = ctx.flag('expires-in-days');
    let expiresInDays: number | undefined;
    if (days !== undefined) {
      expiresInDays = Number(days);
      if (!/^\d+$/.test(days) || expiresInDays < 1) {
        throw new UsageError('--expires-in-days must be a whole number of days, at least 1', ['login']);
      }
    }
    const created = await client.tokens.create({
      name: tokenName,
      ...(expiresInDays !== undefined && { expiresInDays }),
    });
    return saveLogin(ctx, {
      server,
      saved,
      client,
      created,
      user: auth.type === 'basic' ? auth.user : undefined,
    });
  }
  return finish(ctx, server, entry);
}

/**
 * Saves a token just made for this server (by password or by single sign-on): the previous
 * token of this server is revoked rather than leaked, the file is written 0600.
 */
export async function saveLogin(
  ctx: Ctx,
  made: {
    server: string;
    saved: SavedConfig;
    client: TunnelplaneClient;
    created: CreatedToken;
    user?: string;
    /** -o json as JSON lines (after login --sso's first line). */
    jsonLines?: boolean;
  },
): Promise<number> {
  const { server, saved, client, created } = made;
  if (
    saved.tokenId &&
    saved.server &&
    sameServer(saved.server, server) &&
    saved.tokenId !== created.token.id
  ) {
    await client.tokens.delete(saved.tokenId).catch(() => undefined);
  }
  return finish(
    ctx,
    server,
    {
      server,
      user: made.user,
      token: created.secret,
      tokenId: created.token.id,
      tokenName: created.token.name,
      savedAt: new Date().toISOString(),
    },
    made.jsonLines,
  );
}

/** `jsonLines`: -o json prints one compact line (login --sso's second document). */
async function finish(ctx: Ctx, server: string, entry: SavedConfig, jsonLines = false): Promise<number> {
  await writeConfig(ctx.configPath, entry);

  if (ctx.format === 'table') {
    ctx.note(`Logged in to ${server} as ${entry.user}; token saved in ${ctx.configPath}`);
  } else {
    const data = {
      server,
      user: entry.user,
      tokenId: entry.tokenId,
      tokenName: entry.tokenName ?? null,
      configFile: ctx.configPath,
    };
    if (jsonLines && ctx.format === 'json') ctx.out(`${JSON.stringify(data)}\n`);
    else ctx.data(data);
  }
  for (const name of ['TUNNELCTL_TOKEN', 'USERPASS'] as const) {
    if (ctx.env[name])
      ctx.note(`Note: ${name} is set and wins over the saved token; unset it to use this login.`);
  }
  return 0;
}

export function loginServer(ctx: Ctx, saved: SavedConfig): { server: string; serverFrom: ServerSource } {
  const flag = ctx.flag('server');
  if (flag !== undefined) return { server: parseControlPlane(flag, '--server'), serverFrom: '--server' };
  if (ctx.env.CONTROL_PLANE)
    return { server: parseControlPlane(ctx.env.CONTROL_PLANE), serverFrom: 'CONTROL_PLANE' };
  if (saved.server)
    return { server: parseControlPlane(saved.server, `server in ${ctx.configPath}`), serverFrom: 'config' };
  throw new CliError(
    'login needs a control plane: pass --server URL or set CONTROL_PLANE (e.g. localhost:5000)',
  );
}

/** --user (+ prompt or --password-stdin) > USERPASS > prompting for both on a terminal. */
async function loginCredentials(ctx: Ctx): Promise<{ auth: ClientAuth; from: AuthSource }> {
  const { stdin, stderr } = ctx.io;
  let user = ctx.flag('user');
  const fromStdin = ctx.has('password-stdin');
  if (fromStdin && user === undefined) throw new UsageError('--password-stdin needs --user USER', ['login']);
  if (user === undefined && ctx.env.USERPASS) {
    return { auth: { type: 'basic', ...parseUserpass(ctx.env.USERPASS) }, from: 'USERPASS' };
  }
  let password: string;
  if (fromStdin) {
    password = await readAllStdin(stdin);
  } else if (isInteractive(stdin)) {
    if (user === undefined) user = (await promptLine(stdin, stderr, 'User: ', false)).trim();
    password = await promptLine(stdin, stderr, `Password for ${user}: `, true);
  } else if (user !== undefined) {
    throw new CliError('No terminal to ask the password on: pass --password-stdin and pipe the password in');
  } else {
    throw new CliError(
      'login needs credentials: set USERPASS=user:password, or pass --user USER (with --password-stdin when not on a terminal)',
    );
  }
  if (!user || user.includes(':')) throw new CliError('The user name must be non-empty and without ":"');
  if (!password) throw new CliError('The password is empty');
  return { auth: { type: 'basic', user, password }, from: '--user' };
}

export function defaultTokenName(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9-]+/g, '-')
      .slice(0, 48) || 'host';
  return `tunnelctl-${host}`;
}

function sameServer(a: string, b: string): boolean {
  try {
    return parseControlPlane(a) === parseControlPlane(b);
  } catch {
    return false;
  }
}

export async function logout(ctx: Ctx): Promise<number> {
  const saved = await ctx.config();
  if (!saved.token) {
    if (ctx.format === 'table') ctx.note(`Not logged in (no token in ${ctx.configPath})`);
    else ctx.data({ server: saved.server ?? null, revoked: false, configFile: ctx.configPath });
    return 0;
  }
  const server = saved.server ? parseControlPlane(saved.server, `server in ${ctx.configPath}`) : null;
  let revoked = false;
  if (!ctx.has('local') && server && saved.tokenId) {
    const client = createTunnelplaneClient({
      baseUrl: server,
      auth: { type: 'bearer', token: saved.token },
      userAgent: `tunnelctl/${ctx.version}`,
    });
    try {
      await client.tokens.delete(saved.tokenId);
      revoked = true;
    } catch (err) {
      if (isApiError(err) && (err.status === 401 || err.status === 404)) {
        ctx.note('The saved token was already revoked or expired.');
      } else if (isConnectionError(err)) {
        throw new CliError(
          `Cannot reach ${server} to revoke the token (${err.reason}); try again when it is reachable, or forget it without revoking: tunnelctl logout --local`,
        );
      } else {
        throw err;
      }
    }
  } else if (!ctx.has('local')) {
    ctx.note('This token was given to login by hand: it is forgotten here but stays valid on the server.');
  }
  const rest: SavedConfig = { ...saved };
  delete rest.token;
  delete rest.tokenId;
  delete rest.tokenName;
  delete rest.user;
  delete rest.savedAt;
  await writeConfig(ctx.configPath, rest);
  if (ctx.format === 'table') {
    ctx.note(
      `Logged out of ${server ?? 'the control plane'}${revoked ? '; token revoked' : ''} and removed from ${ctx.configPath}`,
    );
  } else {
    ctx.data({ server, revoked, configFile: ctx.configPath });
  }
  return 0;
}

export async function whoami(ctx: Ctx): Promise<number> {
  const { client, target } = await ctx.session();
  const me = await client.me();
  const via =
    target.authFrom === 'config' ? `token saved in ${target.configPath}` : (target.authFrom ?? 'none');
  if (ctx.format === 'table') ctx.out(meDetails(me, target.server, via));
  else ctx.data({ ...me, server: target.server, auth: target.authFrom });
  return 0;
}

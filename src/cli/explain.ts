/**
 * Turns a client error into the one line tunnelctl prints: the cause and the fix. Unknown
 * tunnels and routes are listed alongside, so the user sees what does exist.
 */
import { TunnelplaneConnectionError, type TunnelplaneApiError } from '../client/index.js';
import type { Ctx } from './context.js';
import { authHint, serverHint, type AuthSource } from './target.js';

export async function explain(
  err: TunnelplaneApiError | TunnelplaneConnectionError,
  ctx: Ctx,
): Promise<string> {
  const session = ctx.opened;
  const target = session?.target ?? {
    serverFrom: 'CONTROL_PLANE' as const,
    configPath: ctx.configPath,
    authFrom: null,
  };

  if (err instanceof TunnelplaneConnectionError) {
    return `Cannot reach the control plane at ${err.url.split('?')[0]} (${err.reason}): ${serverHint(target)} and that the server is running`;
  }

  const server = session?.target.server ?? new URL(err.url).origin;
  const ref = err.requestId ? `, request ${err.requestId}` : '';
  switch (err.code) {
    case 'auth.required':
    case 'auth.invalid':
      return `Authentication failed at ${server} (${err.code}): ${authHint(target)}`;
    case 'auth.forbidden':
      return `${err.message} (${err.code}): this needs an admin account`;
    case 'auth.scope':
      return scopeMissing(err, target);
    case 'auth.disabled':
      return `Your account at ${server} is disabled (${err.code}): ask an administrator to enable it (tunnelctl admin users enable USER)`;
    case 'auth.password_disabled':
      return `Password sign-in is turned off at ${server} (${err.code}): sign in with single sign-on (tunnelctl login --sso), or use an API token${target.authFrom === 'USERPASS' ? '; unset USERPASS' : ''}`;
    case 'auth.csrf':
      return `${err.message} (${err.code}): a browser session's change needs its X-CSRF-Token header; from scripts, use an API token`;
    case 'auth.wrong_password':
      return `${err.message.replace(/\.$/, '')} (${err.code}): give your current password first, then the new one; nothing was changed`;
    case 'token.exceeds':
      return `${err.message.replace(/\.$/, '')} (${err.code}): a token gets at most the scopes and lifetime of the credential that makes it; leave out --scope or --expires-in-days, or make it with your password (tunnelctl login, USERPASS)`;
    case 'token.bad_scope':
      return `${err.message.replace(/\.$/, '')} (${err.code}): give --scope read, write or admin`;
    case 'token.not_found':
      return `${err.message.replace(/\.$/, '')} (${err.code}): see your tokens with: tunnelctl tokens list`;
    case 'user.invalid_name':
      return `${err.message} (${err.code})`;
    case 'user.weak_password':
      return `${err.message.replace(/\.$/, '')} (${err.code}): choose a longer one; nothing was changed`;
    case 'user.last_admin':
      return `${err.message.replace(/\.$/, '')} (${err.code}): someone must be able to administer; make another user an admin first (tunnelctl admin users role USER admin)`;
    case 'user.not_found':
      return `${err.message.replace(/\.$/, '')} (${err.code}): see the users with: tunnelctl admin users list`;
    case 'user.name_taken':
    case 'team.name_taken':
      return `${err.message.replace(/\.$/, '')} (${err.code}): choose another name`;
    case 'user.has_tunnels':
      return `${err.message.replace(/\.$/, '')} (${err.code}): see them with: tunnelctl admin tunnels --owner ${ctx.subject.user ?? 'USER'}`;
    case 'team.has_tunnels':
      return `${err.message.replace(/\.$/, '')} (${err.code}): see them with: tunnelctl admin tunnels --owner team:${ctx.subject.team ?? 'TEAM'}`;
    case 'team.not_found':
      return teamNotFound(ctx, err);
    case 'sso.not_configured':
      return `${err.message.replace(/\.$/, '')} (${err.code}): sign in with a password (tunnelctl login), or ask the operator of ${server} to configure single sign-on`;
    case 'sso.expired':
      return `${err.message.replace(/[.;] start again\.?$|\.$/, '')} (${err.code}): run tunnelctl login --sso again`;
    case 'sso.failed':
      return `${err.message.replace(/\.$/, '')} (${err.code}): sign in again; if it keeps failing, give the request id to the operator${ref}`;
    case 'sso.unavailable':
      return `${err.message.replace(/\.$/, '')} (${err.code}): the control plane cannot reach its identity provider; try again later`;
    case 'quota.exceeded':
      return `${err.message} (${err.code}): delete ${String(err.details.resource ?? 'some')} you no longer need, or ask an admin to raise your quota`;
    case 'tunnel.not_found':
      return tunnelNotFound(ctx, err);
    case 'route.not_found':
      return routeNotFound(ctx, err);
    case 'tunnel.name_taken':
      return `${err.message}: choose another --name, or leave it out for a random one`;
    case 'route.name_taken':
    case 'route.hostname_taken':
      return `${err.message}: choose another --name, or leave it out for a random one`;
    case 'tunnel.deleting':
      return `${err.message}: wait until it is gone, or create another tunnel`;
    case 'route.unknown_path':
      return `The control plane at ${server} does not know ${err.method} ${new URL(err.url).pathname}: is the server older than this tunnelctl? (${serverHint(target)})`;
    case 'client.unexpected_response':
      return `${err.message} (${serverHint(target)})`;
    default:
      break;
  }
  if (err.code.startsWith('http.')) {
    return `${err.message}: is ${server} a Tunnelplane control plane? (${serverHint(target)})`;
  }
  if (err.status >= 500) {
    return `The control plane failed (${err.code}${ref}): ${err.message}; try again, or give the request id to its operator`;
  }
  // Validation errors (route.invalid_service, tunnel.invalid_name, request.invalid…): the
  // server's own sentence names the problem.
  return `${err.message} (${err.code})`;
}

/** A token without the scope: which one it lacks, where the token came from, how to get one that has it. */
function scopeMissing(
  err: TunnelplaneApiError,
  target: { authFrom: AuthSource | null; configPath: string },
): string {
  const missing = Array.isArray(err.details.missing) ? (err.details.missing as string[]) : [];
  const from =
    target.authFrom === 'config'
      ? `the token saved in ${target.configPath}`
      : target.authFrom === '--token' || target.authFrom === 'TUNNELCTL_TOKEN'
        ? `the token in ${target.authFrom}`
        : 'this API token';
  const lacks = missing.length ? missing.map((s) => `"${s}"`).join(' and ') : 'the needed';
  const scopes = missing.map((s) => ` --scope ${s}`).join('');
  return `${from.charAt(0).toUpperCase()}${from.slice(1)} lacks the ${lacks} scope (${err.code}): use a token that has it (tunnelctl tokens create NAME${scopes}, made with your password), or your password (USERPASS)`;
}

async function teamNotFound(ctx: Ctx, err: TunnelplaneApiError): Promise<string> {
  const head = `${err.message.replace(/\.$/, '')} (${err.code})`;
  const session = ctx.opened;
  if (!session) return head;
  if (new URL(err.url).pathname.includes('/api/v1/admin/'))
    return `${head}: see the teams with: tunnelctl admin teams list`;
  try {
    const teams = (await session.client.account.teams()).map((t) => t.name);
    if (teams.length === 0)
      return `${head}: you are in no team; an admin adds you (tunnelctl admin teams add-member TEAM USER)`;
    return `${head}; your teams: ${teams.join(', ')}`;
  } catch {
    return `${head}; see your teams with: tunnelctl teams`;
  }
}

async function tunnelNotFound(ctx: Ctx, err: TunnelplaneApiError): Promise<string> {
  const name = ctx.subject.tunnel ?? String(err.details.name ?? '');
  const head = name ? `Tunnel ${name} not found` : err.message.replace(/\.$/, '');
  const session = ctx.opened;
  if (!session) return head;
  try {
    const names = (await session.client.tunnels.listAll()).map((t) => t.name);
    if (names.length === 0) return `${head}: you have no tunnels; create one with: tunnelctl create`;
    return `${head}; your tunnels: ${names.join(', ')}`;
  } catch {
    return `${head}; see your tunnels with: tunnelctl list`;
  }
}

async function routeNotFound(ctx: Ctx, err: TunnelplaneApiError): Promise<string> {
  const { tunnel, route } = ctx.subject;
  const head = tunnel && route ? `Tunnel ${tunnel} has no route ${route}` : err.message.replace(/\.$/, '');
  const session = ctx.opened;
  if (!session || !tunnel) return head;
  try {
    const routes = await session.client.routes.list(tunnel);
    if (routes.length === 0) return `${head}: it has no routes`;
    return `${head}; its routes: ${routes.map((r) => `${r.name} (${r.hostname} -> ${r.service})`).join(', ')}`;
  } catch {
    return `${head}; see its routes with: tunnelctl route list ${tunnel}`;
  }
}

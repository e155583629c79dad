/**
 * Turns a client error into the one line tunnelctl prints: the cause and the fix. Unknown
 * tunnels and routes are listed alongside, so the user sees what does exist.
 */
import { TunnelplaneConnectionError, type TunnelplaneApiError } from '../client/index.js';
import type { Ctx } from './context.js';
import { authHint, serverHint } from './target.js';

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

/**
 * Tunnel verbs: the proof of concept's `list`, `create`, `credentials`, `config`, `delete TUNNEL`
 * and the structured `tunnel create|list|get|delete`, `status` and `token`. All speak API v1.
 */
import { parse as parseYaml } from 'yaml';
import type { ConfigMode, Tunnel } from '../client/index.js';
import type { Ctx } from './context.js';
import { converge, orGone, type ConvergeSpec } from './converge.js';
import { ttlFlag } from './duration.js';
import { UsageError } from './errors.js';
import { renderData, tunnelDetails, tunnelStatus, tunnelsTable, tunnelsWithRoutesTable } from './output.js';

/** Yours and your teams' (`--team`: only that team's). */
async function listed(ctx: Ctx): Promise<Tunnel[]> {
  const { client } = await ctx.session();
  const team = ctx.flag('team');
  return client.tunnels.listAll(team !== undefined ? { team } : {});
}

function noTunnels(ctx: Ctx): void {
  const team = ctx.flag('team');
  ctx.note(
    team !== undefined
      ? `Team ${team} has no tunnels yet; create one with: tunnelctl create --team ${team}`
      : 'No tunnels yet; create one with: tunnelctl create',
  );
}

/** `list` (the default verb): every tunnel with its routes. */
export async function listTunnelsWithRoutes(ctx: Ctx): Promise<number> {
  const tunnels = await listed(ctx);
  if (ctx.format === 'name') ctx.out(tunnels.map((t) => `${t.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(tunnels);
  else if (tunnels.length === 0) noTunnels(ctx);
  else ctx.out(tunnelsWithRoutesTable(tunnels));
  return 0;
}

/** `tunnel list`: one row per tunnel. */
export async function listTunnels(ctx: Ctx): Promise<number> {
  const tunnels = await listed(ctx);
  if (ctx.format === 'name') ctx.out(tunnels.map((t) => `${t.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(tunnels);
  else if (tunnels.length === 0) noTunnels(ctx);
  else ctx.out(tunnelsTable(tunnels));
  return 0;
}

/** `create`, `tunnel create`: `named` is `create NAME --team TEAM`'s NAME (else --name). */
export async function createTunnel(ctx: Ctx, named?: string): Promise<number> {
  const { client } = await ctx.session();
  const mode = ctx.flag('mode');
  if (mode !== undefined && mode !== 'local' && mode !== 'remote') {
    throw new UsageError(`--mode must be local or remote, not ${JSON.stringify(mode)}`, ['tunnel', 'create']);
  }
  const name = named ?? ctx.flag('name');
  const team = ctx.flag('team');
  const ttlSeconds = ttlFlag(ctx.flag('ttl'), ['tunnel', 'create']);
  const input = {
    ...(name !== undefined && { name }),
    ...(mode !== undefined && { configMode: mode as ConfigMode }),
    ...(team !== undefined && { team }),
    ...(ttlSeconds !== undefined && { ttlSeconds }),
  };
  let created: Tunnel | null = null;
  const spec: ConvergeSpec<Tunnel> = {
    label: name ? `Creating tunnel ${name}` : 'Creating tunnel',
    what: `tunnel ${name ?? ''}`,
    check: `tunnelctl tunnel get ${name ?? ''}`,
    goal: 'ready',
    start: async (wait) => {
      const res = await client.tunnels.create(input, { wait });
      created = res.value;
      // The server picks the name when none was given: messages from here on carry it.
      spec.what = `tunnel ${res.value.name}`;
      spec.check = `tunnelctl tunnel get ${res.value.name}`;
      return res;
    },
    poll: () => orGone(() => client.tunnels.get((created as Tunnel).name)),
  };
  const tunnel = await converge(ctx, spec);
  const result = tunnel ?? (created as Tunnel | null);
  if (!result) return 0;
  printTunnel(ctx, result);
  if (result.phase === 'ready') {
    ctx.note(
      result.configMode === 'remote'
        ? `Next: tunnelctl create ${result.name} http://localhost:8000, then tunnelctl run ${result.name}`
        : `Next: tunnelctl credentials ${result.name} > credentials.json`,
    );
  }
  return 0;
}

export async function getTunnel(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  printTunnel(ctx, await client.tunnels.get(name));
  return 0;
}

/** `status TUNNEL`'s exit status when cloudflared is not connected (down, inactive, not checked yet). */
export const NOT_CONNECTED = 3;

/**
 * `status TUNNEL`: is cloudflared connected? Exit 0 when its connectors are healthy or degraded,
 * {@link NOT_CONNECTED} when down, inactive or not checked yet — so a script can wait on it.
 */
export async function tunnelStatusCommand(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  const tunnel = await client.tunnels.get(name);
  const connectors = tunnel.connectors ?? null;
  const connected = connectors?.status === 'healthy' || connectors?.status === 'degraded';
  if (ctx.format === 'table') {
    ctx.out(tunnelStatus(tunnel));
    if (!connected && tunnel.phase === 'ready' && connectors?.status !== undefined)
      ctx.note(`cloudflared is not connected; start it with: tunnelctl run ${name}`);
  } else
    ctx.data({
      tunnel: tunnel.name,
      phase: tunnel.phase,
      connectors,
      routes: tunnel.routes.map((r) => ({ name: r.name, hostname: r.hostname, phase: r.phase })),
    });
  return connected ? 0 : NOT_CONNECTED;
}

function printTunnel(ctx: Ctx, tunnel: Tunnel): void {
  if (ctx.format === 'table') ctx.out(tunnelDetails(tunnel));
  else ctx.data(tunnel);
}

export async function deleteTunnel(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  const left = await converge<Tunnel>(ctx, {
    label: `Deleting tunnel ${name}`,
    what: `tunnel ${name}`,
    check: `tunnelctl tunnel get ${name}`,
    goal: 'gone',
    start: (wait) => client.tunnels.delete(name, { wait }),
    poll: () => orGone(() => client.tunnels.get(name)),
  });
  const status = left ? 'deleting' : 'deleted';
  if (ctx.format === 'table')
    ctx.out(`tunnel ${name} ${status === 'deleted' ? 'deleted' : 'is being deleted'}\n`);
  else ctx.data({ tunnel: name, status });
  return 0;
}

/** The raw credentials file (stdout only, so `> credentials.json` works). */
export async function credentials(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  const body = await client.tunnels.credentials(name);
  if (ctx.format === 'yaml') ctx.out(renderData(JSON.parse(body), 'yaml'));
  else raw(ctx, body);
  return 0;
}

/** The raw config.yaml (stdout only, so `> config.yaml` works). */
export async function config(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  const body = await client.tunnels.config(name);
  if (ctx.format === 'json') ctx.out(renderData(parseYaml(body), 'json'));
  else raw(ctx, body);
  return 0;
}

/** `token TUNNEL`: the run token for `cloudflared tunnel run --token`. */
export async function runToken(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  const token = await client.tunnels.token(name);
  if (ctx.format === 'table') ctx.out(`${token}\n`);
  else ctx.data({ token });
  return 0;
}

/** Byte for byte; on a terminal only, a final newline so the prompt starts on its own line. */
function raw(ctx: Ctx, body: string): void {
  ctx.out(ctx.io.stdout.isTTY && !body.endsWith('\n') ? `${body}\n` : body);
}

/**
 * The command table: every verb with its arguments, the flags it takes beyond the global ones,
 * its one-line summary and its handler. Dispatch, usage, help and completion scripts all read
 * this table, so they cannot drift apart.
 */
import { ALL_FLAGS } from './args.js';
import type { Ctx } from './context.js';
import { UsageError } from './errors.js';
import { addRoute, deleteRoute, deleteRoutesOfService, listRoutes } from './route-commands.js';
import { run } from './run-command.js';
import { login, logout, whoami } from './session-commands.js';
import {
  config,
  createTunnel,
  credentials,
  deleteTunnel,
  getTunnel,
  listTunnels,
  listTunnelsWithRoutes,
  runToken,
} from './tunnel-commands.js';

export interface Command {
  /** Words that name it: ['list'], ['tunnel', 'create']. */
  path: string[];
  /** Positional parameters; optional ones are in brackets in usage. */
  params: Array<{ name: string; optional?: boolean; completes?: 'tunnel' | 'route' | 'shell' | 'command' }>;
  /** Flags it takes besides the global ones. */
  flags: string[];
  summary: string;
  /** `proof` lists it among the proof of concept's verbs in help. */
  section: 'proof' | 'tunnels' | 'routes' | 'session' | 'other';
  /** It accepts `-o name`. */
  names?: boolean;
  /** Usage line when `params` cannot say it. */
  usage?: string;
  /** Overloaded verbs: each form with its own summary, listed separately in help. */
  forms?: Array<{ usage: string; summary: string }>;
  /**
   * The handler; or, for the commands that read this table themselves (help, completion,
   * version), which of main.ts's built-ins runs it — so this table imports nothing that imports it.
   */
  run: ((ctx: Ctx, args: string[]) => Promise<number>) | Builtin;
}

export type Builtin = 'help' | 'completion' | 'version';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

const T = { name: 'TUNNEL', completes: 'tunnel' } as const;

export const COMMANDS: Command[] = [
  {
    path: ['list'],
    params: [],
    flags: [],
    names: true,
    summary: 'your tunnels and their routes (the default command)',
    section: 'proof',
    run: (ctx) => listTunnelsWithRoutes(ctx),
  },
  {
    path: ['create'],
    params: [
      { name: 'TUNNEL', optional: true, completes: 'tunnel' },
      { name: 'SERVICE', optional: true },
    ],
    flags: ['name', 'mode'],
    usage: 'create [--name NAME] [--mode local|remote]  |  tunnelctl create TUNNEL SERVICE [--name LABEL]',
    forms: [
      { usage: 'create', summary: 'create a tunnel with a random name (--name, --mode local|remote)' },
      {
        usage: 'create TUNNEL SERVICE',
        summary: 'add a route to SERVICE, e.g. http://localhost:8000 or tcp://10.0.0.5:22',
      },
    ],
    summary: 'create a tunnel; with TUNNEL SERVICE, add a route to SERVICE',
    section: 'proof',
    run: (ctx, [tunnel, service]) => {
      if (tunnel === undefined) return createTunnel(ctx);
      if (service === undefined) throw new UsageError('Missing parameter: SERVICE', ['create']);
      if (ctx.flag('mode') !== undefined)
        throw new UsageError('--mode applies to creating a tunnel, not a route', ['create']);
      return addRoute(ctx, tunnel, service);
    },
  },
  {
    path: ['credentials'],
    params: [T],
    flags: [],
    summary: 'print the cloudflared credentials file (> credentials.json)',
    section: 'proof',
    run: (ctx, [tunnel]) => credentials(ctx, tunnel as string),
  },
  {
    path: ['config'],
    params: [T],
    flags: [],
    summary: 'print the cloudflared config file (> config.yaml)',
    section: 'proof',
    run: (ctx, [tunnel]) => config(ctx, tunnel as string),
  },
  {
    path: ['delete'],
    params: [T, { name: 'SERVICE', optional: true }],
    flags: [],
    forms: [
      { usage: 'delete TUNNEL', summary: 'delete a tunnel and everything it created' },
      { usage: 'delete TUNNEL SERVICE', summary: 'delete every route of TUNNEL to SERVICE' },
    ],
    summary: 'delete a tunnel and all it created; with SERVICE, delete its routes to SERVICE',
    section: 'proof',
    run: (ctx, [tunnel, service]) =>
      service === undefined
        ? deleteTunnel(ctx, tunnel as string)
        : deleteRoutesOfService(ctx, tunnel as string, service),
  },
  {
    path: ['help'],
    params: [{ name: 'COMMAND', optional: true, completes: 'command' }],
    flags: [],
    summary: 'show help, for one command with COMMAND',
    section: 'proof',
    run: 'help',
  },
  {
    path: ['tunnel', 'create'],
    params: [],
    flags: ['name', 'mode'],
    summary: 'create a tunnel (random name unless --name; --mode local, the default, or remote)',
    section: 'tunnels',
    run: (ctx) => createTunnel(ctx),
  },
  {
    path: ['tunnel', 'list'],
    params: [],
    flags: [],
    names: true,
    summary: 'your tunnels, one per line',
    section: 'tunnels',
    run: (ctx) => listTunnels(ctx),
  },
  {
    path: ['tunnel', 'get'],
    params: [T],
    flags: [],
    summary: 'one tunnel in detail, with its routes',
    section: 'tunnels',
    run: (ctx, [tunnel]) => getTunnel(ctx, tunnel as string),
  },
  {
    path: ['tunnel', 'delete'],
    params: [T],
    flags: [],
    summary: 'delete a tunnel, its routes, DNS records and access pods',
    section: 'tunnels',
    run: (ctx, [tunnel]) => deleteTunnel(ctx, tunnel as string),
  },
  {
    path: ['route', 'add'],
    params: [T, { name: 'SERVICE' }],
    flags: ['name', 'allow-ips', 'access-emails', 'access-domains'],
    usage:
      'route add TUNNEL SERVICE [--name LABEL] [--allow-ips CIDR,…] [--access-emails EMAIL,…] [--access-domains DOMAIN,…]',
    summary: 'route a new hostname to SERVICE (http://…, https://…, tcp://host:port, ssh://…, …)',
    section: 'routes',
    run: (ctx, [tunnel, service]) => addRoute(ctx, tunnel as string, service as string),
  },
  {
    path: ['route', 'list'],
    params: [T],
    flags: [],
    names: true,
    summary: "a tunnel's routes",
    section: 'routes',
    run: (ctx, [tunnel]) => listRoutes(ctx, tunnel as string),
  },
  {
    path: ['route', 'delete'],
    params: [T, { name: 'ROUTE', completes: 'route' }],
    flags: [],
    usage: 'route delete TUNNEL (ROUTE_NAME | HOSTNAME | SERVICE)',
    summary: 'delete a route by name or hostname, or every route to a service',
    section: 'routes',
    run: (ctx, [tunnel, ref]) => deleteRoute(ctx, tunnel as string, ref as string),
  },
  {
    path: ['token'],
    params: [T],
    flags: [],
    summary: 'print the tunnel token (for cloudflared tunnel run --token)',
    section: 'tunnels',
    run: (ctx, [tunnel]) => runToken(ctx, tunnel as string),
  },
  {
    path: ['run'],
    params: [T],
    flags: ['print', 'show-token'],
    summary: 'run cloudflared for the tunnel (--print: show the command instead)',
    section: 'tunnels',
    run: (ctx, [tunnel]) => run(ctx, tunnel as string),
  },
  {
    path: ['whoami'],
    params: [],
    flags: [],
    summary: 'who the control plane thinks you are, and your quotas',
    section: 'session',
    run: (ctx) => whoami(ctx),
  },
  {
    path: ['login'],
    params: [],
    flags: ['user', 'password-stdin', 'name', 'expires-in-days'],
    summary: 'create an API token and save it with the server (0600) for later commands',
    section: 'session',
    run: (ctx) => login(ctx),
  },
  {
    path: ['logout'],
    params: [],
    flags: ['local'],
    summary: 'revoke the saved token and forget it (--local: forget without revoking)',
    section: 'session',
    run: (ctx) => logout(ctx),
  },
  {
    path: ['completion'],
    params: [{ name: 'SHELL', completes: 'shell' }],
    flags: [],
    usage: 'completion bash|zsh|fish',
    summary: 'print a shell completion script',
    section: 'other',
    run: 'completion',
  },
  {
    path: ['version'],
    params: [],
    flags: [],
    summary: "print tunnelctl's version",
    section: 'other',
    run: 'version',
  },
];

/** Words that only group subcommands. */
export const GROUPS = [...new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0] as string))];

export function usageLine(c: Command): string {
  if (c.usage) return `tunnelctl ${c.usage}`;
  const params = c.params.map((p) => (p.optional ? `[${p.name}]` : p.name));
  const flags = c.flags.map((name) => {
    const spec = ALL_FLAGS.find((f) => f.name === name);
    return spec?.value ? `[--${name} ${spec.value}]` : `[--${name}]`;
  });
  return ['tunnelctl', ...c.path, ...params, ...flags].join(' ');
}

export function subcommands(group: string): Command[] {
  return COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === group);
}

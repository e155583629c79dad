/**
 * The command table: every verb with its arguments, the flags it takes beyond the global ones,
 * its one-line summary and its handler. Dispatch, usage, help and completion scripts all read
 * this table, so they cannot drift apart.
 */
import { createToken, events, listTokens, myTeams, passwd, revokeToken } from './account-commands.js';
import {
  addMember,
  adminTunnels,
  createTeam,
  createUser,
  listTeams,
  listUsers,
  removeMember,
  removeTeam,
  removeUser,
  resetPassword,
  setRole,
  setUserEnabled,
  showTeam,
  showUser,
  teamQuotas,
  userQuotas,
} from './admin-commands.js';
import { ALL_FLAGS } from './args.js';
import type { Ctx } from './context.js';
import { loginSso } from './device-login.js';
import { UsageError } from './errors.js';
import { addRoute, updateRoute, deleteRoute, deleteRoutesOfService, listRoutes } from './route-commands.js';
import { run } from './run-command.js';
import { listZones, pinZones } from './zone-commands.js';
import { share } from './share-command.js';
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
  tunnelStatusCommand,
} from './tunnel-commands.js';

/** What completion offers for a parameter: names asked from the control plane, or fixed words. */
export type Completes = 'tunnel' | 'route' | 'shell' | 'command' | 'user' | 'team' | 'role';

export interface Command {
  /** Words that name it: ['list'], ['tunnel', 'create'], ['admin', 'users', 'list']. */
  path: string[];
  /** Positional parameters; optional ones are in brackets in usage. */
  params: Array<{ name: string; optional?: boolean; completes?: Completes }>;
  /** Flags it takes besides the global ones. */
  flags: string[];
  summary: string;
  /** `proof` lists it among the proof of concept's verbs in help. */
  section: 'proof' | 'tunnels' | 'routes' | 'session' | 'account' | 'admin' | 'other';
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
const USER = { name: 'USER', completes: 'user' } as const;
const TEAM = { name: 'TEAM', completes: 'team' } as const;

/** `create NAME --team TEAM`: with --team, a lone argument is the new tunnel's name. */
function create(ctx: Ctx, tunnel: string | undefined, service: string | undefined): Promise<number> {
  if (service === undefined) {
    const routeOnly = ['zone', 'allow-ips', 'access-emails', 'access-domains'].find(
      (f) => ctx.flag(f) !== undefined,
    );
    if (routeOnly)
      throw new UsageError(`--${routeOnly} applies to creating a route: tunnelctl create TUNNEL SERVICE`, [
        'create',
      ]);
  }
  if (tunnel === undefined) return createTunnel(ctx);
  if (service === undefined) {
    if (ctx.flag('team') !== undefined) {
      if (ctx.flag('name') !== undefined)
        throw new UsageError('Give the tunnel name once: as NAME or as --name', ['create']);
      return createTunnel(ctx, tunnel);
    }
    throw new UsageError('Missing parameter: SERVICE', ['create']);
  }
  if (ctx.flag('mode') !== undefined)
    throw new UsageError('--mode applies to creating a tunnel, not a route', ['create']);
  if (ctx.flag('team') !== undefined)
    throw new UsageError("--team applies to creating a tunnel; a route belongs to its tunnel's owner", [
      'create',
    ]);
  return addRoute(ctx, tunnel, service, ['create']);
}

export const COMMANDS: Command[] = [
  {
    path: ['list'],
    params: [],
    flags: ['team'],
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
    flags: ['name', 'mode', 'team', 'ttl', 'zone', 'allow-ips', 'access-emails', 'access-domains'],
    usage:
      'create [--name NAME] [--mode local|remote] [--team TEAM] [--ttl DURATION]  |  tunnelctl create NAME --team TEAM  |  tunnelctl create TUNNEL SERVICE [--name LABEL] [--zone ZONE] [--ttl DURATION]',
    forms: [
      { usage: 'create', summary: 'create a tunnel with a random name (--name, --mode local|remote)' },
      { usage: 'create [NAME] --team TEAM', summary: 'create a tunnel owned by one of your teams' },
      {
        usage: 'create TUNNEL SERVICE',
        summary: 'add a route to SERVICE, e.g. http://localhost:8000 or tcp://10.0.0.5:22',
      },
    ],
    summary: "create a tunnel (a team's with --team); with TUNNEL SERVICE, add a route to SERVICE",
    section: 'proof',
    run: (ctx, [tunnel, service]) => create(ctx, tunnel, service),
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
    flags: ['name', 'mode', 'team', 'ttl'],
    summary:
      'create a tunnel (random name unless --name; --mode local, the default, or remote; --team: owned by that team)',
    section: 'tunnels',
    run: (ctx) => createTunnel(ctx),
  },
  {
    path: ['tunnel', 'list'],
    params: [],
    flags: ['team'],
    names: true,
    summary: "your tunnels and your teams', one per line (--team: only that team's)",
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
    flags: [
      'name',
      'hostname',
      'zone',
      'allow-ips',
      'access-emails',
      'access-domains',
      'access-groups',
      'session',
      'origin',
      'ttl',
    ],
    usage:
      'route add TUNNEL SERVICE [--name LABEL] [--hostname LABEL] [--zone ZONE] [--allow-ips CIDR,…] [--access-emails EMAIL,…] [--access-domains DOMAIN,…] [--access-groups GROUP,…] [--session DURATION] [--origin KEY=VALUE,…] [--ttl DURATION]',
    summary: 'route a new hostname to SERVICE (http://…, https://…, tcp://host:port, ssh://…, …)',
    section: 'routes',
    run: (ctx, [tunnel, service]) => addRoute(ctx, tunnel as string, service as string),
  },
  {
    path: ['route', 'update'],
    params: [T, { name: 'ROUTE', completes: 'route' }],
    flags: [
      'service',
      'allow-ips',
      'access-emails',
      'access-domains',
      'access-groups',
      'session',
      'no-access',
      'origin',
    ],
    usage:
      'route update TUNNEL ROUTE [--service URL] [--allow-ips CIDR,…|none] [--access-emails EMAIL,…] [--access-domains DOMAIN,…] [--access-groups GROUP,…] [--session DURATION] [--no-access] [--origin KEY=VALUE,…|none]',
    summary: 'change a route in place: its service, protection or origin options (the hostname stays)',
    section: 'routes',
    run: (ctx, [tunnel, ref]) => updateRoute(ctx, tunnel as string, ref as string),
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
    path: ['status'],
    params: [T],
    flags: [],
    summary:
      'is cloudflared connected: connectors, connections, routes; exit 0 when healthy or degraded, 3 when not',
    section: 'tunnels',
    run: (ctx, [tunnel]) => tunnelStatusCommand(ctx, tunnel as string),
  },
  {
    path: ['share'],
    params: [{ name: 'URL' }],
    flags: ['ttl', 'name', 'allow-ips', 'access-emails', 'access-domains', 'tunnel'],
    usage:
      'share URL|PORT [--ttl DURATION] [--name LABEL] [--allow-ips CIDR,…] [--access-emails EMAIL,…] [--access-domains DOMAIN,…] [--tunnel NAME]',
    summary:
      'share a local service at a public URL until Ctrl-C (a route that expires by itself, --ttl, default 8h)',
    section: 'routes',
    run: (ctx, [url]) => share(ctx, url as string),
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
    flags: ['user', 'password-stdin', 'sso', 'name', 'expires-in-days'],
    forms: [
      {
        usage: 'login [--user USER] [--password-stdin]',
        summary: 'create an API token with your password and save it with the server (0600)',
      },
      {
        usage: 'login --sso',
        summary: 'sign in with single sign-on: approve at the URL shown, the token is saved (0600)',
      },
    ],
    summary:
      'create an API token (with your password, or --sso: single sign-on) and save it with the server (0600)',
    section: 'session',
    run: (ctx) => (ctx.has('sso') ? loginSso(ctx) : login(ctx)),
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
    path: ['passwd'],
    params: [],
    flags: ['password-stdin'],
    summary: 'change your password (asked on a terminal; --password-stdin: current and new, one per line)',
    section: 'account',
    run: (ctx) => passwd(ctx),
  },
  {
    path: ['tokens', 'list'],
    params: [],
    flags: [],
    summary: 'your API tokens: scopes, last use, expiry (never their secrets)',
    section: 'account',
    run: (ctx) => listTokens(ctx),
  },
  {
    path: ['tokens', 'create'],
    params: [{ name: 'NAME' }],
    flags: ['scope', 'expires-in-days'],
    usage: 'tokens create NAME [--scope read|write|admin]... [--expires-in-days DAYS]',
    summary: 'create an API token and print its secret (once); --scope read for a token that only reads',
    section: 'account',
    run: (ctx, [name]) => createToken(ctx, name as string),
  },
  {
    path: ['tokens', 'revoke'],
    params: [{ name: 'TOKEN' }],
    flags: [],
    usage: 'tokens revoke ID|NAME',
    summary: 'revoke one of your API tokens, by id (or by name when only one has it)',
    section: 'account',
    run: (ctx, [token]) => revokeToken(ctx, token as string),
  },
  {
    path: ['events'],
    params: [],
    flags: ['limit', 'cursor'],
    summary: "your audit trail and your teams' (an admin's: everyone's), newest first",
    section: 'account',
    run: (ctx) => events(ctx),
  },
  {
    path: ['zones'],
    params: [],
    flags: [],
    names: true,
    summary: 'the zones you may put routes under (route add --zone), your default marked',
    section: 'account',
    run: (ctx) => listZones(ctx),
  },
  {
    path: ['teams'],
    params: [],
    flags: [],
    names: true,
    summary: 'the teams you are in (create in one with: tunnelctl create --team TEAM)',
    section: 'account',
    run: (ctx) => myTeams(ctx),
  },
  {
    path: ['admin', 'users', 'list'],
    params: [],
    flags: [],
    names: true,
    summary: 'every user: role, state, how they sign in, usage',
    section: 'admin',
    run: (ctx) => listUsers(ctx),
  },
  {
    path: ['admin', 'users', 'show'],
    params: [USER],
    flags: [],
    summary: 'one user in detail: quotas, usage, teams',
    section: 'admin',
    run: (ctx, [user]) => showUser(ctx, user as string),
  },
  {
    path: ['admin', 'users', 'create'],
    params: [{ name: 'USER' }],
    flags: ['role', 'password-stdin'],
    summary: 'create a user (a password from --password-stdin; without one, single sign-on only)',
    section: 'admin',
    run: (ctx, [user]) => createUser(ctx, user as string),
  },
  {
    path: ['admin', 'users', 'disable'],
    params: [USER],
    flags: [],
    summary: 'disable a user: every credential refused, their tunnels keep running',
    section: 'admin',
    run: (ctx, [user]) => setUserEnabled(ctx, user as string, false),
  },
  {
    path: ['admin', 'users', 'enable'],
    params: [USER],
    flags: [],
    summary: 'enable a disabled user again',
    section: 'admin',
    run: (ctx, [user]) => setUserEnabled(ctx, user as string, true),
  },
  {
    path: ['admin', 'users', 'remove'],
    params: [USER],
    flags: [],
    summary: 'remove a user (refused while they own personal tunnels; team tunnels stay)',
    section: 'admin',
    run: (ctx, [user]) => removeUser(ctx, user as string),
  },
  {
    path: ['admin', 'users', 'passwd'],
    params: [USER],
    flags: ['password-stdin'],
    summary: "set a user's password (asked twice on a terminal, or --password-stdin)",
    section: 'admin',
    run: (ctx, [user]) => resetPassword(ctx, user as string),
  },
  {
    path: ['admin', 'users', 'role'],
    params: [USER, { name: 'ROLE', completes: 'role' }],
    flags: [],
    usage: 'admin users role USER admin|user',
    summary: "set a user's role",
    section: 'admin',
    run: (ctx, [user, role]) => setRole(ctx, user as string, role as string),
  },
  {
    path: ['admin', 'users', 'quotas'],
    params: [USER],
    flags: ['tunnels', 'routes'],
    summary: "show a user's quotas and usage; set them with --tunnels, --routes (N, or default)",
    section: 'admin',
    run: (ctx, [user]) => userQuotas(ctx, user as string),
  },
  {
    path: ['admin', 'users', 'zones'],
    params: [USER],
    flags: ['zones'],
    summary: 'show the zones pinned to a user (none: every zone); set them with --zones ZONE,… (all: unpin)',
    section: 'admin',
    run: (ctx, [user]) => pinZones(ctx, 'user', user as string),
  },
  {
    path: ['admin', 'teams', 'list'],
    params: [],
    flags: [],
    names: true,
    summary: 'every team: members, usage',
    section: 'admin',
    run: (ctx) => listTeams(ctx),
  },
  {
    path: ['admin', 'teams', 'show'],
    params: [TEAM],
    flags: [],
    summary: 'one team in detail: members, quotas, usage',
    section: 'admin',
    run: (ctx, [team]) => showTeam(ctx, team as string),
  },
  {
    path: ['admin', 'teams', 'create'],
    params: [{ name: 'TEAM' }],
    flags: ['tunnels', 'routes'],
    summary: 'create a team (it owns tunnels; its members see and manage them)',
    section: 'admin',
    run: (ctx, [team]) => createTeam(ctx, team as string),
  },
  {
    path: ['admin', 'teams', 'remove'],
    params: [TEAM],
    flags: [],
    summary: 'remove a team (refused while it owns tunnels)',
    section: 'admin',
    run: (ctx, [team]) => removeTeam(ctx, team as string),
  },
  {
    path: ['admin', 'teams', 'add-member'],
    params: [TEAM, USER],
    flags: [],
    summary: 'add a user to a team',
    section: 'admin',
    run: (ctx, [team, user]) => addMember(ctx, team as string, user as string),
  },
  {
    path: ['admin', 'teams', 'remove-member'],
    params: [TEAM, USER],
    flags: [],
    summary: "remove a user from a team (the team's tunnels stay as they are)",
    section: 'admin',
    run: (ctx, [team, user]) => removeMember(ctx, team as string, user as string),
  },
  {
    path: ['admin', 'teams', 'quotas'],
    params: [TEAM],
    flags: ['tunnels', 'routes'],
    summary: "show a team's quotas and usage; set them with --tunnels, --routes (N, or default)",
    section: 'admin',
    run: (ctx, [team]) => teamQuotas(ctx, team as string),
  },
  {
    path: ['admin', 'teams', 'zones'],
    params: [TEAM],
    flags: ['zones'],
    summary:
      'show the zones pinned to a team (its members may use them too); set with --zones ZONE,… (all: unpin)',
    section: 'admin',
    run: (ctx, [team]) => pinZones(ctx, 'team', team as string),
  },
  {
    path: ['admin', 'tunnels'],
    params: [],
    flags: ['owner'],
    names: true,
    summary: "everyone's tunnels (--owner USER or team:NAME: only theirs)",
    section: 'admin',
    run: (ctx) => adminTunnels(ctx),
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

const key = (words: string[]) => words.join(' ');

/**
 * Word sequences that only group subcommands, outermost first: `tunnel`, `route`, `tokens`,
 * `admin`, `admin users`, `admin teams`.
 */
export const GROUP_PATHS: string[][] = [
  ...new Map(
    COMMANDS.flatMap((c) => c.path.slice(1).map((_, i) => c.path.slice(0, i + 1))).map((p) => [key(p), p]),
  ).values(),
];

/** The top-level words that only group subcommands. */
export const GROUPS = GROUP_PATHS.filter((p) => p.length === 1).map((p) => p[0] as string);

export function isGroup(words: string[]): boolean {
  return GROUP_PATHS.some((p) => key(p) === key(words));
}

/** The words that may follow a group, each with its command's summary or its own subgroup's. */
export function childWords(group: string[]): Array<{ word: string; summary: string }> {
  const words = new Map<string, string>();
  for (const c of subcommands(group)) {
    const word = c.path[group.length] as string;
    if (words.has(word)) continue;
    const deeper = [...group, word];
    words.set(
      word,
      isGroup(deeper)
        ? `${key(deeper)} commands: ${childWords(deeper)
            .map((w) => w.word)
            .join(', ')}`
        : c.summary,
    );
  }
  return [...words].map(([word, summary]) => ({ word, summary }));
}

export function usageLine(c: Command): string {
  if (c.usage) return `tunnelctl ${c.usage}`;
  const params = c.params.map((p) => (p.optional ? `[${p.name}]` : p.name));
  const flags = c.flags.map((name) => {
    const spec = ALL_FLAGS.find((f) => f.name === name);
    return spec?.value ? `[--${name} ${spec.value}]` : `[--${name}]`;
  });
  return ['tunnelctl', ...c.path, ...params, ...flags].join(' ');
}

/** Every command under a group (a word, or words for a nested group). */
export function subcommands(group: string | string[]): Command[] {
  const prefix = typeof group === 'string' ? [group] : group;
  return COMMANDS.filter((c) => c.path.length > prefix.length && prefix.every((w, i) => c.path[i] === w));
}

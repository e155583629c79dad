/**
 * tunnelctl's command-line parser: one table of flags, flags anywhere on the line (before or
 * after the verb), `--flag value`, `--flag=value`, `-o json`, `-ojson`, `--no-wait`, repeatable
 * flags (`--scope read --scope write`), and `--` to end flags. Whether a flag suits the command
 * is checked later, against the command table.
 */
import { UsageError } from './errors.js';

export interface FlagSpec {
  name: string;
  short?: string;
  /** The value's placeholder in help; absent for a boolean flag. */
  value?: string;
  /** `--no-<name>` sets it false. */
  negatable?: boolean;
  /** May be given more than once: every value is kept, in order. */
  repeatable?: boolean;
  /** The values it takes, for completion (e.g. `local`, `remote`). */
  choices?: string[];
  help: string;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'server', value: 'URL', help: 'control plane, host[:port] or URL (overrides CONTROL_PLANE)' },
  {
    name: 'token',
    value: 'TOKEN',
    help: 'API token (overrides TUNNELCTL_TOKEN, USERPASS and the saved login)',
  },
  {
    name: 'output',
    short: 'o',
    value: 'FORMAT',
    help: 'table (default), json or yaml; name on list commands',
  },
  {
    name: 'wait',
    negatable: true,
    help: 'wait for provisioning to finish (default; --no-wait returns at once)',
  },
  { name: 'timeout', value: 'SECONDS', help: 'how long --wait waits (default 60)' },
  { name: 'help', short: 'h', help: 'show help' },
  { name: 'version', help: "print tunnelctl's version" },
];

/** Flags only some commands take; the command table says which. */
export const COMMAND_FLAGS: FlagSpec[] = [
  { name: 'name', value: 'NAME', help: 'the name to give (tunnel name, route label, token name)' },
  {
    name: 'mode',
    value: 'local|remote',
    choices: ['local', 'remote'],
    help: 'local: cloudflared reads config.yaml; remote: config pushed by Cloudflare',
  },
  {
    name: 'team',
    value: 'TEAM',
    help: 'one of your teams: it owns the tunnel (create), or only its tunnels (list)',
  },
  { name: 'user', value: 'USER', help: 'user name to log in as (password prompted, or --password-stdin)' },
  { name: 'password-stdin', help: 'read the password from stdin (passwd: two lines, current then new)' },
  { name: 'sso', help: 'sign in with single sign-on: open the URL shown, approve, and the token is saved' },
  { name: 'expires-in-days', value: 'DAYS', help: 'token lifetime (default: no expiry)' },
  {
    name: 'scope',
    value: 'read|write|admin',
    repeatable: true,
    choices: ['read', 'write', 'admin'],
    help: 'what the token may do; repeat or comma-separate (default: what your credential may)',
  },
  { name: 'limit', value: 'N', help: 'how many to show (1-500, default 50)' },
  { name: 'cursor', value: 'CURSOR', help: 'continue where an earlier page ended' },
  { name: 'role', value: 'admin|user', choices: ['admin', 'user'], help: "the user's role (default user)" },
  { name: 'tunnels', value: 'N|default', help: "tunnel quota (default: the server's default)" },
  { name: 'routes', value: 'N|default', help: "route quota (default: the server's default)" },
  { name: 'owner', value: 'OWNER', help: 'only the tunnels of this user (or team:NAME)' },
  { name: 'local', help: 'forget the saved token without revoking it on the server' },
  { name: 'print', help: 'print the cloudflared command instead of running it' },
  { name: 'show-token', help: 'with --print: show the tunnel token instead of <redacted>' },
  {
    name: 'ttl',
    value: 'DURATION',
    help: 'delete it by itself after this long: 90s, 30m, 2h, 1d (1m to 30d; share: default 8h)',
  },
  { name: 'tunnel', value: 'NAME', help: 'share: the tunnel to add the route to (default share-<user>)' },
  { name: 'zone', value: 'ZONE', help: 'the zone the hostname lives under (tunnelctl zones lists yours)' },
  {
    name: 'zones',
    value: 'ZONE,…|all',
    help: 'pin to these zones (comma-separated); all: unpin (every zone)',
  },
  {
    name: 'allow-ips',
    value: 'CIDR,…',
    help: 'only these source addresses/ranges reach the route (comma-separated)',
  },
  {
    name: 'access-emails',
    value: 'EMAIL,…',
    help: 'HTTP routes: people let in by Cloudflare Access (comma-separated)',
  },
  {
    name: 'access-domains',
    value: 'DOMAIN,…',
    help: 'HTTP routes: email domains let in by Cloudflare Access (comma-separated)',
  },
  {
    name: 'access-groups',
    value: 'GROUP,…',
    help: "HTTP routes: identity-provider groups let in by Cloudflare Access (the operator's Access IdP)",
  },
  {
    name: 'session',
    value: 'DURATION',
    help: 'HTTP routes: how long an Access session lasts (30m, 24h; default 24h)',
  },
  {
    name: 'hostname',
    value: 'LABEL',
    help: 'route add: the hostname to take, one label of the zone (myapp → myapp.<zone>); default <name>-<tunnel>',
  },
  {
    name: 'origin',
    value: 'KEY=VALUE,…',
    help: "cloudflared's originRequest options: noTLSVerify=true,connectTimeout=10s,httpHostHeader=app.internal (update: none clears)",
  },
  {
    name: 'service',
    value: 'URL',
    help: 'route update: the new service (same kind: HTTP stays HTTP, TCP stays TCP)',
  },
  { name: 'no-access', help: 'route update: remove Access for people (emails, domains, groups)' },
];

export const ALL_FLAGS: FlagSpec[] = [...GLOBAL_FLAGS, ...COMMAND_FLAGS];

export type FlagValue = string | boolean | string[];

export interface ParsedArgs {
  positionals: string[];
  /** By long name: the string value, true/false for boolean flags, every value for repeatable ones. */
  flags: Map<string, FlagValue>;
}

export function parseArgv(argv: string[], specs: FlagSpec[] = ALL_FLAGS): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const positionals: string[] = [];
  const flags = new Map<string, FlagValue>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    let shown = arg;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      shown = `--${name}`;
      if (eq !== -1) inline = arg.slice(eq + 1);
      spec = byLong.get(name);
      if (!spec && name.startsWith('no-')) {
        const negated = byLong.get(name.slice(3));
        if (negated?.negatable) {
          if (inline !== undefined) throw new UsageError(`Flag ${shown} takes no value`);
          flags.set(negated.name, false);
          continue;
        }
      }
    } else {
      shown = arg.slice(0, 2);
      spec = byShort.get(arg.slice(1, 2));
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    }
    if (!spec) throw new UsageError(`Unknown flag: ${shown}`);
    if (spec.value === undefined) {
      if (inline !== undefined) throw new UsageError(`Flag ${shown} takes no value`);
      flags.set(spec.name, true);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`Flag ${shown} needs a value (${spec.value})`);
      inline = next;
      i++;
    }
    if (spec.repeatable) {
      const had = flags.get(spec.name);
      flags.set(spec.name, [...(Array.isArray(had) ? had : []), inline]);
    } else flags.set(spec.name, inline);
  }
  return { positionals, flags };
}

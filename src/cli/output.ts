/**
 * How tunnelctl shows things: aligned tables for people (on a terminal and, like kubectl and
 * gh, when piped too), `-o json|yaml` for scripts, `-o name` for list commands. Results go to
 * stdout; progress, hints and errors to stderr.
 */
import { stringify as toYaml } from 'yaml';
import type {
  AdminUser,
  AuditEvent,
  Connectors,
  Me,
  Quotas,
  Route,
  Team,
  Token,
  Tunnel,
  Usage,
  User,
  Zone,
} from '../client/index.js';
import { formatDuration } from './duration.js';

export type Format = 'table' | 'json' | 'yaml' | 'name';
export const FORMATS: Format[] = ['table', 'json', 'yaml', 'name'];

/** Columns separated by three spaces, padded to the widest cell; no trailing blanks. */
export function renderTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

export function renderData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

/** `3d`, `5h`, `12m`, `40s`: how long ago an RFC 3339 time was. */
export function age(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * `in 7h59m`, `in 45s`, `expired`: how long until an RFC 3339 time, in its two largest units.
 * For the EXPIRES column and `Expires:` lines.
 */
export function expiresIn(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.floor((t - now) / 1000);
  if (s <= 0) return 'expired';
  // Past an hour, to the nearest minute: a TTL of 8h just given reads `in 8h`, not `in 7h59m`.
  const shown = s >= 3600 ? Math.round(s / 60) * 60 : s;
  return `in ${(formatDuration(shown).match(/\d+[a-z]/g) ?? []).slice(0, 2).join('')}`;
}

/** The earlier of two expiry times (a route goes with its tunnel), null when neither is set. */
const earliest = (...times: Array<string | null | undefined>): string | null =>
  times
    .filter((t): t is string => typeof t === 'string' && t !== '')
    .reduce<string | null>((a, b) => (a === null || Date.parse(b) < Date.parse(a) ? b : a), null);

/** An EXPIRES column only when some row expires: lists without expiry read as they always did. */
function withExpiry<T>(
  headers: string[],
  rows: Array<[T, string[], string | null]>,
): { headers: string[]; rows: Array<[T, string[]]> } {
  if (!rows.some(([, , at]) => at !== null)) return { headers, rows: rows.map(([t, r]) => [t, r]) };
  return {
    headers: [...headers, 'EXPIRES'],
    rows: rows.map(([t, r, at]) => [t, [...r, at === null ? '-' : expiresIn(at)]]),
  };
}

/**
 * The CONNECTED cell: `healthy (4)`, `degraded (1)`, `down`, `never` (inactive: cloudflared never
 * ran), `-` (not checked yet, or a server that does not say).
 */
export function connectedCell(c: Connectors | null | undefined): string {
  if (!c) return '-';
  if (c.status === 'inactive') return 'never';
  if (c.status === 'down') return 'down';
  return `${c.status} (${c.connections.length})`;
}

/**
 * A CONNECTED column only when some tunnel's connectors are known: output without connector
 * health (a server that has not checked yet, or an older one) reads as it always did.
 */
function withConnected<T extends { connectors?: Connectors | null }>(
  headers: string[],
  rows: Array<[T, string[], string | null]>,
): { headers: string[]; rows: Array<[T, string[], string | null]> } {
  if (!rows.some(([t]) => t.connectors)) return { headers, rows };
  return {
    headers: [...headers, 'CONNECTED'],
    rows: rows.map(([t, r, at]) => [t, [...r, connectedCell(t.connectors)], at]),
  };
}

const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '-' : v);

/**
 * An OWNER column only when a team owns one of the tunnels: a person's own list reads as it
 * always did (the proof of concept's scripts included).
 */
function withOwner(
  tunnels: Tunnel[],
  headers: string[],
  rows: Array<[Tunnel, string[]]>,
  always = false,
): string {
  if (!always && !tunnels.some((t) => t.owner.startsWith('team:')))
    return renderTable(
      headers,
      rows.map(([, r]) => r),
    );
  return renderTable(
    [headers[0] as string, 'OWNER', ...headers.slice(1)],
    rows.map(([t, [first, ...rest]]) => [first as string, t.owner, ...rest]),
  );
}

/** The proof of concept's `list`: one row per route, tunnels without routes on a row of their own. */
export function tunnelsWithRoutesTable(tunnels: Tunnel[]): string {
  const rows: Array<[Tunnel, string[], string | null]> = [];
  for (const t of tunnels) {
    if (t.routes.length === 0)
      rows.push([t, [t.name, t.configMode, t.phase, '-', '-'], earliest(t.expiresAt)]);
    for (const r of t.routes) {
      // A tunnel that is not ready says so on every row; otherwise each route shows its own phase.
      rows.push([
        t,
        [t.name, t.configMode, t.phase === 'ready' ? r.phase : t.phase, r.hostname, r.service],
        earliest(r.expiresAt, t.expiresAt),
      ]);
    }
  }
  const connected = withConnected(['TUNNEL', 'MODE', 'PHASE', 'HOSTNAME', 'SERVICE'], rows);
  const table = withExpiry(connected.headers, connected.rows);
  return withOwner(tunnels, table.headers, table.rows);
}

/** `owners`: always show the OWNER column (an admin's list of everyone's). */
export function tunnelsTable(tunnels: Tunnel[], owners = false): string {
  const connected = withConnected(
    ['NAME', 'MODE', 'PHASE', 'ROUTES', 'AGE'],
    tunnels.map((t) => [
      t,
      [t.name, t.configMode, t.phase, String(t.routes.length), age(t.createdAt)],
      earliest(t.expiresAt),
    ]),
  );
  const table = withExpiry(connected.headers, connected.rows);
  return withOwner(tunnels, table.headers, table.rows, owners);
}

/** A ZONE column only when the routes live in more than one zone (else the hostnames say it). */
export function routesTable(routes: Route[]): string {
  const zoned = new Set(routes.map((r) => r.zone)).size > 1;
  const table = withExpiry(
    ['NAME', 'HOSTNAME', ...(zoned ? ['ZONE'] : []), 'SERVICE', 'PHASE', 'PROTECTED', 'IN-CLUSTER'],
    routes.map((r) => [
      r,
      [
        r.name,
        r.hostname,
        ...(zoned ? [r.zone ?? '-'] : []),
        r.service,
        r.phase,
        r.protectedBy ?? '-',
        r.inCluster ? `${r.inCluster.address} (${r.inCluster.ready ? 'ready' : 'not ready'})` : '-',
      ],
      earliest(r.expiresAt),
    ]),
  );
  return renderTable(
    table.headers,
    table.rows.map(([, r]) => r),
  );
}

/** One tunnel in detail, its routes below. */
export function tunnelDetails(t: Tunnel): string {
  const lines = [
    ['Name:', t.name],
    ['ID:', dash(t.id)],
    ['Owner:', t.owner],
    ['Mode:', t.configMode],
    ['Phase:', t.phase],
    ...(t.lastError ? [['Last error:', t.lastError]] : []),
    ['Created:', `${t.createdAt} (${age(t.createdAt)} ago)`],
    ...(t.expiresAt ? [['Expires:', `${t.expiresAt} (${expiresIn(t.expiresAt)})`]] : []),
    ...(t.connectors
      ? [['Connected:', `${connectedCell(t.connectors)} (details: tunnelctl status ${t.name})`]]
      : []),
  ];
  const out = lines
    .map(([k, v]) => `${(k as string).padEnd(12)}${v}`)
    .join('\n')
    .concat('\n');
  if (t.routes.length === 0) return `${out}Routes:     none\n`;
  const routes = routesTable(t.routes)
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
  return `${out}Routes:\n${routes}`;
}

const quota = (n: number | null | undefined) => (n === null || n === undefined ? 'unlimited' : String(n));
const lines = (pairs: Array<[string, string] | null>) =>
  pairs
    .filter((p): p is [string, string] => p !== null)
    .map(([k, v]) => `${k.padEnd(12)}${v}`)
    .join('\n')
    .concat('\n');
/** `2026-12-02T03:01:44Z` (no milliseconds), or `never`. */
const when = (iso: string | null | undefined) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : 'never');
const teamNames = (u: User) => (u.teams && u.teams.length ? u.teams.map((t) => t.name).join(', ') : 'none');

export function meDetails(me: Me, server: string, via: string): string {
  return lines([
    ['User:', `${me.name}${me.role === 'admin' ? ' (admin)' : ''}`],
    me.email ? ['Email:', me.email] : null,
    ['Server:', server],
    ['Auth:', via],
    // What the credential may do, when it is less than everything (a token's scopes).
    me.scopes && me.authenticatedWith === 'token' ? ['Scopes:', me.scopes.join(', ')] : null,
    me.expiresAt ? ['Expires:', when(me.expiresAt)] : null,
    me.teams ? ['Teams:', teamNames(me)] : null,
    ['Tunnels:', `${me.usage.tunnels} of ${quota(me.quotas.tunnels)}`],
    ['Routes:', `${me.usage.routes} of ${quota(me.quotas.routes)}`],
  ]);
}

export function tokensTable(tokens: Token[], now = Date.now()): string {
  return renderTable(
    ['ID', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'EXPIRES'],
    tokens.map((t) => [
      t.id,
      t.name,
      t.scopes?.join(',') ?? '-',
      `${age(t.createdAt, now)} ago`,
      t.lastUsedAt ? `${age(t.lastUsedAt, now)} ago` : 'never',
      when(t.expiresAt),
    ]),
  );
}

export function eventsTable(events: AuditEvent[]): string {
  return renderTable(
    ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME'],
    events.map((e) => {
      const code = typeof e.details.code === 'string' ? e.details.code : null;
      return [
        when(e.at),
        e.actor,
        e.action,
        e.target,
        e.outcome === 'error' && code ? `error (${code})` : e.outcome,
      ];
    }),
  );
}

const usageOf = (usage: Usage, quotas: Quotas, key: 'tunnels' | 'routes') =>
  `${usage[key]}/${quota(quotas[key])}`;

export function usersTable(users: AdminUser[]): string {
  return renderTable(
    ['NAME', 'ROLE', 'STATE', 'SIGN-IN', 'TUNNELS', 'ROUTES', 'AGE'],
    users.map((u) => [
      u.name,
      u.role,
      u.disabled ? 'disabled' : 'enabled',
      u.signIn?.join(',') || '-',
      usageOf(u.usage, u.quotas, 'tunnels'),
      usageOf(u.usage, u.quotas, 'routes'),
      age(u.createdAt),
    ]),
  );
}

export function userDetails(u: User): string {
  return lines([
    ['Name:', u.name],
    ['Role:', u.role],
    ['State:', u.disabled ? 'disabled (every credential refused; tunnels keep running)' : 'enabled'],
    u.email ? ['Email:', u.email] : null,
    ['Sign-in:', u.signIn?.length ? u.signIn.join(', ') : 'none (no password, no single sign-on yet)'],
    u.teams ? ['Teams:', teamNames(u)] : null,
    ['Tunnels:', `${u.usage.tunnels} of ${quota(u.quotas.tunnels)}`],
    ['Routes:', `${u.usage.routes} of ${quota(u.quotas.routes)}`],
    u.createdAt ? ['Created:', `${when(u.createdAt)} (${age(u.createdAt)} ago)`] : null,
  ]);
}

export function teamsTable(teams: Team[]): string {
  return renderTable(
    ['NAME', 'MEMBERS', 'TUNNELS', 'ROUTES', 'AGE'],
    teams.map((t) => [
      t.name,
      String(t.members?.length ?? 0),
      usageOf(t.usage, t.quotas, 'tunnels'),
      usageOf(t.usage, t.quotas, 'routes'),
      age(t.createdAt),
    ]),
  );
}

export function teamDetails(t: Team): string {
  const head = lines([
    ['Name:', t.name],
    ['Owner name:', `team:${t.name} (in the OWNER of its tunnels)`],
    ['Tunnels:', `${t.usage.tunnels} of ${quota(t.quotas.tunnels)}`],
    ['Routes:', `${t.usage.routes} of ${quota(t.quotas.routes)}`],
    ['Created:', `${when(t.createdAt)} (${age(t.createdAt)} ago)`],
  ]);
  const members = t.members ?? [];
  if (members.length === 0) return `${head}Members:    none\n`;
  const table = renderTable(
    ['NAME', 'SOURCE', 'SINCE'],
    members.map((m) => [m.name, m.source, when(m.since)]),
  )
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
  return `${head}Members:\n${table}`;
}

/** Quotas and usage of a user or team, one row per quota the server sent (`admin … quotas`). */
export function quotasTable(quotas: Quotas, usage: Usage): string {
  const limits = quotas as unknown as Record<string, number | null>;
  const used = usage as unknown as Record<string, number | undefined>;
  return renderTable(
    ['QUOTA', 'USED', 'LIMIT'],
    Object.keys(limits).map((k) => [k, String(used[k] ?? 0), quota(limits[k])]),
  );
}

/** `status TUNNEL`'s words for a connector status. */
const CONNECTOR_WORDS: Record<Connectors['status'], string> = {
  healthy: 'healthy',
  degraded: 'degraded (fewer connections than usual)',
  down: 'down (no connection now)',
  inactive: 'never connected (inactive)',
};

/** `2026-12-02T03:01:44Z (5m ago)`. */
const at = (iso: string, now: number) => `${when(iso)} (${age(iso, now)} ago)`;

/**
 * `status TUNNEL`: the tunnel's phase, its connectors' status and since when, each connection,
 * when last checked, and its routes' phases.
 */
export function tunnelStatus(t: Tunnel, now = Date.now()): string {
  const c = t.connectors ?? null;
  const head = lines([
    ['Tunnel:', t.name],
    ['Phase:', t.phase === 'error' && t.lastError ? `error: ${t.lastError}` : t.phase],
    [
      'Connectors:',
      c
        ? `${CONNECTOR_WORDS[c.status]}${c.since ? ` since ${at(c.since, now)}` : ''}`
        : 'not checked yet (the control plane asks Cloudflare about every minute)',
    ],
    c ? ['Checked:', at(c.checkedAt, now)] : null,
  ]);
  const indent = (table: string) =>
    table
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n');
  let out = head;
  if (c) {
    out +=
      c.connections.length === 0
        ? 'Connections: none\n'
        : `Connections:\n${indent(
            renderTable(
              ['COLO', 'CLIENT VERSION', 'ORIGIN IP', 'OPENED'],
              c.connections.map((k) => [k.colo, k.clientVersion, k.originIp, at(k.openedAt, now)]),
            ),
          )}`;
  }
  if (t.routes.length === 0) return `${out}Routes:     none\n`;
  return `${out}Routes:\n${indent(
    renderTable(
      ['NAME', 'HOSTNAME', 'PHASE'],
      t.routes.map((r) => [r.name, r.hostname, r.phase]),
    ),
  )}`;
}

/** `tunnelctl zones`: the zones you may use, your default marked. */
export function zonesTable(zones: Zone[]): string {
  return renderTable(
    ['NAME', 'DEFAULT', 'PLAN', 'ID'],
    zones.map((z) => [z.name, z.default ? 'yes' : '-', z.plan ?? '-', z.id]),
  );
}

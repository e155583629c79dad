/**
 * How tunnelctl shows things: aligned tables for people (on a terminal and, like kubectl and
 * gh, when piped too), `-o json|yaml` for scripts, `-o name` for list commands. Results go to
 * stdout; progress, hints and errors to stderr.
 */
import { stringify as toYaml } from 'yaml';
import type { Me, Route, Tunnel } from '../client/index.js';

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

const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '-' : v);

/** The proof of concept's `list`: one row per route, tunnels without routes on a row of their own. */
export function tunnelsWithRoutesTable(tunnels: Tunnel[]): string {
  const rows: string[][] = [];
  for (const t of tunnels) {
    if (t.routes.length === 0) rows.push([t.name, t.configMode, t.phase, '-', '-']);
    for (const r of t.routes) {
      // A tunnel that is not ready says so on every row; otherwise each route shows its own phase.
      rows.push([t.name, t.configMode, t.phase === 'ready' ? r.phase : t.phase, r.hostname, r.service]);
    }
  }
  return renderTable(['TUNNEL', 'MODE', 'PHASE', 'HOSTNAME', 'SERVICE'], rows);
}

export function tunnelsTable(tunnels: Tunnel[]): string {
  return renderTable(
    ['NAME', 'MODE', 'PHASE', 'ROUTES', 'AGE'],
    tunnels.map((t) => [t.name, t.configMode, t.phase, String(t.routes.length), age(t.createdAt)]),
  );
}

export function routesTable(routes: Route[]): string {
  return renderTable(
    ['NAME', 'HOSTNAME', 'SERVICE', 'PHASE', 'PROTECTED', 'IN-CLUSTER'],
    routes.map((r) => [
      r.name,
      r.hostname,
      r.service,
      r.phase,
      r.protectedBy ?? '-',
      r.inCluster ? `${r.inCluster.address} (${r.inCluster.ready ? 'ready' : 'not ready'})` : '-',
    ]),
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

export function meDetails(me: Me, server: string, via: string): string {
  const quota = (n: number | null) => (n === null ? 'unlimited' : String(n));
  return [
    `User:       ${me.name}${me.role === 'admin' ? ' (admin)' : ''}`,
    `Server:     ${server}`,
    `Auth:       ${via}`,
    `Tunnels:    ${me.usage.tunnels} of ${quota(me.quotas.tunnels)}`,
    `Routes:     ${me.usage.routes} of ${quota(me.quotas.routes)}`,
  ]
    .join('\n')
    .concat('\n');
}

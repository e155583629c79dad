/**
 * `admin users …`, `admin teams …` and `admin tunnels`: what admins do to accounts, teams and
 * quotas through `/api/v1/admin/…`. Changes print one line on stdout (`-o json|yaml`: the
 * object as the server answered); the server audits every one.
 */
import type { QuotasInput, Role, Tunnel } from '../client/index.js';
import type { Ctx } from './context.js';
import { CliError, UsageError } from './errors.js';
import { quotasTable, teamDetails, teamsTable, tunnelsTable, userDetails, usersTable } from './output.js';
import { isInteractive, promptNewPassword, readAllStdin } from './prompt.js';

const USERS = ['admin', 'users'];
const TEAMS = ['admin', 'teams'];

function done(ctx: Ctx, line: string, value: unknown): number {
  if (ctx.format === 'table') ctx.out(`${line}\n`);
  else ctx.data(value);
  return 0;
}

/** `--tunnels N|default`, `--routes N|default`: a quota, or null for the server's default. */
function quotaFlags(ctx: Ctx, command: string[]): QuotasInput | null {
  const out: QuotasInput = {};
  for (const key of ['tunnels', 'routes'] as const) {
    const v = ctx.flag(key);
    if (v === undefined) continue;
    if (v === 'default') out[key] = null;
    else if (/^\d+$/.test(v)) out[key] = Number(v);
    else
      throw new UsageError(`--${key} must be a whole number or "default", not ${JSON.stringify(v)}`, command);
  }
  return Object.keys(out).length ? out : null;
}

/** A new password for someone else: all of stdin with --password-stdin, else typed twice. */
async function newPassword(ctx: Ctx, user: string, command: string[]): Promise<string> {
  const { stdin, stderr } = ctx.io;
  if (ctx.has('password-stdin')) {
    const password = await readAllStdin(stdin);
    if (!password) throw new CliError('The password on stdin is empty; nothing was changed');
    return password;
  }
  if (isInteractive(stdin)) return promptNewPassword(stdin, stderr, `New password for ${user}`);
  throw new UsageError('No terminal to ask the password on: pass --password-stdin and pipe it in', command);
}

// --- users ----------------------------------------------------------------------------------

export async function listUsers(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const users = await client.admin.users();
  if (ctx.format === 'name') ctx.out(users.map((u) => `${u.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(users);
  else ctx.out(usersTable(users));
  return 0;
}

export async function showUser(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.user = name;
  const user = await client.admin.user(name);
  if (ctx.format === 'table') ctx.out(userDetails(user));
  else ctx.data(user);
  return 0;
}

function role(value: string | undefined, command: string[]): Role | undefined {
  if (value === undefined || value === 'admin' || value === 'user') return value;
  throw new UsageError(`The role is admin or user, not ${JSON.stringify(value)}`, command);
}

export async function createUser(ctx: Ctx, name: string): Promise<number> {
  const command = [...USERS, 'create'];
  const wanted = role(ctx.flag('role'), command);
  const password = ctx.has('password-stdin') ? await newPassword(ctx, name, command) : undefined;
  const { client } = await ctx.session();
  const user = await client.admin.createUser({
    name,
    ...(password !== undefined && { password }),
    ...(wanted && { role: wanted }),
  });
  if (password === undefined)
    ctx.note(
      `${name} has no password: they sign in with single sign-on only (tunnelctl login --sso); give them one with: tunnelctl admin users passwd ${name}`,
    );
  return done(ctx, `user ${user.name} created (${user.role})`, user);
}

export async function setUserEnabled(ctx: Ctx, name: string, enabled: boolean): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.user = name;
  const user = await client.admin.updateUser(name, { disabled: !enabled });
  if (!enabled) ctx.note('Every credential of theirs is refused now; their tunnels keep running.');
  return done(ctx, `user ${user.name} ${enabled ? 'enabled' : 'disabled'}`, user);
}

export async function removeUser(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.user = name;
  await client.admin.removeUser(name);
  return done(ctx, `user ${name} removed`, { user: name, status: 'removed' });
}

export async function resetPassword(ctx: Ctx, name: string): Promise<number> {
  const password = await newPassword(ctx, name, [...USERS, 'passwd']);
  const { client } = await ctx.session();
  ctx.subject.user = name;
  const res = await client.admin.setPassword(name, password);
  if (res.tokensRevoked > 0)
    ctx.note(
      `The server revoked ${name}'s ${res.tokensRevoked} API token${res.tokensRevoked > 1 ? 's' : ''} with it.`,
    );
  return done(ctx, `password of ${name} set; their browser sessions are signed out`, { user: name, ...res });
}

export async function setRole(ctx: Ctx, name: string, value: string): Promise<number> {
  const wanted = role(value, [...USERS, 'role']) as Role;
  const { client } = await ctx.session();
  ctx.subject.user = name;
  const user = await client.admin.updateUser(name, { role: wanted });
  return done(ctx, `user ${user.name} is ${user.role === 'admin' ? 'an admin' : 'a user'} now`, user);
}

/** Shows the quotas; with --tunnels/--routes, sets them first. */
export async function userQuotas(ctx: Ctx, name: string): Promise<number> {
  const patch = quotaFlags(ctx, [...USERS, 'quotas']);
  const { client } = await ctx.session();
  ctx.subject.user = name;
  const user = patch ? await client.admin.setQuotas(name, patch) : await client.admin.user(name);
  if (ctx.format === 'table') ctx.out(quotasTable(user.quotas, user.usage));
  else ctx.data(user);
  return 0;
}

// --- teams ----------------------------------------------------------------------------------

export async function listTeams(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const teams = await client.admin.teams();
  if (ctx.format === 'name') ctx.out(teams.map((t) => `${t.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(teams);
  else if (teams.length === 0) ctx.note('No teams yet; create one with: tunnelctl admin teams create TEAM');
  else ctx.out(teamsTable(teams));
  return 0;
}

export async function showTeam(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.team = name;
  const team = await client.admin.team(name);
  if (ctx.format === 'table') ctx.out(teamDetails(team));
  else ctx.data(team);
  return 0;
}

export async function createTeam(ctx: Ctx, name: string): Promise<number> {
  const quotas = quotaFlags(ctx, [...TEAMS, 'create']);
  const { client } = await ctx.session();
  const team = await client.admin.createTeam({ name, ...(quotas && { quotas }) });
  ctx.note(`Add members with: tunnelctl admin teams add-member ${team.name} USER`);
  return done(ctx, `team ${team.name} created`, team);
}

export async function removeTeam(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.team = name;
  await client.admin.removeTeam(name);
  return done(ctx, `team ${name} removed`, { team: name, status: 'removed' });
}

export async function addMember(ctx: Ctx, team: string, user: string): Promise<number> {
  const { client } = await ctx.session();
  Object.assign(ctx.subject, { team, user });
  const t = await client.admin.addMember(team, user);
  return done(ctx, `${user} is a member of team ${t.name}`, t);
}

export async function removeMember(ctx: Ctx, team: string, user: string): Promise<number> {
  const { client } = await ctx.session();
  Object.assign(ctx.subject, { team, user });
  const t = await client.admin.removeMember(team, user);
  ctx.note(`The team's tunnels stay as they are.`);
  return done(ctx, `${user} is no longer a member of team ${t.name}`, t);
}

export async function teamQuotas(ctx: Ctx, name: string): Promise<number> {
  const patch = quotaFlags(ctx, [...TEAMS, 'quotas']);
  const { client } = await ctx.session();
  ctx.subject.team = name;
  const team = patch ? await client.admin.setTeamQuotas(name, patch) : await client.admin.team(name);
  if (ctx.format === 'table') ctx.out(quotasTable(team.quotas, team.usage));
  else ctx.data(team);
  return 0;
}

// --- tunnels --------------------------------------------------------------------------------

/** Everyone's tunnels (or one owner's), every page. */
export async function adminTunnels(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const owner = ctx.flag('owner');
  const tunnels: Tunnel[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const page = await client.admin.tunnels({ limit: 500, cursor, ...(owner !== undefined && { owner }) });
    tunnels.push(...page.items);
    cursor = page.nextCursor && !seen.has(page.nextCursor) ? page.nextCursor : null;
    if (cursor) seen.add(cursor);
  } while (cursor);
  if (ctx.format === 'name') ctx.out(tunnels.map((t) => `${t.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(tunnels);
  else if (tunnels.length === 0) ctx.note(owner ? `${owner} owns no tunnels.` : 'No tunnels at all.');
  else ctx.out(tunnelsTable(tunnels, true));
  return 0;
}

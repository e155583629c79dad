/**
 * The fake's admin paths (`/api/v1/admin/…`): users, teams, everyone's tunnels and quotas, after
 * src/server's admin routes and service — the same checks in the same order, the same errors.
 */
import { json, page, type Ctx, type Deps, type RouteDef } from './fake-http.js';
import { TEAM_PREFIX, type FakeTeam, type FakeUser } from './fake-state.js';
import { HttpError, SCHEMAS } from './fake-validation.js';

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const MIN_PASSWORD_LENGTH = 8;

type QuotaPatch = { tunnels?: number | null; routes?: number | null };

function assertAccountName(name: string, what = 'user') {
  if (!NAME.test(name))
    throw new HttpError(
      400,
      'user.invalid_name',
      `A ${what} name is 1–64 letters, digits, ".", "_", "@" or "-"; got ${JSON.stringify(name.slice(0, 70))}.`,
    );
}

export function assertNewPassword(password: string) {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new HttpError(
      400,
      'user.weak_password',
      `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
      { minLength: MIN_PASSWORD_LENGTH },
    );
}

function person({ state }: Deps, name: string): FakeUser {
  const u = NAME.test(name) ? state.users.get(name) : undefined;
  if (!u) throw new HttpError(404, 'user.not_found', `No user named ${name.slice(0, 100)}.`);
  return u;
}

function team({ state }: Deps, name: string): FakeTeam {
  const t = NAME.test(name) ? state.teams.get(name) : undefined;
  if (!t) throw new HttpError(404, 'team.not_found', `No team named ${name.slice(0, 100)}.`);
  return t;
}

/** Refuses to leave nobody who can administer. */
function keepAnAdmin({ state }: Deps, u: FakeUser) {
  const admins = [...state.users.values()].filter((x) => x.role === 'admin' && !x.disabled).length;
  if (u.role === 'admin' && !u.disabled && admins <= 1)
    throw new HttpError(
      409,
      'user.last_admin',
      `${u.name} is the last enabled admin; make someone else an admin first.`,
    );
}

function audit(deps: Deps, ctx: Ctx, owner: string, action: string, target: string, details = {}) {
  deps.state.event({ owner, actor: ctx.user.name, action, target, details });
}

function applyQuotas(target: { quotaTunnels: number | null; quotaRoutes: number | null }, q: QuotaPatch) {
  if (q.tunnels !== undefined) target.quotaTunnels = q.tunnels;
  if (q.routes !== undefined) target.quotaRoutes = q.routes;
}

/** What `fake.setPassword` and the self-service path share: a new password, audited. */
export function setPassword(deps: Deps, u: FakeUser, password: string, actor: string) {
  assertNewPassword(password);
  u.password = password;
  deps.state.event({
    owner: u.name,
    actor,
    action: 'user.password',
    target: u.name,
    details: { tokensRevoked: 0, by: actor === u.name ? 'self' : 'admin' },
  });
  // The real server's default (`identity.passwordChangeRevokesTokens: false`): tokens stay.
  return { tokensRevoked: 0 };
}

const { userParams, teamParams, memberParams } = SCHEMAS;

export const adminRoutes: RouteDef[] = [
  {
    method: 'GET',
    url: '/api/v1/admin/users',
    admin: true,
    handle: (_ctx, { state }) =>
      json(200, {
        items: [...state.users.values()]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((u) => state.userJson(u)),
      }),
  },
  {
    method: 'POST',
    url: '/api/v1/admin/users',
    admin: true,
    body: SCHEMAS.userBody,
    handle(ctx, deps) {
      const input = ctx.body as { name: string; password?: string; role?: 'user' | 'admin' };
      assertAccountName(input.name);
      if (input.password !== undefined) assertNewPassword(input.password);
      if (deps.state.users.has(input.name))
        throw new HttpError(409, 'user.name_taken', `A user named ${input.name} already exists.`);
      deps.state.addUser(input.name, input.password ?? null, input.role ?? 'user');
      const u = deps.state.users.get(input.name)!;
      audit(deps, ctx, u.name, 'user.create', u.name, {
        role: u.role,
        password: input.password !== undefined,
      });
      return json(201, deps.state.userJson(u));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/admin/users/:user',
    admin: true,
    params: userParams,
    handle: (ctx, deps) => json(200, deps.state.userJson(person(deps, ctx.params.user!))),
  },
  {
    method: 'PATCH',
    url: '/api/v1/admin/users/:user',
    admin: true,
    params: userParams,
    body: SCHEMAS.userPatchBody,
    handle(ctx, deps) {
      const u = person(deps, ctx.params.user!);
      const patch = ctx.body as { role?: 'user' | 'admin'; disabled?: boolean };
      const demoted = patch.role === 'user' && u.role === 'admin';
      const disabling = patch.disabled === true && !u.disabled;
      if (demoted || disabling) keepAnAdmin(deps, u);
      if (patch.role) u.role = patch.role;
      if (patch.disabled !== undefined) u.disabled = patch.disabled;
      audit(deps, ctx, u.name, 'user.update', u.name, patch);
      return json(200, deps.state.userJson(u));
    },
  },
  {
    method: 'PUT',
    url: '/api/v1/admin/users/:user/password',
    admin: true,
    params: userParams,
    body: SCHEMAS.passwordBody,
    handle(ctx, deps) {
      const u = person(deps, ctx.params.user!);
      return json(200, setPassword(deps, u, (ctx.body as { password: string }).password, ctx.user.name));
    },
  },
  {
    method: 'DELETE',
    url: '/api/v1/admin/users/:user',
    admin: true,
    params: userParams,
    handle(ctx, deps) {
      const { state } = deps;
      const u = person(deps, ctx.params.user!);
      if (u.name === ctx.user.name)
        throw new HttpError(409, 'user.last_admin', 'You cannot remove yourself; ask another admin.');
      keepAnAdmin(deps, u);
      const owned = [...state.tunnels.values()].filter((t) => t.owner === u.name).length;
      if (owned > 0)
        throw new HttpError(
          409,
          'user.has_tunnels',
          'The user still owns personal tunnels; delete them first (team tunnels stay with their team).',
          { tunnels: owned },
        );
      state.users.delete(u.name);
      for (const [id, t] of state.tokens) if (t.owner === u.name) state.tokens.delete(id);
      for (const t of state.teams.values()) t.members.delete(u.name);
      audit(deps, ctx, '', 'user.remove', u.name);
      return { status: 204 };
    },
  },
  {
    method: 'PUT',
    url: '/api/v1/admin/users/:user/quotas',
    admin: true,
    params: userParams,
    body: SCHEMAS.quotasBody,
    handle(ctx, deps) {
      const u = person(deps, ctx.params.user!);
      const body = (ctx.body ?? {}) as QuotaPatch;
      applyQuotas(u, body);
      audit(deps, ctx, u.name, 'user.quotas', u.name, body);
      return json(200, deps.state.userJson(u));
    },
  },

  // --- teams ------------------------------------------------------------------------------
  {
    method: 'GET',
    url: '/api/v1/admin/teams',
    admin: true,
    handle: (_ctx, { state }) =>
      json(200, {
        items: [...state.teams.values()]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map(state.teamJson),
      }),
  },
  {
    method: 'POST',
    url: '/api/v1/admin/teams',
    admin: true,
    body: SCHEMAS.teamBody,
    handle(ctx, deps) {
      const input = ctx.body as { name: string; quotas?: QuotaPatch };
      assertAccountName(input.name, 'team');
      if (deps.state.teams.has(input.name))
        throw new HttpError(409, 'team.name_taken', `A team named ${input.name} already exists.`);
      const t = deps.state.addTeam(input.name);
      if (input.quotas) applyQuotas(t, input.quotas);
      audit(deps, ctx, TEAM_PREFIX + t.name, 'team.create', t.name, input.quotas ?? {});
      return json(201, deps.state.teamJson(t));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/admin/teams/:team',
    admin: true,
    params: teamParams,
    handle: (ctx, deps) => json(200, deps.state.teamJson(team(deps, ctx.params.team!))),
  },
  {
    method: 'DELETE',
    url: '/api/v1/admin/teams/:team',
    admin: true,
    params: teamParams,
    handle(ctx, deps) {
      const t = team(deps, ctx.params.team!);
      const owned = [...deps.state.tunnels.values()].filter((x) => x.owner === TEAM_PREFIX + t.name).length;
      if (owned > 0)
        throw new HttpError(
          409,
          'team.has_tunnels',
          `Team ${t.name} still owns tunnels; delete them first.`,
          {
            tunnels: owned,
          },
        );
      deps.state.teams.delete(t.name);
      audit(deps, ctx, '', 'team.remove', t.name);
      return { status: 204 };
    },
  },
  {
    method: 'PUT',
    url: '/api/v1/admin/teams/:team/quotas',
    admin: true,
    params: teamParams,
    body: SCHEMAS.quotasBody,
    handle(ctx, deps) {
      const t = team(deps, ctx.params.team!);
      const body = (ctx.body ?? {}) as QuotaPatch;
      applyQuotas(t, body);
      audit(deps, ctx, TEAM_PREFIX + t.name, 'team.quotas', t.name, body);
      return json(200, deps.state.teamJson(t));
    },
  },
  {
    method: 'PUT',
    url: '/api/v1/admin/teams/:team/members/:user',
    admin: true,
    params: memberParams,
    handle(ctx, deps) {
      const t = team(deps, ctx.params.team!);
      const u = person(deps, ctx.params.user!);
      const had = t.members.get(u.name);
      t.members.set(u.name, { source: 'manual', since: had?.since ?? new Date().toISOString() });
      audit(deps, ctx, TEAM_PREFIX + t.name, 'team.member_add', `${t.name}/${u.name}`);
      return json(200, deps.state.teamJson(t));
    },
  },
  {
    method: 'DELETE',
    url: '/api/v1/admin/teams/:team/members/:user',
    admin: true,
    params: memberParams,
    handle(ctx, deps) {
      const t = team(deps, ctx.params.team!);
      const u = person(deps, ctx.params.user!);
      if (!t.members.delete(u.name))
        throw new HttpError(404, 'user.not_found', `${u.name} is not a member of team ${t.name}.`);
      audit(deps, ctx, TEAM_PREFIX + t.name, 'team.member_remove', `${t.name}/${u.name}`);
      return json(200, deps.state.teamJson(t));
    },
  },

  // --- tunnels ----------------------------------------------------------------------------
  {
    method: 'GET',
    url: '/api/v1/admin/tunnels',
    admin: true,
    query: SCHEMAS.adminTunnelsQuery,
    handle(ctx, { state }) {
      const owner = ctx.query.owner as string | undefined;
      const known =
        owner === undefined ||
        state.users.has(owner) ||
        (owner.startsWith(TEAM_PREFIX) && state.teams.has(owner.slice(TEAM_PREFIX.length)));
      if (!known) throw new HttpError(404, 'user.not_found', `No user named ${owner.slice(0, 100)}.`);
      const all = [...state.tunnels.values()].filter((t) => owner === undefined || t.owner === owner);
      const p = page(all, ctx.query.limit, ctx.query.cursor);
      return json(200, { items: p.items.map(state.tunnelJson), nextCursor: p.nextCursor });
    },
  },
];

/**
 * The accounts side of the API: the caller's own account (password, teams), API tokens and
 * audit trail, and for admins every user, every team, every tunnel and their quotas.
 */
import { seg, type CallOptions, type ListOptions, type Transport } from './transport.js';
import type {
  AdminUser,
  AuditEvent,
  ChangePasswordInput,
  CreateTeamInput,
  CreateTokenInput,
  CreateUserInput,
  CreatedToken,
  Page,
  PasswordChanged,
  QuotasInput,
  Scope,
  Team,
  TeamRef,
  Token,
  Tunnel,
  UserPatch,
} from './types.js';

/** Every scope a token can have, narrowest first. */
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

export interface AccountApi {
  /** Your own password; the current one must be given (`auth.wrong_password`). */
  changePassword(input: ChangePasswordInput, options?: CallOptions): Promise<PasswordChanged>;
  /** The teams you are in: their tunnels are yours to see and manage. */
  teams(options?: CallOptions): Promise<TeamRef[]>;
}

export interface TokensApi {
  create(input: CreateTokenInput, options?: CallOptions): Promise<CreatedToken>;
  list(options?: CallOptions): Promise<Token[]>;
  delete(id: string, options?: CallOptions): Promise<void>;
}

export interface EventsApi {
  list(options?: ListOptions): Promise<Page<AuditEvent>>;
}

export interface AdminApi {
  users(options?: CallOptions): Promise<AdminUser[]>;
  user(name: string, options?: CallOptions): Promise<AdminUser>;
  createUser(input: CreateUserInput, options?: CallOptions): Promise<AdminUser>;
  /** Role, or disabled (refused everywhere; their tunnels keep running) and enabled again. */
  updateUser(name: string, patch: UserPatch, options?: CallOptions): Promise<AdminUser>;
  /** Refused while they own personal tunnels (`user.has_tunnels`) or are the last admin. */
  removeUser(name: string, options?: CallOptions): Promise<void>;
  setPassword(name: string, password: string, options?: CallOptions): Promise<PasswordChanged>;
  /** A user's quota overrides; null restores the default. */
  setQuotas(user: string, quotas: QuotasInput, options?: CallOptions): Promise<AdminUser>;
  teams(options?: CallOptions): Promise<Team[]>;
  team(name: string, options?: CallOptions): Promise<Team>;
  createTeam(input: CreateTeamInput, options?: CallOptions): Promise<Team>;
  /** Refused while the team owns tunnels (`team.has_tunnels`). */
  removeTeam(name: string, options?: CallOptions): Promise<void>;
  setTeamQuotas(team: string, quotas: QuotasInput, options?: CallOptions): Promise<Team>;
  addMember(team: string, user: string, options?: CallOptions): Promise<Team>;
  /** The team's tunnels stay as they are. */
  removeMember(team: string, user: string, options?: CallOptions): Promise<Team>;
  /** Everyone's tunnels, or one owner's (a user name, or `team:<name>`). */
  tunnels(options?: ListOptions & { owner?: string }): Promise<Page<Tunnel>>;
}

export function createAccountApi({ json }: Transport): AccountApi {
  return {
    changePassword: (input, o = {}) =>
      json<PasswordChanged>({ method: 'PUT', path: 'api/v1/me/password', body: input, signal: o.signal }),
    teams: async (o = {}) =>
      (await json<{ items: TeamRef[] }>({ method: 'GET', path: 'api/v1/teams', signal: o.signal })).items,
  };
}

export function createTokensApi({ json, send }: Transport): TokensApi {
  return {
    create: (input, o = {}) =>
      json<CreatedToken>({ method: 'POST', path: 'api/v1/tokens', body: input, signal: o.signal }),
    list: async (o = {}) =>
      (await json<Page<Token>>({ method: 'GET', path: 'api/v1/tokens', signal: o.signal })).items,
    delete: async (id, o = {}) => {
      await send({ method: 'DELETE', path: `api/v1/tokens/${seg(id)}`, signal: o.signal });
    },
  };
}

export function createEventsApi({ json }: Transport): EventsApi {
  return {
    list: (o = {}) =>
      json<Page<AuditEvent>>({
        method: 'GET',
        path: 'api/v1/events',
        query: { limit: o.limit, cursor: o.cursor },
        signal: o.signal,
      }),
  };
}

export function createAdminApi({ json, send }: Transport): AdminApi {
  const user = (name: string) => `api/v1/admin/users/${seg(name)}`;
  const team = (name: string) => `api/v1/admin/teams/${seg(name)}`;
  return {
    users: async (o = {}) =>
      (await json<Page<AdminUser>>({ method: 'GET', path: 'api/v1/admin/users', signal: o.signal })).items,
    user: (name, o = {}) => json<AdminUser>({ method: 'GET', path: user(name), signal: o.signal }),
    createUser: (input, o = {}) =>
      json<AdminUser>({ method: 'POST', path: 'api/v1/admin/users', body: input, signal: o.signal }),
    updateUser: (name, patch, o = {}) =>
      json<AdminUser>({ method: 'PATCH', path: user(name), body: patch, signal: o.signal }),
    removeUser: async (name, o = {}) => {
      await send({ method: 'DELETE', path: user(name), signal: o.signal });
    },
    setPassword: (name, password, o = {}) =>
      json<PasswordChanged>({
        method: 'PUT',
        path: `${user(name)}/password`,
        body: { password },
        signal: o.signal,
      }),
    setQuotas: (name, quotas, o = {}) =>
      json<AdminUser>({ method: 'PUT', path: `${user(name)}/quotas`, body: quotas, signal: o.signal }),
    teams: async (o = {}) =>
      (await json<Page<Team>>({ method: 'GET', path: 'api/v1/admin/teams', signal: o.signal })).items,
    team: (name, o = {}) => json<Team>({ method: 'GET', path: team(name), signal: o.signal }),
    createTeam: (input, o = {}) =>
      json<Team>({ method: 'POST', path: 'api/v1/admin/teams', body: input, signal: o.signal }),
    removeTeam: async (name, o = {}) => {
      await send({ method: 'DELETE', path: team(name), signal: o.signal });
    },
    setTeamQuotas: (name, quotas, o = {}) =>
      json<Team>({ method: 'PUT', path: `${team(name)}/quotas`, body: quotas, signal: o.signal }),
    addMember: (name, member, o = {}) =>
      json<Team>({ method: 'PUT', path: `${team(name)}/members/${seg(member)}`, signal: o.signal }),
    removeMember: (name, member, o = {}) =>
      json<Team>({ method: 'DELETE', path: `${team(name)}/members/${seg(member)}`, signal: o.signal }),
    tunnels: (o = {}) =>
      json<Page<Tunnel>>({
        method: 'GET',
        path: 'api/v1/admin/tunnels',
        query: { limit: o.limit, cursor: o.cursor, owner: o.owner },
        signal: o.signal,
      }),
  };
}

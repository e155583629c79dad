/**
 * What admins do to accounts and teams: create, disable, enable and remove users, reset
 * passwords, set roles and quotas; create and remove teams, manage their members and quotas.
 * Every change is audited. Someone must always be able to administer: the last enabled admin
 * cannot be disabled, demoted or removed (409 `user.last_admin`).
 */
import { AppError } from '../domain/errors.js';
import { hashPassword } from '../domain/passwords.js';
import {
  NO_PASSWORD,
  teamName,
  type EventsRepository,
  type SessionsRepository,
  type TeamsRepository,
  type TokensRepository,
  type UserRow,
  type UsersRepository,
} from '../store/index.js';
import { assertNewPassword, type AccountService } from './account-service.js';
import type { Actor } from './actor.js';

export interface AdminServiceDeps {
  users: Pick<UsersRepository, 'byId' | 'byName' | 'create' | 'update' | 'remove' | 'countAdmins' | 'list'>;
  teams: TeamsRepository;
  tokens: Pick<TokensRepository, 'removeAllForUser'>;
  sessions: Pick<SessionsRepository, 'removeAllForUser'>;
  events: Pick<EventsRepository, 'append'>;
  accounts: Pick<AccountService, 'describe' | 'setPassword' | 'quotasOf'>;
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export function assertAccountName(name: string, what = 'user') {
  if (!NAME.test(name))
    throw new AppError(
      'user.invalid_name',
      `A ${what} name is 1–64 letters, digits, ".", "_", "@" or "-"; got ${JSON.stringify(name.slice(0, 70))}.`,
    );
}

export interface UserPatch {
  role?: 'user' | 'admin';
  disabled?: boolean;
}

export interface QuotaPatch {
  tunnels?: number | null;
  routes?: number | null;
}

export function createAdminService(deps: AdminServiceDeps) {
  const { users, teams, events, accounts } = deps;

  async function person(name: string): Promise<UserRow> {
    const u = NAME.test(name) ? await users.byName(name) : undefined;
    if (!u || u.kind !== 'person')
      throw new AppError('user.not_found', `No user named ${name.slice(0, 100)}.`);
    return u;
  }

  async function team(name: string): Promise<UserRow> {
    const t = NAME.test(name) ? await teams.byName(name) : undefined;
    if (!t) throw new AppError('team.not_found', `No team named ${name.slice(0, 100)}.`);
    return t;
  }

  /** Refuses to leave nobody who can administer. */
  async function keepAnAdmin(u: UserRow) {
    if (u.role === 'admin' && !u.disabled && (await users.countAdmins()) <= 1)
      throw new AppError(
        'user.last_admin',
        `${u.name} is the last enabled admin; make someone else an admin first.`,
      );
  }

  const audit = (actor: Actor, ownerId: string | null, action: string, target: string, details = {}) =>
    events.append({ ownerId, actor: actor.user.name, action, target, outcome: 'ok', details });

  const quotaPatch = (q: QuotaPatch) => ({
    ...(q.tunnels !== undefined ? { quota_tunnels: q.tunnels } : {}),
    ...(q.routes !== undefined ? { quota_routes: q.routes } : {}),
  });

  async function describeTeam(t: UserRow) {
    const d = await accounts.describe(t);
    return { ...d, members: await teams.members(t.id) };
  }

  return {
    person,
    team,
    listUsers: async () => Promise.all((await users.list()).map(accounts.describe)),
    getUser: async (name: string) => accounts.describe(await person(name)),

    /** A new person; without a password they can sign in only with single sign-on. */
    async createUser(actor: Actor, input: { name: string; password?: string; role?: 'user' | 'admin' }) {
      assertAccountName(input.name);
      if (input.password !== undefined) assertNewPassword(input.password);
      const u = await users.create({
        name: input.name,
        passwordHash: input.password !== undefined ? await hashPassword(input.password) : NO_PASSWORD,
        role: input.role ?? 'user',
      });
      await audit(actor, u.id, 'user.create', u.name, {
        role: u.role,
        password: input.password !== undefined,
      });
      return accounts.describe(u);
    },

    /** Role and enabled state. A disabled user is refused everywhere; their tunnels keep running. */
    async updateUser(actor: Actor, name: string, patch: UserPatch) {
      const u = await person(name);
      const demoted = patch.role === 'user' && u.role === 'admin';
      const disabling = patch.disabled === true && !u.disabled;
      if (demoted || disabling) await keepAnAdmin(u);
      await users.update(u.id, {
        ...(patch.role ? { role: patch.role } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled ? 1 : 0 } : {}),
      });
      // A disabled user's browser sessions end now (their tokens are refused while disabled).
      if (disabling) await deps.sessions.removeAllForUser(u.id);
      await audit(actor, u.id, 'user.update', u.name, patch);
      return accounts.describe((await users.byId(u.id))!);
    },

    async resetPassword(actor: Actor, name: string, password: string) {
      const u = await person(name);
      const tokensRevoked = await accounts.setPassword(u, password, actor.user.name);
      return { tokensRevoked };
    },

    /** Removes a person: their tokens and sessions go; team tunnels stay with the team. */
    async removeUser(actor: Actor, name: string) {
      const u = await person(name);
      if (u.id === actor.user.id)
        throw new AppError('user.last_admin', 'You cannot remove yourself; ask another admin.');
      await keepAnAdmin(u);
      await users.remove(u.id);
      await audit(actor, null, 'user.remove', u.name);
    },

    async setUserQuotas(actor: Actor, name: string, q: QuotaPatch) {
      const u = await person(name);
      await users.update(u.id, quotaPatch(q));
      await audit(actor, u.id, 'user.quotas', u.name, q);
      return accounts.describe((await users.byId(u.id))!);
    },

    // --- teams ----------------------------------------------------------------------------
    listTeams: async () => Promise.all((await teams.list()).map(describeTeam)),
    getTeam: async (name: string) => describeTeam(await team(name)),

    async createTeam(actor: Actor, input: { name: string; quotas?: QuotaPatch }) {
      assertAccountName(input.name, 'team');
      let t: UserRow;
      try {
        t = await teams.create(input.name);
      } catch (err) {
        if (err instanceof AppError && err.code === 'user.name_taken')
          throw new AppError('team.name_taken', `A team named ${input.name} already exists.`);
        throw err;
      }
      if (input.quotas) await users.update(t.id, quotaPatch(input.quotas));
      await audit(actor, t.id, 'team.create', input.name, input.quotas ?? {});
      return describeTeam((await users.byId(t.id))!);
    },

    async removeTeam(actor: Actor, name: string) {
      const t = await team(name);
      try {
        await users.remove(t.id);
      } catch (err) {
        if (err instanceof AppError && err.code === 'user.has_tunnels')
          throw new AppError(
            'team.has_tunnels',
            `Team ${name} still owns tunnels; delete them first.`,
            err.details,
          );
        throw err;
      }
      await audit(actor, null, 'team.remove', name);
    },

    async setTeamQuotas(actor: Actor, name: string, q: QuotaPatch) {
      const t = await team(name);
      await users.update(t.id, quotaPatch(q));
      await audit(actor, t.id, 'team.quotas', name, q);
      return describeTeam((await users.byId(t.id))!);
    },

    /** Adds a member (an SSO membership becomes a manual one: the claim no longer removes it). */
    async addMember(actor: Actor, teamNameIn: string, userName: string) {
      const t = await team(teamNameIn);
      const u = await person(userName);
      await teams.addMember(t.id, u.id, 'manual');
      await audit(actor, t.id, 'team.member_add', `${teamName(t)}/${u.name}`);
      return describeTeam(t);
    },

    /** Removes a member: the team's tunnels and their Cloudflare objects stay as they are. */
    async removeMember(actor: Actor, teamNameIn: string, userName: string) {
      const t = await team(teamNameIn);
      const u = await person(userName);
      if (!(await teams.removeMember(t.id, u.id)))
        throw new AppError('user.not_found', `${u.name} is not a member of team ${teamName(t)}.`);
      await audit(actor, t.id, 'team.member_remove', `${teamName(t)}/${u.name}`);
      return describeTeam(t);
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;

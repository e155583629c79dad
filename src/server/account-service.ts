/**
 * Accounts as users and admins see them: who you are (quotas, usage), API tokens, the audit
 * trail, and user administration. Writes go through the store with their audit event; routes
 * stay thin.
 */
import { LRUCache } from 'lru-cache';
import { AppError } from '../domain/errors.js';
import { hashApiToken, newApiToken } from '../domain/passwords.js';
import type {
  EventsRepository,
  Quotas,
  TokenRow,
  TokensRepository,
  UserRow,
  UsersRepository,
} from '../store/index.js';
import type { Actor } from './actor.js';
import { quotasOf } from './quotas.js';

export interface AccountServiceDeps {
  users: Pick<UsersRepository, 'byId' | 'byName' | 'list' | 'update' | 'usage'>;
  tokens: Pick<TokensRepository, 'create' | 'listForUser' | 'remove'>;
  events: Pick<EventsRepository, 'append' | 'list'>;
  defaultQuotas: Quotas;
}

export function createAccountService(deps: AccountServiceDeps) {
  const { users, tokens, events } = deps;
  // User names never change, so an owner's name can be remembered (bounded: admins list everyone's).
  const ownerNames = new LRUCache<string, string>({ max: 10_000 });

  const describe = async (u: UserRow) => ({
    user: u,
    quotas: quotasOf(u, deps.defaultQuotas),
    usage: await users.usage(u.id),
  });

  return {
    quotasOf: (u: UserRow) => quotasOf(u, deps.defaultQuotas),

    /** The caller, with quotas and usage. */
    me: (actor: Actor) => describe(actor.user),

    /** The name of a tunnel's owner (remembered). */
    async ownerName(id: string): Promise<string> {
      let n = ownerNames.get(id);
      if (!n) {
        n = (await users.byId(id))?.name ?? 'unknown';
        ownerNames.set(id, n);
      }
      return n;
    },

    /** Admins: every user with quotas and usage. */
    listUsers: async () => Promise.all((await users.list()).map(describe)),

    /** Admins: a user's id by name. */
    async userId(name: string): Promise<string> {
      const u = await users.byName(name);
      if (!u) throw new AppError('user.not_found', `No user named ${name.slice(0, 100)}.`);
      return u.id;
    },

    /** A new API token; the secret exists only in this answer (the store keeps its hash). */
    async createToken(
      actor: Actor,
      input: { name: string; expiresInDays?: number },
    ): Promise<{ row: TokenRow; secret: string }> {
      const secret = newApiToken();
      const expiresAt = input.expiresInDays
        ? new Date(Date.now() + input.expiresInDays * 86_400_000).toISOString()
        : null;
      const row = await tokens.create({
        userId: actor.user.id,
        name: input.name,
        tokenHash: hashApiToken(secret),
        expiresAt,
      });
      await events.append({
        ownerId: row.user_id,
        actor: actor.user.name,
        action: 'token.create',
        target: row.name,
        outcome: 'ok',
        details: { id: row.id },
      });
      return { row, secret };
    },

    listTokens: (actor: Actor) => tokens.listForUser(actor.user.id),

    async revokeToken(actor: Actor, id: string) {
      if (!(await tokens.remove(actor.user.id, id)))
        throw new AppError('token.not_found', 'You have no API token with that id.');
      await events.append({
        ownerId: actor.user.id,
        actor: actor.user.name,
        action: 'token.revoke',
        target: id,
        outcome: 'ok',
      });
    },

    /** The caller's audit trail (an admin's: everyone's), newest first. */
    events: (actor: Actor, limit: number, cursor?: string) =>
      events.list(actor.user.role === 'admin' ? null : actor.user.id, limit, cursor),

    /** Admins: per-user quota overrides (null = the server's default). */
    async setQuotas(
      actor: Actor,
      userName: string,
      quotas: { tunnels?: number | null; routes?: number | null },
    ) {
      const u = await users.byName(userName);
      if (!u) throw new AppError('user.not_found', `No user named ${userName.slice(0, 100)}.`);
      const patch: { quota_tunnels?: number | null; quota_routes?: number | null } = {};
      if (quotas.tunnels !== undefined) patch.quota_tunnels = quotas.tunnels;
      if (quotas.routes !== undefined) patch.quota_routes = quotas.routes;
      await users.update(u.id, patch);
      await events.append({
        ownerId: u.id,
        actor: actor.user.name,
        action: 'user.quotas',
        target: u.name,
        outcome: 'ok',
        details: quotas,
      });
      return describe((await users.byId(u.id))!);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;

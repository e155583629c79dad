/**
 * Accounts as users see them: who you are (quotas, usage, teams), API tokens with scopes, your
 * password, and the audit trail. Writes go through the store with their audit event; routes stay
 * thin. What admins do to accounts and teams is admin-service.ts's.
 */
import { LRUCache } from 'lru-cache';
import { AppError } from '../domain/errors.js';
import { hashApiToken, hashPassword, newApiToken, verifyPassword } from '../domain/passwords.js';
import { formatScopes, grantToken, rightsOf } from '../domain/scopes.js';
import type {
  EventsRepository,
  Quotas,
  SessionsRepository,
  TokenRow,
  TokensRepository,
  UserRow,
  UsersRepository,
} from '../store/index.js';
import { ownersOf, type Actor } from './actor.js';
import { quotasOf } from './quotas.js';

export interface AccountServiceDeps {
  users: Pick<UsersRepository, 'byId' | 'byName' | 'list' | 'update' | 'usage'>;
  tokens: Pick<TokensRepository, 'create' | 'listForUser' | 'remove' | 'removeAllForUser'>;
  sessions?: Pick<SessionsRepository, 'removeAllForUser'>;
  events: Pick<EventsRepository, 'append' | 'list'>;
  defaultQuotas: Quotas;
  /** `identity.passwordChangeRevokesTokens`: a new password revokes the user's API tokens. */
  passwordChangeRevokesTokens?: boolean;
  /** Told of every password changed here (the authenticator forgets the user's failed pairs). */
  onPasswordChange?: (userName: string) => void;
}

export const MIN_PASSWORD_LENGTH = 8;

export function assertNewPassword(password: string) {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new AppError('user.weak_password', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`, {
      minLength: MIN_PASSWORD_LENGTH,
    });
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

  /**
   * Sets a new password hash; signs the user's browser sessions out, and revokes their tokens
   * when the operator chose so. Answers how many tokens were revoked.
   */
  async function setPassword(user: UserRow, password: string, actorName: string) {
    assertNewPassword(password);
    await users.update(user.id, { password_hash: await hashPassword(password) });
    deps.onPasswordChange?.(user.name);
    const revoked = deps.passwordChangeRevokesTokens ? await tokens.removeAllForUser(user.id) : 0;
    await deps.sessions?.removeAllForUser(user.id);
    await events.append({
      ownerId: user.id,
      actor: actorName,
      action: 'user.password',
      target: user.name,
      outcome: 'ok',
      details: { tokensRevoked: revoked, by: actorName === user.name ? 'self' : 'admin' },
    });
    return revoked;
  }

  return {
    quotasOf: (u: UserRow) => quotasOf(u, deps.defaultQuotas),
    describe,
    setPassword,

    /** The caller, with quotas and usage. */
    me: (actor: Actor) => describe(actor.user),

    /** The name of a tunnel's owner (remembered): a person's name, or `team:<name>`. */
    async ownerName(id: string): Promise<string> {
      let n = ownerNames.get(id);
      if (!n) {
        n = (await users.byId(id))?.name ?? 'unknown';
        ownerNames.set(id, n);
      }
      return n;
    },

    /** The quotas that bind a tunnel's owner (a person's own, or their team's). */
    async quotasOfOwner(ownerId: string, actor: Actor): Promise<Quotas> {
      if (ownerId === actor.user.id) return quotasOf(actor.user, deps.defaultQuotas);
      const owner = await users.byId(ownerId);
      return quotasOf(owner ?? actor.user, deps.defaultQuotas);
    },

    /** Admins: a user's (or `team:<name>`'s) id by name. */
    async userId(name: string): Promise<string> {
      const u = await users.byName(name);
      if (!u) throw new AppError('user.not_found', `No user named ${name.slice(0, 100)}.`);
      return u.id;
    },

    /**
     * A new API token; the secret exists only in this answer (the store keeps its hash). Its
     * scopes and expiry default to the credential's own and never exceed them.
     */
    async createToken(
      actor: Actor,
      input: { name: string; expiresInDays?: number; scopes?: string[] },
    ): Promise<{ row: TokenRow; secret: string }> {
      const grant = grantToken(
        { scopes: actor.scopes ?? rightsOf(actor.user.role), expiresAt: actor.expiresAt ?? null },
        {
          ...(input.scopes ? { scopes: input.scopes } : {}),
          expiresAt: input.expiresInDays
            ? new Date(Date.now() + input.expiresInDays * 86_400_000).toISOString()
            : null,
        },
      );
      const secret = newApiToken();
      const row = await tokens.create({
        userId: actor.user.id,
        name: input.name,
        tokenHash: hashApiToken(secret),
        expiresAt: grant.expiresAt,
        scopes: formatScopes(grant.scopes),
      });
      await events.append({
        ownerId: row.user_id,
        actor: actor.user.name,
        action: 'token.create',
        target: row.name,
        outcome: 'ok',
        details: { id: row.id, scopes: grant.scopes, expiresAt: grant.expiresAt },
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

    /** Your own password: the current one must match (a session or token alone cannot change it). */
    async changePassword(actor: Actor, input: { currentPassword: string; newPassword: string }) {
      const ok = await verifyPassword(input.currentPassword, actor.user.password_hash);
      if (!ok) throw new AppError('auth.wrong_password', 'The current password is wrong.');
      return { tokensRevoked: await setPassword(actor.user, input.newPassword, actor.user.name) };
    },

    /** The caller's audit trail and their teams' (an admin's: everyone's), newest first. */
    events: (actor: Actor, limit: number, cursor?: string) =>
      events.list(actor.user.role === 'admin' ? null : ownersOf(actor), limit, cursor),
  };
}

export type AccountService = ReturnType<typeof createAccountService>;

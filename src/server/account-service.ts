/**
 * API tokens and user administration: what users and admins change about accounts. Writes go
 * through the store with their audit event; routes stay thin.
 */
import { notFound } from '../domain/errors.js';
import { hashApiToken, newApiToken } from '../domain/passwords.js';
import type { Store, TokenRow, UserRow } from '../store/index.js';
import type { Actor } from './tunnel-service.js';

export function createAccountService(deps: { store: Store }) {
  const { store } = deps;
  return {
    /** A new API token; the secret exists only in this answer (the store keeps its hash). */
    async createToken(
      actor: Actor,
      input: { name: string; expiresInDays?: number },
    ): Promise<{ row: TokenRow; secret: string }> {
      const secret = newApiToken();
      const expiresAt = input.expiresInDays
        ? new Date(Date.now() + input.expiresInDays * 86_400_000).toISOString()
        : null;
      const row = await store.tokens.create({
        userId: actor.user.id,
        name: input.name,
        tokenHash: hashApiToken(secret),
        expiresAt,
      });
      await store.events.append({
        ownerId: row.user_id,
        actor: actor.user.name,
        action: 'token.create',
        target: row.name,
        outcome: 'ok',
        details: { id: row.id },
      });
      return { row, secret };
    },

    listTokens: (actor: Actor) => store.tokens.listForUser(actor.user.id),

    async revokeToken(actor: Actor, id: string) {
      if (!(await store.tokens.remove(actor.user.id, id)))
        throw notFound('token.not_found', 'You have no API token with that id.');
      await store.events.append({
        ownerId: actor.user.id,
        actor: actor.user.name,
        action: 'token.revoke',
        target: id,
        outcome: 'ok',
      });
    },

    /** Admins: per-user quota overrides (null = the server's default). */
    async setQuotas(
      actor: Actor,
      userName: string,
      quotas: { tunnels?: number | null; routes?: number | null },
    ): Promise<UserRow> {
      const u = await store.users.byName(userName);
      if (!u) throw notFound('user.not_found', `No user named ${userName}.`);
      const patch: { quota_tunnels?: number | null; quota_routes?: number | null } = {};
      if (quotas.tunnels !== undefined) patch.quota_tunnels = quotas.tunnels;
      if (quotas.routes !== undefined) patch.quota_routes = quotas.routes;
      await store.users.update(u.id, patch);
      await store.events.append({
        ownerId: u.id,
        actor: actor.user.name,
        action: 'user.quotas',
        target: u.name,
        outcome: 'ok',
        details: quotas,
      });
      return (await store.users.byId(u.id))!;
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;

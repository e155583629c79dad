/**
 * The accounts side of the API: the caller's API tokens and audit trail, and for admins every
 * user, every tunnel and the per-user quotas.
 */
import { seg, type CallOptions, type ListOptions, type Transport } from './transport.js';
import type {
  AdminUser,
  AuditEvent,
  CreateTokenInput,
  CreatedToken,
  Page,
  QuotasInput,
  Token,
  Tunnel,
} from './types.js';

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
  tunnels(options?: ListOptions & { owner?: string }): Promise<Page<Tunnel>>;
  setQuotas(user: string, quotas: QuotasInput, options?: CallOptions): Promise<AdminUser>;
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

export function createAdminApi({ json }: Transport): AdminApi {
  return {
    users: async (o = {}) =>
      (await json<Page<AdminUser>>({ method: 'GET', path: 'api/v1/admin/users', signal: o.signal })).items,
    tunnels: (o = {}) =>
      json<Page<Tunnel>>({
        method: 'GET',
        path: 'api/v1/admin/tunnels',
        query: { limit: o.limit, cursor: o.cursor, owner: o.owner },
        signal: o.signal,
      }),
    setQuotas: (user, quotas, o = {}) =>
      json<AdminUser>({
        method: 'PUT',
        path: `api/v1/admin/users/${seg(user)}/quotas`,
        body: quotas,
        signal: o.signal,
      }),
  };
}

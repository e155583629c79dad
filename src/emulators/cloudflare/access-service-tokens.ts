// Access service tokens: rendering (the `client_secret` only in the create and rotate
// responses), expiry from a Go duration or `forever`, and the `/service_tokens` routes.
// Refresh sets `expires_at` to now + `duration`; rotate leaves it alone.
import { checkDuration, goDurationMs, invalid, ACCESS_PAGES, type AccessContext } from './access-shared.js';
import { apiErrors } from './errors.js';
import { hex64, hexId, timestamp, uuid } from './ids.js';
import { pageRequest, paginate } from './input.js';
import { route, type Route, type RouteContext } from './router.js';
import type { ServiceTokenRow, Store } from './state.js';

function renderServiceToken(token: ServiceTokenRow, withSecret = false): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    client_id: token.clientId,
    ...(withSecret ? { client_secret: token.clientSecret } : {}),
    duration: token.duration,
    expires_at: token.expiresAt,
    created_at: token.createdAt,
    updated_at: token.updatedAt,
  };
}

function expiry(duration: string, from = Date.now()): string | null {
  return duration === 'forever' ? null : timestamp(from + goDurationMs(duration));
}

export function serviceTokenRoutes(store: Store, access: AccessContext): Route[] {
  const { base, limits, account, body } = access;

  const findServiceToken = (ctx: RouteContext): ServiceTokenRow => {
    const token = store.state.serviceTokens.find(
      (t) => t.id === ctx.params.token && t.accountId === account(ctx),
    );
    if (!token) throw apiErrors.accessNotFound('service token');
    return token;
  };

  return [
    route('GET', `${base}/service_tokens`, 'access', (ctx) => {
      const name = ctx.query.get('name');
      const search = ctx.query.get('search')?.toLowerCase();
      const tokens = store.state.serviceTokens.filter(
        (t) =>
          t.accountId === account(ctx) &&
          (!name || t.name === name) &&
          (!search || t.name.toLowerCase().includes(search) || t.clientId.includes(search)),
      );
      const page = paginate(tokens, pageRequest(ctx.query, ACCESS_PAGES));
      return { ...page, result: page.result.map((t) => renderServiceToken(t)) };
    }),
    route('POST', `${base}/service_tokens`, 'access', (ctx) => {
      const input = body(ctx);
      if (typeof input.name !== 'string' || input.name.trim() === '') throw invalid('name is required');
      const duration = checkDuration(input.duration, 'duration', true) ?? '8760h';
      const count = store.state.serviceTokens.filter((t) => t.accountId === account(ctx)).length;
      if (count >= limits().serviceTokens) throw apiErrors.accessServiceTokenLimit(limits().serviceTokens);
      const now = timestamp();
      const token: ServiceTokenRow = {
        id: uuid(),
        accountId: account(ctx),
        name: input.name,
        clientId: `${hexId()}.access`,
        clientSecret: hex64(),
        duration,
        expiresAt: expiry(duration, Date.parse(now)),
        createdAt: now,
        updatedAt: now,
      };
      store.state.serviceTokens.push(token);
      return { status: 201, result: renderServiceToken(token, true) };
    }),
    route('GET', `${base}/service_tokens/:token`, 'access', (ctx) => ({
      result: renderServiceToken(findServiceToken(ctx)),
    })),
    route('PUT', `${base}/service_tokens/:token`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      const input = body(ctx);
      if (input.name !== undefined && (typeof input.name !== 'string' || input.name.trim() === '')) {
        throw invalid('name must be a non-empty string');
      }
      const duration = checkDuration(input.duration, 'duration', true);
      if (typeof input.name === 'string') token.name = input.name;
      if (duration) {
        token.duration = duration;
        token.expiresAt = expiry(duration, Date.parse(token.createdAt));
      }
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token) };
    }),
    route('DELETE', `${base}/service_tokens/:token`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      store.state.serviceTokens = store.state.serviceTokens.filter((t) => t !== token);
      return { result: renderServiceToken(token) };
    }),
    route('POST', `${base}/service_tokens/:token/refresh`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      token.expiresAt = expiry(token.duration);
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token) };
    }),
    route('POST', `${base}/service_tokens/:token/rotate`, 'access', (ctx) => {
      const token = findServiceToken(ctx);
      token.clientSecret = hex64();
      token.updatedAt = timestamp();
      return { result: renderServiceToken(token, true) };
    }),
  ];
}

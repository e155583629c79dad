/**
 * The fake's probes and documents, `/api/v1/me`, tokens and events, after src/server's account
 * routes and service (admin paths: fake-admin.ts; password, teams and sign-in: fake-identity.ts).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { grantToken } from '../../src/domain/scopes.js';
import { json, ownersOf, page, type Ctx, type RouteDef } from './fake-http.js';
import type { FakeState, FakeToken } from './fake-state.js';
import { HttpError, SCHEMAS } from './fake-validation.js';

const letters = (n: number) =>
  Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)]).join('');

/** The outline of the real OpenAPI document (the fake documents nothing). */
const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Tunnelplane (fake)',
    description: 'A fake for the client and CLI tests.',
    version: '0.0.0',
  },
  components: {},
  paths: {},
  security: [],
};

/**
 * A new API token for the caller, as the account service makes one: its scopes and expiry default
 * to the credential's own and never exceed them (the domain's rule).
 */
export function newToken(
  state: FakeState,
  ctx: Pick<Ctx, 'user' | 'scopes' | 'expiresAt'>,
  input: { name: string; expiresInDays?: number; scopes?: string[] },
): FakeToken {
  const grant = grantToken(
    { scopes: ctx.scopes, expiresAt: ctx.expiresAt },
    {
      ...(input.scopes ? { scopes: input.scopes } : {}),
      expiresAt: input.expiresInDays
        ? new Date(Date.now() + input.expiresInDays * 86_400_000).toISOString()
        : null,
    },
  );
  const tok: FakeToken = {
    id: `tok_${letters(16)}`,
    name: input.name,
    owner: ctx.user.name,
    scopes: grant.scopes,
    secret: `tp_${randomBytes(32).toString('base64url')}`,
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
    expiresAt: grant.expiresAt,
  };
  state.tokens.set(tok.id, tok);
  state.event({
    owner: tok.owner,
    actor: ctx.user.name,
    action: 'token.create',
    target: tok.name,
    details: { id: tok.id, scopes: grant.scopes, expiresAt: grant.expiresAt },
  });
  return tok;
}

export const accountRoutes: RouteDef[] = [
  {
    method: 'GET',
    url: '/',
    public: true,
    handle: () => ({ status: 200, body: 'Welcome', type: 'text/html; charset=utf-8' }),
  },
  { method: 'GET', url: '/healthz', public: true, handle: () => json(200, { status: 'ok' }) },
  { method: 'GET', url: '/readyz', public: true, handle: () => json(200, { status: 'ready' }) },
  {
    method: 'GET',
    url: '/metrics',
    public: true,
    handle: () => ({
      status: 200,
      body: '# HELP up Whether the fake is up.\n# TYPE up gauge\nup 1\n',
      type: 'text/plain; version=0.0.4; charset=utf-8',
    }),
  },
  { method: 'GET', url: '/openapi.json', public: true, handle: () => json(200, OPENAPI) },
  {
    method: 'GET',
    url: '/api/v1/me',
    handle: (ctx, { state }) =>
      json(200, {
        ...state.userJson(ctx.user, true),
        authenticatedWith: ctx.via,
        scopes: ctx.scopes,
        expiresAt: ctx.expiresAt,
      }),
  },
  {
    method: 'POST',
    url: '/api/v1/tokens',
    body: SCHEMAS.tokenBody,
    handle(ctx, { state }) {
      const body = ctx.body as { name: string; expiresInDays?: number; scopes?: string[] };
      const tok = newToken(state, ctx, body);
      return json(201, { token: state.tokenJson(tok), secret: tok.secret });
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tokens',
    handle: (ctx, { state }) =>
      json(200, {
        items: [...state.tokens.values()].filter((t) => t.owner === ctx.user.name).map(state.tokenJson),
      }),
  },
  {
    method: 'DELETE',
    url: '/api/v1/tokens/:id',
    params: SCHEMAS.tokenParams,
    handle(ctx, { state }) {
      const tok = state.tokens.get(ctx.params.id!);
      if (!tok || tok.owner !== ctx.user.name)
        throw new HttpError(404, 'token.not_found', 'You have no API token with that id.');
      state.tokens.delete(tok.id);
      state.event({
        owner: tok.owner,
        actor: ctx.user.name,
        action: 'token.revoke',
        target: tok.id,
        details: {},
      });
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    url: '/api/v1/events',
    query: SCHEMAS.pageQuery,
    handle(ctx, deps) {
      const { state } = deps;
      const owners = ownersOf(deps, ctx.user);
      const mine = state.events
        .filter((e) => ctx.user.role === 'admin' || owners.includes(e.owner))
        .reverse()
        .map(state.eventJson);
      return json(200, page(mine, ctx.query.limit, ctx.query.cursor));
    },
  },
];

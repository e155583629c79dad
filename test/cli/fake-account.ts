/**
 * The fake's probes and documents, `/api/v1/me`, tokens, events and admin paths, after
 * src/server's account routes and service.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { json, page, type RouteDef } from './fake-http.js';
import type { FakeToken } from './fake-state.js';
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
    handle: (ctx, { state }) => json(200, { ...state.userJson(ctx.user), authenticatedWith: ctx.via }),
  },
  {
    method: 'POST',
    url: '/api/v1/tokens',
    body: SCHEMAS.tokenBody,
    handle(ctx, { state }) {
      const { name, expiresInDays } = ctx.body as { name: string; expiresInDays?: number };
      const tok: FakeToken = {
        id: `tok_${letters(16)}`,
        name,
        owner: ctx.user.name,
        secret: `tp_${randomBytes(32).toString('base64url')}`,
        createdAt: new Date().toISOString(),
        lastUsedAt: null,
        expiresAt:
          expiresInDays === undefined
            ? null
            : new Date(Date.now() + expiresInDays * 86_400_000).toISOString(),
      };
      state.tokens.set(tok.id, tok);
      state.event({
        owner: tok.owner,
        actor: ctx.user.name,
        action: 'token.create',
        target: name,
        details: { id: tok.id },
      });
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
    handle(ctx, { state }) {
      const mine = state.events
        .filter((e) => ctx.user.role === 'admin' || e.owner === ctx.user.name)
        .reverse()
        .map(state.eventJson);
      return json(200, page(mine, ctx.query.limit, ctx.query.cursor));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/admin/users',
    admin: true,
    handle: (_ctx, { state }) =>
      json(200, {
        items: [...state.users.values()].sort((a, b) => a.name.localeCompare(b.name)).map(state.userJson),
      }),
  },
  {
    method: 'GET',
    url: '/api/v1/admin/tunnels',
    admin: true,
    query: SCHEMAS.adminTunnelsQuery,
    handle(ctx, { state }) {
      const owner = ctx.query.owner as string | undefined;
      if (owner !== undefined && !state.users.has(owner))
        throw new HttpError(404, 'user.not_found', `No user named ${owner.slice(0, 100)}.`);
      const all = [...state.tunnels.values()].filter((t) => owner === undefined || t.owner === owner);
      const p = page(all, ctx.query.limit, ctx.query.cursor);
      return json(200, { items: p.items.map(state.tunnelJson), nextCursor: p.nextCursor });
    },
  },
  {
    method: 'PUT',
    url: '/api/v1/admin/users/:user/quotas',
    admin: true,
    params: SCHEMAS.userParams,
    body: SCHEMAS.quotasBody,
    handle(ctx, { state }) {
      const name = ctx.params.user!;
      const u = state.users.get(name);
      if (!u) throw new HttpError(404, 'user.not_found', `No user named ${name.slice(0, 100)}.`);
      const body = (ctx.body ?? {}) as { tunnels?: number | null; routes?: number | null };
      if (body.tunnels !== undefined) u.quotaTunnels = body.tunnels;
      if (body.routes !== undefined) u.quotaRoutes = body.routes;
      state.event({
        owner: u.name,
        actor: ctx.user.name,
        action: 'user.quotas',
        target: u.name,
        details: body,
      });
      return json(200, state.userJson(u));
    },
  },
];

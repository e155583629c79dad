/**
 * Signing in from a browser and from the CLI:
 * - `GET /auth/methods` (what this server offers), `GET /auth/login` → the identity provider →
 *   `GET /auth/callback` (authorization code + PKCE; the state is bound to the browser by a
 *   short-lived cookie), `POST /auth/password` (a session from a password, throttled as Basic
 *   is), `GET /auth/session` (who, and the CSRF token changes must send), `POST /auth/logout`;
 * - `POST /api/v1/auth/device` and `POST /api/v1/auth/device/token` for `tunnelctl login --sso`
 *   (the device authorization grant; the answer is a Tunnelplane API token).
 * The session cookie is HttpOnly, SameSite=Lax (the provider's redirect back is a cross-site
 * navigation), Secure under TLS; the public paths are paced per source address.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { rightsOf } from '../domain/scopes.js';
import type { AccountService } from './account-service.js';
import type { Authenticator } from './auth.js';
import { createBuckets } from './buckets.js';
import { presentToken, presentUser, tokenSchema, userSchema } from './presenters.js';
import { SESSION_COOKIE } from './request-hooks.js';
import { locationHeader, noBody, refusals } from './schemas.js';
import type { SsoService } from './sso-service.js';

export const STATE_COOKIE = 'tp_sso_state';

export interface SsoRouteDeps {
  sso: SsoService;
  auth: Pick<Authenticator, 'authenticate'>;
  accounts: AccountService;
  /** Where browsers reach this server (the callback URL's base). */
  publicUrl: string;
  passwordSignIn: boolean;
  /** Cookies carry `Secure` (the server or its public address is HTTPS). */
  secureCookies: boolean;
  /** Sign-ins started per source address per minute (public paths). */
  startsPerMinute?: number;
}

export function registerSsoRoutes(app: FastifyInstance, deps: SsoRouteDeps) {
  const { sso, accounts } = deps;
  const open = { public: true };
  const starts = createBuckets({ perMinute: deps.startsPerMinute ?? 30, burst: deps.startsPerMinute ?? 30 });
  const polls = createBuckets({ perMinute: 60, burst: 20 });
  const cookieBase = { httpOnly: true, sameSite: 'lax' as const, secure: deps.secureCookies };
  const sweeper = setInterval(
    () =>
      void sso.sweep().catch((err: Error) => app.log.warn({ err: err.message }, 'could not sweep sessions')),
    10 * 60_000,
  );
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));

  const pace = (bucket: ReturnType<typeof createBuckets>, key: string) => {
    const t = bucket.take(key);
    if (!t.ok) {
      const seconds = Math.ceil(t.retryAfterMs / 1000);
      throw new AppError('rate.limited', `Too many sign-ins from here; retry in ${seconds} s.`, {
        retryAfterSeconds: seconds,
      });
    }
  };

  async function startSession(reply: FastifyReply, user: Parameters<SsoService['createSession']>[0]) {
    const s = await sso.createSession(user);
    reply.setCookie(SESSION_COOKIE, s.secret, {
      ...cookieBase,
      path: '/',
      expires: new Date(s.expiresAt),
    });
    return s;
  }

  app.get(
    '/auth/methods',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'getSignInMethods',
        summary: 'How one can sign in here: passwords, single sign-on (and the device flow for the CLI)',
        response: {
          200: {
            type: 'object',
            required: ['password', 'sso', 'device'],
            properties: {
              password: { type: 'boolean' },
              sso: { type: 'boolean' },
              device: { type: 'boolean' },
            },
          },
        },
      },
    },
    async () => ({ password: deps.passwordSignIn, sso: sso.configured(), device: sso.configured() }),
  );

  app.get<{ Querystring: { returnTo?: string } }>(
    '/auth/login',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'startBrowserSignIn',
        summary: 'Start single sign-on in a browser: redirects to the identity provider',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { returnTo: { type: 'string', maxLength: 500 } },
        },
        response: {
          302: {
            ...noBody('To the identity provider (the state cookie set)'),
            headers: { location: { type: 'string', description: "the provider's authorization URL" } },
          },
          ...refusals('request.invalid', 'sso.not_configured', 'rate.limited'),
        },
      },
    },
    async (req, reply) => {
      pace(starts, req.ip);
      const start = await sso.startBrowser(req.query.returnTo ?? '/');
      reply.setCookie(STATE_COOKIE, start.state, { ...cookieBase, path: '/auth', maxAge: 600 });
      return reply.redirect(start.url, 302);
    },
  );

  app.get(
    '/auth/callback',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'finishBrowserSignIn',
        summary: "The identity provider's redirect back: checks it, signs the browser in, redirects on",
        response: {
          303: {
            ...noBody('Signed in (the session cookie set): on to `returnTo`'),
            headers: { location: { type: 'string', description: '`returnTo` of the sign-in' } },
          },
          ...refusals('sso.failed', 'auth.disabled', 'sso.not_configured'),
        },
      },
    },
    async (req, reply) => {
      const url = new URL(req.url, deps.publicUrl);
      const state = req.cookies[STATE_COOKIE];
      reply.clearCookie(STATE_COOKIE, { ...cookieBase, path: '/auth' });
      const { user, returnTo } = await sso.finishBrowser(url, state);
      await startSession(reply, user);
      return reply.redirect(returnTo, 303);
    },
  );

  app.post<{ Body: { name: string; password: string } }>(
    '/auth/password',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'signInWithPassword',
        summary: 'Sign a browser in with a password (throttled as Basic is); sets the session cookie',
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 100 },
            password: { type: 'string', maxLength: 1024 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['user', 'csrfToken', 'expiresAt'],
            properties: { user: userSchema, csrfToken: { type: 'string' }, expiresAt: { type: 'string' } },
          },
          ...refusals(
            'request.invalid',
            'auth.invalid',
            'auth.password_disabled',
            'auth.disabled',
            'auth.throttled',
          ),
        },
      },
    },
    async (req, reply) => {
      const { name, password } = req.body;
      if (!name || name.includes(':'))
        throw new AppError('auth.invalid', 'Invalid credentials: check the user name and password.');
      const basic = Buffer.from(`${name}:${password}`, 'utf8').toString('base64');
      const who = await deps.auth.authenticate(`Basic ${basic}`, req.ip);
      const s = await startSession(reply, who.user);
      return {
        user: presentUser({ ...(await accounts.me({ user: who.user })), teams: who.teams }),
        csrfToken: s.csrf,
        expiresAt: s.expiresAt,
      };
    },
  );

  app.get(
    '/auth/session',
    {
      schema: {
        tags: ['sign-in'],
        operationId: 'getSession',
        summary:
          "The browser's session: who, until when, and the CSRF token changes must send (X-CSRF-Token)",
        response: {
          200: {
            type: 'object',
            required: ['user', 'csrfToken', 'expiresAt'],
            properties: {
              user: userSchema,
              csrfToken: { type: 'string', nullable: true, description: 'null: not a session' },
              expiresAt: { type: 'string', nullable: true },
            },
          },
        },
      },
    },
    async (req) => ({
      user: presentUser({ ...(await accounts.me({ user: req.auth!.user })), teams: req.auth!.teams }),
      csrfToken: req.auth!.csrf ?? null,
      expiresAt: req.auth!.expiresAt,
    }),
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['sign-in'],
        operationId: 'signOut',
        summary: 'End the browser session (clears the cookie)',
        response: { 204: noBody('Signed out') },
      },
    },
    async (req, reply) => {
      if (req.auth!.sessionHash) await sso.endSession(req.auth!.sessionHash);
      reply.clearCookie(SESSION_COOKIE, { ...cookieBase, path: '/' });
      return reply.status(204).send();
    },
  );

  // --- the device flow, for the CLI ---------------------------------------------------------
  const deviceStart = {
    type: 'object',
    required: [
      'deviceCode',
      'userCode',
      'verificationUri',
      'verificationUriComplete',
      'interval',
      'expiresIn',
    ],
    properties: {
      deviceCode: { type: 'string' },
      userCode: { type: 'string' },
      verificationUri: { type: 'string' },
      verificationUriComplete: { type: 'string', nullable: true },
      interval: { type: 'number' },
      expiresIn: { type: 'integer' },
    },
  } as const;

  app.post(
    '/api/v1/auth/device',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'startDeviceSignIn',
        summary:
          'Start a device sign-in (tunnelctl login --sso): show the user code and URL, then poll /api/v1/auth/device/token',
        response: { 200: deviceStart, ...refusals('sso.not_configured', 'rate.limited') },
      },
    },
    async (req) => {
      pace(starts, req.ip);
      const d = await sso.startDevice();
      return {
        deviceCode: d.handle,
        userCode: d.userCode,
        verificationUri: d.verificationUri,
        verificationUriComplete: d.verificationUriComplete,
        interval: d.interval,
        expiresIn: d.expiresIn,
      };
    },
  );

  app.post<{ Body: { deviceCode: string; tokenName?: string; expiresInDays?: number } }>(
    '/api/v1/auth/device/token',
    {
      config: open,
      schema: {
        tags: ['sign-in'],
        operationId: 'pollDeviceSignIn',
        summary:
          'Poll a device sign-in: 400 sso.pending until the user approves, then an API token (shown once) for them',
        body: {
          type: 'object',
          required: ['deviceCode'],
          additionalProperties: false,
          properties: {
            deviceCode: { type: 'string', minLength: 1, maxLength: 200 },
            tokenName: { type: 'string', minLength: 1, maxLength: 100 },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['user', 'token', 'secret'],
            description: 'Approved: an API token for them (Location: revoke it there)',
            headers: locationHeader,
            properties: { user: { type: 'string' }, token: tokenSchema, secret: { type: 'string' } },
          },
          ...refusals(
            'request.invalid',
            'sso.pending',
            'sso.expired',
            'auth.disabled',
            'sso.not_configured',
            'rate.limited',
          ),
        },
      },
    },
    async (
      req: FastifyRequest<{ Body: { deviceCode: string; tokenName?: string; expiresInDays?: number } }>,
      reply,
    ) => {
      pace(polls, req.body.deviceCode.slice(0, 64));
      const r = await sso.pollDevice(req.body.deviceCode);
      if (r.status === 'pending')
        throw new AppError(
          'sso.pending',
          'Waiting for you to approve the sign-in at the identity provider.',
          {
            interval: r.interval,
          },
        );
      const { row, secret } = await accounts.createToken(
        { user: r.user, scopes: rightsOf(r.user.role), expiresAt: null },
        {
          name: req.body.tokenName ?? 'tunnelctl-sso',
          ...(req.body.expiresInDays ? { expiresInDays: req.body.expiresInDays } : {}),
        },
      );
      return reply
        .status(201)
        .header('location', `/api/v1/tokens/${encodeURIComponent(row.id)}`)
        .send({ user: r.user.name, token: presentToken(row), secret });
    },
  );
}

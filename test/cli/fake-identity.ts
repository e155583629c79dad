/**
 * The fake's self-service identity paths, after src/server's account and sign-in routes:
 * `PUT /api/v1/me/password`, `GET /api/v1/teams`, `GET /auth/methods` and the device flow
 * (`POST /api/v1/auth/device`, `POST /api/v1/auth/device/token`). The identity provider is
 * simulated: a test approves, denies or slows down each sign-in through `FakeDevices`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { rightsOf } from '../../src/domain/scopes.js';
import { newToken } from './fake-account.js';
import { setPassword } from './fake-admin.js';
import { json, type RouteDef } from './fake-http.js';
import { HttpError, SCHEMAS } from './fake-validation.js';

/** The simulated provider's verification page. */
export const FAKE_VERIFICATION_URI = 'http://idp.fake.test/device';

export interface FakeDevice {
  /** What the client polls with (a secret, as the real server's handle). */
  deviceCode: string;
  userCode: string;
  interval: number;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied';
  /** Who approved it. */
  user: string | null;
  /** The next poll answers `slow_down` (the interval plus 5 s, as the real server relays it). */
  slowDown: boolean;
  /** The next poll is paced: 429 `rate.limited` with this `retryAfterSeconds`. */
  rateLimited: number | null;
  polls: number;
  /** Finished (a token given, or ended): a later poll is unknown. */
  taken: boolean;
}

export interface DeviceSettings {
  /** Seconds between polls the server asks for (fractions allowed, for fast tests). */
  interval: number;
  expiresIn: number;
  /** Whether the answer carries `verificationUriComplete`. */
  complete: boolean;
}

export interface FakeDevices {
  /** Turns single sign-on on (it is off by default, as on a server without `identity.oidc`). */
  configure(opts?: Partial<DeviceSettings>): void;
  /** null until configured. */
  readonly settings: DeviceSettings | null;
  /** Every sign-in started, oldest first. */
  readonly started: FakeDevice[];
  /** The user approves at the provider (the latest sign-in unless a user code is given). */
  approve(user: string, userCode?: string): void;
  deny(userCode?: string): void;
  slowDown(userCode?: string): void;
  /** The next poll is refused as too fast (the real server paces polls per device code). */
  rateLimit(retryAfterSeconds: number, userCode?: string): void;
  reset(): void;
}

const CODE_LETTERS = 'BCDFGHJKLMNPQRSTVWXZ';

export function createFakeDevices(): FakeDevices {
  let settings: DeviceSettings | null = null;
  const started: FakeDevice[] = [];
  const find = (userCode?: string) => {
    const d = userCode === undefined ? started.at(-1) : started.find((x) => x.userCode === userCode);
    if (!d) throw new Error(`fake server: no device sign-in ${userCode ?? '(none started)'}`);
    return d;
  };
  return {
    configure: (opts = {}) => {
      settings = { interval: 5, expiresIn: 600, complete: true, ...opts };
    },
    get settings() {
      return settings;
    },
    get started() {
      return started;
    },
    approve: (user, userCode) => Object.assign(find(userCode), { state: 'approved', user }),
    deny: (userCode) => {
      find(userCode).state = 'denied';
    },
    slowDown: (userCode) => {
      find(userCode).slowDown = true;
    },
    rateLimit: (retryAfterSeconds, userCode) => {
      find(userCode).rateLimited = retryAfterSeconds;
    },
    reset: () => {
      settings = null;
      started.length = 0;
    },
  };
}

const notConfigured = () =>
  new HttpError(
    404,
    'sso.not_configured',
    'Single sign-on is not configured on this server (identity.oidc).',
  );
const unknownFlow = () =>
  new HttpError(400, 'sso.expired', 'This device sign-in is unknown, expired or finished; start again.');

export const identityRoutes: RouteDef[] = [
  {
    method: 'PUT',
    url: '/api/v1/me/password',
    body: SCHEMAS.passwordChangeBody,
    handle(ctx, deps) {
      const { currentPassword, newPassword } = ctx.body as { currentPassword: string; newPassword: string };
      if (ctx.user.password === null || ctx.user.password !== currentPassword)
        throw new HttpError(403, 'auth.wrong_password', 'The current password is wrong.');
      return json(200, setPassword(deps, ctx.user, newPassword, ctx.user.name));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/teams',
    handle: (ctx, { state }) =>
      json(200, { items: state.teamsOf(ctx.user.name).map((t) => ({ name: t.name })) }),
  },
  {
    method: 'GET',
    url: '/auth/methods',
    public: true,
    handle: (_ctx, { devices }) =>
      json(200, { password: true, sso: !!devices.settings, device: !!devices.settings }),
  },
  {
    method: 'POST',
    url: '/api/v1/auth/device',
    public: true,
    handle(_ctx, { devices }) {
      const config = devices.settings;
      if (!config) throw notConfigured();
      const letters = (n: number) => Array.from({ length: n }, () => CODE_LETTERS[randomInt(20)]).join('');
      const d: FakeDevice = {
        deviceCode: randomBytes(24).toString('base64url'),
        userCode: `${letters(4)}-${letters(4)}`,
        interval: config.interval,
        expiresAt: Date.now() + config.expiresIn * 1000,
        state: 'pending',
        user: null,
        slowDown: false,
        rateLimited: null,
        polls: 0,
        taken: false,
      };
      devices.started.push(d);
      return json(200, {
        deviceCode: d.deviceCode,
        userCode: d.userCode,
        verificationUri: FAKE_VERIFICATION_URI,
        verificationUriComplete: config.complete ? `${FAKE_VERIFICATION_URI}?user_code=${d.userCode}` : null,
        interval: config.interval,
        expiresIn: config.expiresIn,
      });
    },
  },
  {
    method: 'POST',
    url: '/api/v1/auth/device/token',
    public: true,
    body: SCHEMAS.deviceTokenBody,
    handle(ctx, { state, devices }) {
      if (!devices.settings) throw notConfigured();
      const body = ctx.body as { deviceCode: string; tokenName?: string; expiresInDays?: number };
      const d = devices.started.find((x) => x.deviceCode === body.deviceCode);
      if (d?.rateLimited) {
        const seconds = d.rateLimited;
        d.rateLimited = null;
        throw new HttpError(429, 'rate.limited', `Too many sign-ins from here; retry in ${seconds} s.`, {
          retryAfterSeconds: seconds,
        });
      }
      if (!d || d.taken || Date.now() >= d.expiresAt) throw unknownFlow();
      d.polls += 1;
      if (d.state === 'pending') {
        const interval = d.slowDown ? d.interval + 5 : d.interval;
        d.slowDown = false;
        throw new HttpError(
          400,
          'sso.pending',
          'Waiting for you to approve the sign-in at the identity provider.',
          { interval },
        );
      }
      d.taken = true;
      if (d.state === 'denied')
        throw new HttpError(400, 'sso.expired', 'The device sign-in ended (access_denied); start again.', {
          reason: 'access_denied',
        });
      const user = state.users.get(d.user!);
      if (!user) throw new Error(`fake server: no user ${d.user}`);
      if (user.disabled)
        throw new HttpError(
          403,
          'auth.disabled',
          'This account is disabled; ask an administrator to enable it.',
        );
      user.sso = true;
      const tok = newToken(
        state,
        { user, scopes: rightsOf(user.role), expiresAt: null },
        {
          name: body.tokenName ?? 'tunnelctl-sso',
          ...(body.expiresInDays ? { expiresInDays: body.expiresInDays } : {}),
        },
      );
      return json(201, { user: user.name, token: state.tokenJson(tok), secret: tok.secret });
    },
  },
];

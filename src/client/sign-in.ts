/**
 * Signing in: what the server offers (`/auth/methods`); a browser's session (`/auth/password`,
 * `/auth/session`, `/auth/logout`: the cookie travels by itself, same origin, and the answer
 * carries the CSRF token a `{type: 'session'}` client sends with changes); and the device
 * authorization grant that `tunnelctl login --sso` drives. The public paths send no credentials.
 * A poll that is not approved yet is a value, not an error; a sign-in that expired or was denied
 * rejects with `sso.expired`, a server without single sign-on with `sso.not_configured`.
 */
import { isApiError } from './errors.js';
import type { CallOptions, Transport } from './transport.js';
import type {
  CreatedToken,
  DeviceAuthorization,
  DevicePoll,
  DeviceTokenInput,
  PasswordSignInInput,
  Session,
  SignInMethods,
} from './types.js';

/** What RFC 8628 says to wait between polls when the server names no interval. */
const DEFAULT_INTERVAL_SECONDS = 5;

export interface SignInApi {
  methods(options?: CallOptions): Promise<SignInMethods>;
  /** A browser session from a password: sets the session cookie; `auth.invalid` on a wrong one. */
  password(input: PasswordSignInInput, options?: CallOptions): Promise<Session>;
  /** The browser's current session (`auth.required` when there is none or it expired). */
  session(options?: CallOptions): Promise<Session>;
  /** Ends the browser's session (a `{type: 'session'}` client: the change carries the CSRF token). */
  logout(options?: CallOptions): Promise<void>;
  /** Starts a device sign-in: the code and URL to show the user, and the code to poll with. */
  startDevice(options?: CallOptions): Promise<DeviceAuthorization>;
  /** One poll: `pending` (wait `interval` seconds) or `done` with an API token (its secret shown once). */
  pollDevice(input: DeviceTokenInput, options?: CallOptions): Promise<DevicePoll>;
}

export function createSignInApi({ json, send }: Transport): SignInApi {
  return {
    methods: (o = {}) =>
      json<SignInMethods>({ method: 'GET', path: 'auth/methods', auth: false, signal: o.signal }),
    password: (input, o = {}) =>
      json<Session>({ method: 'POST', path: 'auth/password', body: input, auth: false, signal: o.signal }),
    session: (o = {}) => json<Session>({ method: 'GET', path: 'auth/session', signal: o.signal }),
    logout: async (o = {}) => {
      await send({ method: 'POST', path: 'auth/logout', signal: o.signal });
    },
    startDevice: (o = {}) =>
      json<DeviceAuthorization>({
        method: 'POST',
        path: 'api/v1/auth/device',
        auth: false,
        signal: o.signal,
      }),
    async pollDevice(input, o = {}) {
      try {
        const done = await json<CreatedToken & { user: string }>({
          method: 'POST',
          path: 'api/v1/auth/device/token',
          body: input,
          auth: false,
          signal: o.signal,
        });
        return { status: 'done', user: done.user, token: done.token, secret: done.secret };
      } catch (err) {
        if (!isApiError(err, 'sso.pending')) throw err;
        const interval = Number(err.details.interval);
        return {
          status: 'pending',
          interval: Number.isFinite(interval) && interval >= 0 ? interval : DEFAULT_INTERVAL_SECONDS,
        };
      }
    },
  };
}

/**
 * Signing in without a password (`/auth/methods`, `/api/v1/auth/device…`): the device
 * authorization grant that `tunnelctl login --sso` drives. These paths are public: no
 * credentials are sent. A poll that is not approved yet is a value, not an error; a sign-in that
 * expired or was denied rejects with `sso.expired`, a server without single sign-on with
 * `sso.not_configured`.
 */
import { isApiError } from './errors.js';
import type { CallOptions, Transport } from './transport.js';
import type {
  CreatedToken,
  DeviceAuthorization,
  DevicePoll,
  DeviceTokenInput,
  SignInMethods,
} from './types.js';

/** What RFC 8628 says to wait between polls when the server names no interval. */
const DEFAULT_INTERVAL_SECONDS = 5;

export interface SignInApi {
  methods(options?: CallOptions): Promise<SignInMethods>;
  /** Starts a device sign-in: the code and URL to show the user, and the code to poll with. */
  startDevice(options?: CallOptions): Promise<DeviceAuthorization>;
  /** One poll: `pending` (wait `interval` seconds) or `done` with an API token (its secret shown once). */
  pollDevice(input: DeviceTokenInput, options?: CallOptions): Promise<DevicePoll>;
}

export function createSignInApi({ json }: Transport): SignInApi {
  return {
    methods: (o = {}) =>
      json<SignInMethods>({ method: 'GET', path: 'auth/methods', auth: false, signal: o.signal }),
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

/**
 * The console's one way to the API: `src/client` with the browser's session (the cookie travels
 * by itself; changes carry the CSRF token), and `explain`, which says what went wrong as tunnelctl
 * does: the API's message and code, then what to do.
 */
import {
  createTunnelplaneClient,
  isApiError,
  isConnectionError,
  type TunnelplaneClient,
} from '../../src/client/index.js';

/** The client for this origin, with a session's CSRF token (or none, before sign-in). */
export function clientFor(csrfToken: string | null): TunnelplaneClient {
  return createTunnelplaneClient({
    baseUrl: window.location.origin,
    auth: csrfToken ? { type: 'session', csrfToken } : null,
    timeoutMs: 20_000,
  });
}

/** The session ended on the server (expired, signed out elsewhere): the console signs in again. */
export function sessionEnded(err: unknown): boolean {
  return (
    isApiError(err) && (err.code === 'auth.required' || (err.code === 'auth.invalid' && err.status === 401))
  );
}

const trim = (m: string) => m.replace(/\.$/, '');

/** One line, as tunnelctl would print it: cause (code), then the fix. */
export function explain(err: unknown): string {
  if (isConnectionError(err)) {
    return `Cannot reach the control plane (${err.reason}): check your network and that the server is running, then try again`;
  }
  if (!isApiError(err))
    return `Something went wrong in the console: ${(err as Error)?.message ?? String(err)}; reload the page`;
  const m = trim(err.message);
  const c = `(${err.code})`;
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  switch (err.code) {
    case 'auth.invalid':
      // The API's message speaks of USERPASS and tokens (the CLI's credentials); here, as tunnelctl
      // does, say what failed in the terms of this page.
      return `Sign-in failed: wrong user name or password ${c}: check both and try again`;
    case 'auth.required':
      return `${m} ${c}`;
    case 'auth.throttled':
      return `${m} ${c}: wait a moment before trying again`;
    case 'auth.disabled':
      return `${m} ${c}: ask an administrator to enable your account`;
    case 'auth.password_disabled':
      return `${m} ${c}: sign in with single sign-on`;
    case 'auth.forbidden':
      return `${m} ${c}: this needs an admin account`;
    case 'auth.scope':
      return `${m} ${c}: sign in with your password or single sign-on for every right you have`;
    case 'auth.csrf':
      return `${m} ${c}: reload the page and try again`;
    case 'quota.exceeded':
      return `${m} ${c}: delete ${String(err.details.resource ?? 'some')} you no longer need, or ask an admin to raise your quota`;
    case 'tunnel.name_taken':
      return `${m} ${c}: choose another name, or leave it empty for a random one`;
    case 'tunnel.not_found':
      return `${m} ${c}: it may have been deleted; go back to your tunnels`;
    case 'tunnel.deleting':
      return `${m} ${c}: wait until it is gone, then create it again`;
    case 'route.name_taken':
      return `${m} ${c}: choose another route name, or leave it empty for a random one`;
    case 'route.hostname_taken':
    case 'route.hostname_foreign':
    case 'route.hostname_reserved':
      return `${m} ${c}: choose another hostname, or leave it empty for a generated one`;
    case 'route.invalid_hostname':
      return `${m} ${c}: give one label such as myapp (letters, digits, single dashes), or leave it empty`;
    case 'route.origin_option_unavailable':
      return `${m} ${c}: leave that option out, or ask the operator to set it up`;
    case 'route.invalid_origin_request':
      return `${m} ${c}: correct it under "Advanced", or empty it for cloudflared's default`;
    case 'request.precondition_failed':
      return `Someone changed this since you opened it (${err.code}): the form now shows it as it is; make your change again and save`;
    case 'route.invalid_service':
      return `${m} ${c}: give a URL such as http://localhost:8000 or tcp://db:5432`;
    case 'route.invalid_allow_list':
      return `${m} ${c}: give IP addresses or CIDR ranges, one per line, such as 203.0.113.7 or 10.0.0.0/8`;
    case 'route.invalid_access':
      return `${m} ${c}: give e-mail addresses (ada@example.com) or domains (example.com), one per line`;
    case 'capacity.exhausted':
      return `${m} ${c}: ask the operator to raise the account's capacity, or delete protected routes you no longer need`;
    case 'rate.limited':
      return `${m} ${c}`;
    case 'token.exceeds':
      return `${m} ${c}: a token gets at most the scopes and lifetime of the credential that makes it; leave the expiry empty, or make a longer-lived token with tunnelctl and your password`;
    case 'user.not_found':
      return `${m} ${c}: reload the users list`;
    case 'request.invalid':
      return `${m} ${c}: correct the highlighted field and try again`;
    default:
      if (err.status >= 500)
        return `${m} ${c}: try again; if it keeps failing, give the request id to the operator${ref}`;
      return `${m} ${c}`;
  }
}

/**
 * `login --sso`: single sign-on through the device authorization grant. Asks the control plane
 * for a code, shows the URL to approve it at (stderr; `-o json|yaml`: also on stdout, first of
 * two documents), polls at the interval the server names (never faster, even when it asks for
 * less after a `slow_down`), and saves the API token the server hands over exactly as `login`
 * does. Ctrl-C stops it and nothing is saved; a code that expires or is denied says so (exit 1).
 *
 * For tests and embedders, `io.sleep` replaces the wait between polls and `io.openUrl` receives
 * the URL once it is printed (tunnelctl opens no browser itself).
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  createTunnelplaneClient,
  isApiError,
  isConnectionError,
  type DeviceAuthorization,
} from '../client/index.js';
import { expiresInDays } from './account-commands.js';
import type { Ctx } from './context.js';
import { CliError, UsageError } from './errors.js';
import { renderData } from './output.js';
import { defaultTokenName, loginServer, saveLogin } from './session-commands.js';

/** Never poll faster than this, whatever the server says (a test server may say 0). */
const MIN_POLL_MS = 50;
/** Consecutive connection failures tolerated while waiting (a laptop's network may blink). */
const CONNECTION_RETRIES = 3;
/** Exit status after Ctrl-C, as shells report a SIGINT. */
const INTERRUPTED = 130;

export async function loginSso(ctx: Ctx): Promise<number> {
  for (const flag of ['user', 'password-stdin', 'token'])
    if (ctx.flag(flag) !== undefined || ctx.has(flag))
      throw new UsageError(`--sso signs in with single sign-on: --${flag} does not apply`, ['login']);
  const saved = await ctx.config();
  const { server, serverFrom } = loginServer(ctx, saved);
  const days = expiresInDays(ctx, ['login']);
  const base = createTunnelplaneClient({ baseUrl: server, userAgent: `tunnelctl/${ctx.version}` });
  ctx.adopt({
    client: base,
    target: { server, serverFrom, auth: null, authFrom: null, configPath: ctx.configPath },
  });

  const stop = new AbortController();
  const signals = ctx.io.signals ?? process;
  const onSignal = () => stop.abort();
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  try {
    const start = await base.signIn.startDevice({ signal: stop.signal });
    await show(ctx, start);
    const done = await waitForApproval(ctx, base, start, stop.signal, {
      tokenName: ctx.flag('name') ?? defaultTokenName(),
      ...(days !== undefined && { expiresInDays: days }),
    });
    const created = { token: done.token, secret: done.secret };
    const client = base.withAuth({ type: 'bearer', token: done.secret });
    ctx.adopt({
      client,
      target: {
        server,
        serverFrom,
        auth: { type: 'bearer', token: done.secret },
        authFrom: 'sso',
        configPath: ctx.configPath,
      },
    });
    return await saveLogin(ctx, { server, saved, client, created, user: done.user, jsonLines: true });
  } catch (err) {
    if (stop.signal.aborted) {
      ctx.note('Sign-in stopped; nothing was saved.');
      return INTERRUPTED;
    }
    throw err;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}

/** The URL and code on stderr (and, with -o json|yaml, on stdout); then the `openUrl` hook. */
async function show(ctx: Ctx, start: DeviceAuthorization): Promise<void> {
  const url = start.verificationUriComplete ?? start.verificationUri;
  const minutes = Math.max(1, Math.round(start.expiresIn / 60));
  ctx.note(
    start.verificationUriComplete
      ? `To sign in, open this page in a browser and approve; check that it shows the code ${start.userCode}:`
      : `To sign in, open this page in a browser and enter the code ${start.userCode}:`,
  );
  ctx.note('');
  ctx.note(`    ${url}`);
  ctx.note('');
  ctx.note(`Waiting for your approval (the code expires in ${minutes} min; Ctrl-C to stop)…`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    const data = {
      userCode: start.userCode,
      verificationUri: start.verificationUri,
      verificationUriComplete: start.verificationUriComplete,
      expiresIn: start.expiresIn,
    };
    // JSON lines (this, then the login's result) so a script can read the URL before the end.
    ctx.out(ctx.format === 'json' ? `${JSON.stringify(data)}\n` : `${renderData(data, 'yaml')}---\n`);
  }
  try {
    await ctx.io.openUrl?.(url);
  } catch (err) {
    ctx.note(
      `Could not open ${url} (${err instanceof Error ? err.message : String(err)}); open it yourself.`,
    );
  }
}

async function waitForApproval(
  ctx: Ctx,
  client: ReturnType<typeof createTunnelplaneClient>,
  start: DeviceAuthorization,
  signal: AbortSignal,
  token: { tokenName: string; expiresInDays?: number },
) {
  const sleep = ctx.io.sleep ?? ((ms: number, s: AbortSignal) => delay(ms, undefined, { signal: s }));
  const deadline = Date.now() + start.expiresIn * 1000;
  let interval = validSeconds(start.interval);
  let wait = interval;
  let failures = 0;
  for (;;) {
    await sleep(Math.max(MIN_POLL_MS, Math.round(wait * 1000)), signal);
    signal.throwIfAborted();
    if (Date.now() >= deadline) throw expired(start);
    try {
      const r = await client.signIn.pollDevice({ deviceCode: start.deviceCode, ...token }, { signal });
      failures = 0;
      if (r.status === 'done') return r;
      // A slow_down raises the interval for good (RFC 8628 §3.5), even if a later answer forgets it.
      interval = Math.max(interval, validSeconds(r.interval));
      wait = interval;
    } catch (err) {
      if (signal.aborted) throw err;
      if (isApiError(err, 'rate.limited')) {
        wait = Math.max(interval, Number(err.details.retryAfterSeconds) || interval);
      } else if (isConnectionError(err) && ++failures <= CONNECTION_RETRIES) {
        ctx.note(`Cannot reach ${client.baseUrl} (${err.reason}); trying again…`);
        wait = interval;
      } else throw err;
    }
  }
}

const validSeconds = (n: number) => (Number.isFinite(n) && n >= 0 ? n : 5);

function expired(start: DeviceAuthorization): CliError {
  const minutes = Math.max(1, Math.round(start.expiresIn / 60));
  return new CliError(
    `The sign-in was not approved within ${minutes} min and its code ${start.userCode} expired: run tunnelctl login --sso again`,
    { code: 'cli.sso_expired' },
  );
}

/**
 * `share URL`: a local service at a public URL for as long as tunnelctl runs. It adds a route
 * that expires by itself (`ttlSeconds`, `--ttl`, default 8 h) to the user's share tunnel
 * (`share-<user>`, remotely managed, made on first use; or `--tunnel`), prints the URL at once,
 * waits for the route to be ready, runs cloudflared in the foreground as `run` does, and removes
 * the route however it ends: Ctrl-C, SIGTERM, SIGHUP, cloudflared exiting or failing. When the
 * removal cannot happen (server unreachable, tunnelctl killed), the route's expiry still does.
 */
import type { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import {
  isApiError,
  TunnelplaneApiError,
  TunnelplaneConnectionError,
  type Route,
  type Tunnel,
} from '../client/index.js';
import type { Ctx } from './context.js';
import { converge, orGone } from './converge.js';
import { formatDuration } from './duration.js';
import { CliError, UsageError } from './errors.js';
import { explain } from './explain.js';
import { expiresIn, renderData } from './output.js';
import { pollUntil, withSpinner } from './progress.js';
import { routeInput } from './route-commands.js';
import { assertCloudflaredOnPath, launch, makePlan } from './run-command.js';

export const DEFAULT_SHARE_TTL_SECONDS = 8 * 3600;
/** How long the removal at exit may keep the server waiting for the reconciler. */
const REMOVE_WAIT_SECONDS = 10;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * What to share: a bare port means `http://localhost:PORT`, `host:port` means
 * `http://host:port`; anything else (`https://…`, `tcp://…`, `hello_world`) goes to the server
 * as given, which checks it.
 */
export function localService(arg: string): string {
  const v = arg.trim();
  if (/^\d+$/.test(v)) {
    const port = Number(v);
    if (port < 1 || port > 65535) throw new UsageError(`Port ${v} is not from 1 to 65535`, ['share']);
    return `http://localhost:${port}`;
  }
  if (/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d+$/i.test(v)) return `http://${v}`;
  return v;
}

/**
 * `share-<user>` made a valid tunnel name (a letter first, 1-24 of `a-z 0-9 -`, no `--`, no
 * trailing `-`): other characters become `-`, the rest is cut.
 */
export function shareTunnelName(user: string): string {
  const name = `share-${user}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/-+/g, '-');
  return name.slice(0, 24).replace(/-+$/, '');
}

/** The first stop signal received from the moment a route exists, and an AbortSignal raised by it. */
function watchSignals(source: Pick<EventEmitter, 'on' | 'off'>) {
  const stopped = new AbortController();
  /** A second signal while removing the route: stop waiting for the server. */
  const again = new AbortController();
  let received: StopSignal | null = null;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (received === null) {
        received = signal;
        stopped.abort();
      } else again.abort();
    };
    source.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    get received() {
      return received;
    },
    stopped: stopped.signal,
    again: again.signal,
    dispose: () => {
      for (const [signal, handler] of handlers) source.off(signal, handler);
    },
  };
}

const signalStatus = (signal: StopSignal) => 128 + (constants.signals[signal] ?? 0);

export async function share(ctx: Ctx, target: string): Promise<number> {
  const service = localService(target);
  const input = routeInput(ctx, service, ['share']);
  input.ttlSeconds ??= DEFAULT_SHARE_TTL_SECONDS;
  // Before anything is created: a route for a cloudflared that cannot start helps no one.
  await assertCloudflaredOnPath(ctx.env);
  const { client } = await ctx.session();
  const tunnelName = ctx.flag('tunnel') ?? shareTunnelName((await client.me()).name);
  ctx.subject.tunnel = tunnelName;
  const tunnel = await shareTunnel(ctx, tunnelName);

  // From here on, every way out removes the route.
  const signals = watchSignals(ctx.io.signals ?? process);
  let route: Route | null = null;
  try {
    route = (await client.routes.create(tunnel.name, input, { wait: 0 })).value;
    announce(ctx, tunnel, route);
    if (ctx.wait && !signals.stopped.aborted) route = await untilReady(ctx, tunnel, route, signals.stopped);
    if (signals.received) return signalStatus(signals.received);
    const plan = await makePlan(ctx, tunnel, true);
    if (signals.received) return signalStatus(signals.received);
    ctx.note(`Sharing ${service} at https://${route.hostname}; Ctrl-C stops sharing and removes the route`);
    const status = await launch(ctx, plan, { output: 'stderr' });
    return signals.received ? signalStatus(signals.received) : status;
  } finally {
    try {
      if (route) await removeRoute(ctx, tunnel.name, route, signals.again);
    } finally {
      signals.dispose();
    }
  }
}

/** The share tunnel, ready to run: made (remotely managed) when missing, waited for while pending. */
async function shareTunnel(ctx: Ctx, name: string): Promise<Tunnel> {
  const { client } = await ctx.session();
  let tunnel = await orGone(() => client.tunnels.get(name));
  if (tunnel === null) {
    ctx.note(`Creating tunnel ${name} (remotely managed) for sharing; later shares reuse it`);
    let created: Tunnel | null = null;
    try {
      tunnel = await converge<Tunnel>(ctx, {
        label: `Creating tunnel ${name}`,
        what: `tunnel ${name}`,
        check: `tunnelctl tunnel get ${name}`,
        goal: 'ready',
        start: async (wait) => {
          const res = await client.tunnels.create({ name, configMode: 'remote' }, { wait });
          created = res.value;
          return res;
        },
        poll: () => orGone(() => client.tunnels.get(name)),
      });
    } catch (err) {
      // Someone else's tunnel has the name (names are unique across the server).
      if (isApiError(err) && err.code === 'tunnel.name_taken')
        throw new CliError(
          `The tunnel name ${name} is taken on this control plane: share with --tunnel NAME (one of your tunnels, or a new name)`,
          { code: 'cli.share_tunnel_taken', details: { tunnel: name } },
        );
      throw err;
    }
    tunnel ??= created;
  } else if (tunnel.phase === 'pending' && ctx.wait) {
    const polled = await withSpinner(ctx.io.stderr, `Waiting for tunnel ${name} to be ready`, () =>
      pollUntil({
        deadline: Date.now() + ctx.timeoutSeconds * 1000,
        fetch: () => orGone(() => client.tunnels.get(name)),
        done: (t) => t === null || t.phase !== 'pending',
      }),
    );
    tunnel = polled.value;
  }
  if (tunnel === null) throw new CliError(`Tunnel ${name} was deleted meanwhile`, { code: 'cli.not_found' });
  if (tunnel.phase !== 'ready' || tunnel.id === null) {
    throw new CliError(
      `Tunnel ${name} cannot take a share (phase ${tunnel.phase}${tunnel.lastError ? `: ${tunnel.lastError}` : ''}); check with tunnelctl tunnel get ${name}, or share with --tunnel NAME`,
      { code: 'cli.not_runnable', details: { phase: tunnel.phase, lastError: tunnel.lastError } },
    );
  }
  return tunnel;
}

/** The URL first, on stdout (`-o json`: one line `{url, tunnel, route, expiresAt}`). */
function announce(ctx: Ctx, tunnel: Tunnel, route: Route): void {
  const url = `https://${route.hostname}`;
  const expiresAt = route.expiresAt ?? null;
  line(ctx, { url, tunnel: tunnel.name, route: route.name, expiresAt }, `${url}\n`);
  ctx.note(
    expiresAt
      ? `Route ${route.name} on tunnel ${tunnel.name} expires by itself at ${expiresAt} (${expiresIn(expiresAt)}) if it is not removed first`
      : `Route ${route.name} on tunnel ${tunnel.name} (this control plane does not expire routes: it is removed when you stop)`,
  );
}

/** A result on stdout: `text` for people; one JSON line, or a YAML document, for scripts. */
function line(ctx: Ctx, data: unknown, text: string): void {
  if (ctx.format === 'json') ctx.out(`${JSON.stringify(data)}\n`);
  else if (ctx.format === 'yaml') ctx.out(`${renderData(data, 'yaml')}---\n`);
  else ctx.out(text);
}

/** Polls until the route is ready, within --timeout; a failed or vanished route fails the share. */
async function untilReady(ctx: Ctx, tunnel: Tunnel, route: Route, stop: AbortSignal): Promise<Route> {
  const { client } = await ctx.session();
  const polled = await withSpinner(ctx.io.stderr, `Waiting for https://${route.hostname} to be ready`, () =>
    pollUntil({
      deadline: Date.now() + ctx.timeoutSeconds * 1000,
      fetch: () => orGone(() => client.routes.get(tunnel.name, route.name)),
      done: (r) => r === null || r.phase !== 'pending',
      signal: stop,
    }),
  );
  const now = polled.value;
  if (polled.aborted) return now ?? route;
  if (now === null)
    throw new CliError(`Route ${route.name} was deleted while waiting for it`, { code: 'cli.not_found' });
  if (now.phase === 'error' || now.phase === 'deleting')
    throw new CliError(
      `Route ${route.name} failed: ${now.lastError ?? `phase ${now.phase}`}; nothing is shared (the route is removed)`,
      { code: 'cli.provisioning_failed', details: { phase: now.phase, lastError: now.lastError } },
    );
  if (polled.timedOut)
    ctx.note(
      `Route ${route.name} is not ready after ${formatDuration(ctx.timeoutSeconds)} (phase ${now.phase}); starting cloudflared anyway: the URL works once the control plane finishes`,
    );
  return now;
}

type Removal = 'deleted' | 'deleting' | 'gone' | 'kept';

/** Removes the share's route (never the tunnel); says what became of it. */
async function removeRoute(ctx: Ctx, tunnel: string, route: Route, giveUp: AbortSignal): Promise<void> {
  const { client } = await ctx.session();
  const url = `https://${route.hostname}`;
  const expiry = route.expiresAt
    ? `it expires by itself at ${route.expiresAt}`
    : `remove it with: tunnelctl route delete ${tunnel} ${route.name}`;
  let status: Removal;
  try {
    const res = await withSpinner(ctx.io.stderr, `Removing route ${route.name}`, () =>
      client.routes.delete(tunnel, route.name, { wait: REMOVE_WAIT_SECONDS, signal: giveUp }),
    );
    status = res.converged ? 'deleted' : 'deleting';
  } catch (err) {
    if (isApiError(err) && err.status === 404) status = 'gone';
    else {
      status = 'kept';
      const why =
        err instanceof TunnelplaneApiError || err instanceof TunnelplaneConnectionError
          ? await explain(err, ctx)
          : giveUp.aborted
            ? 'stopped'
            : err instanceof Error
              ? err.message
              : String(err);
      ctx.note(`Could not remove route ${route.name} (${url}): ${why}; ${expiry}`);
    }
  }
  line(ctx, { tunnel, route: route.name, url, status, expiresAt: route.expiresAt ?? null }, '');
  if (ctx.format !== 'table') return;
  if (status === 'deleted') ctx.note(`Removed route ${route.name} (${url}) from tunnel ${tunnel}`);
  else if (status === 'deleting')
    ctx.note(`Removing route ${route.name} (${url}) from tunnel ${tunnel}; the control plane finishes it`);
  else if (status === 'gone') ctx.note(`Route ${route.name} (${url}) was already gone`);
}

/**
 * `run TUNNEL`: runs cloudflared for a tunnel. Locally-configured tunnels get their config and
 * credentials written 0600 into a private temporary directory (mkdtemp, 0700) removed when
 * cloudflared exits; remotely-managed ones get the token through the TUNNEL_TOKEN environment
 * variable, never argv, so it does not show in `ps`. SIGINT, SIGTERM and SIGHUP are forwarded.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Tunnel } from '../client/index.js';
import type { Ctx } from './context.js';
import { orGone } from './converge.js';
import { CliError } from './errors.js';
import { pollUntil, withSpinner } from './progress.js';

export const CLOUDFLARED_DOWNLOADS =
  'https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/';
const REDACTED = '<redacted>';

export interface Plan {
  mode: 'local' | 'remote';
  args: string[];
  /** Variables added to cloudflared's environment. */
  env: Record<string, string>;
  dir: string | null;
}

export async function run(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = name;
  let tunnel = await client.tunnels.get(name);
  if (tunnel.phase === 'pending' && ctx.wait) {
    const deadline = Date.now() + ctx.timeoutSeconds * 1000;
    const polled = await withSpinner(ctx.io.stderr, `Waiting for tunnel ${name} to be ready`, () =>
      pollUntil({
        deadline,
        fetch: () => orGone(() => client.tunnels.get(name)),
        done: (t) => t === null || t.phase !== 'pending',
      }),
    );
    if (!polled.value)
      throw new CliError(`Tunnel ${name} was deleted while waiting for it`, { code: 'cli.not_found' });
    tunnel = polled.value;
  }
  if (tunnel.phase === 'error' || tunnel.phase === 'deleting' || tunnel.id === null) {
    throw new CliError(
      `Tunnel ${name} cannot run yet (phase ${tunnel.phase}${tunnel.lastError ? `: ${tunnel.lastError}` : ''}); check with tunnelctl tunnel get ${name}`,
      { code: 'cli.not_runnable', details: { phase: tunnel.phase, lastError: tunnel.lastError } },
    );
  }

  const print = ctx.has('print');
  const plan = await makePlan(ctx, tunnel, !print || ctx.has('show-token'));
  if (print) {
    printPlan(ctx, plan);
    return 0;
  }
  return launch(ctx, plan);
}

/** How cloudflared runs for `tunnel`: arguments, environment, and the private directory in local mode. */
export async function makePlan(ctx: Ctx, tunnel: Tunnel, needToken: boolean): Promise<Plan> {
  const { client } = await ctx.session();
  if (tunnel.configMode === 'remote') {
    const token = needToken ? await client.tunnels.token(tunnel.name) : REDACTED;
    return { mode: 'remote', args: ['tunnel', 'run'], env: { TUNNEL_TOKEN: token }, dir: null };
  }
  const [credentials, config] = await Promise.all([
    client.tunnels.credentials(tunnel.name),
    client.tunnels.config(tunnel.name),
  ]);
  // mkdtemp makes the directory 0700; the files are 0600 and must not exist yet.
  const dir = await mkdtemp(join(ctx.env.TMPDIR || tmpdir(), 'tunnelctl-'));
  const configPath = join(dir, 'config.yaml');
  const credPath = join(dir, 'credentials.json');
  try {
    await writeFile(credPath, credentials, { mode: 0o600, flag: 'wx' });
    await writeFile(configPath, config, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    mode: 'local',
    args: ['tunnel', '--config', configPath, 'run', '--cred-file', credPath],
    env: {},
    dir,
  };
}

function printPlan(ctx: Ctx, plan: Plan): void {
  if (ctx.format !== 'table') {
    ctx.data({ mode: plan.mode, command: ['cloudflared', ...plan.args], env: plan.env, dir: plan.dir });
  } else {
    const env = Object.entries(plan.env).map(([k, v]) => `${k}=${shellQuote(v)} `);
    ctx.out(`${env.join('')}cloudflared ${plan.args.map(shellQuote).join(' ')}\n`);
  }
  if (plan.dir)
    ctx.note(`Wrote config.yaml and credentials.json (mode 0600) to ${plan.dir}; remove it when done.`);
  if (plan.env.TUNNEL_TOKEN === REDACTED) ctx.note('The token is redacted: add --show-token to print it.');
}

/** Single-quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fails, before anything is created, when no `cloudflared` is on the PATH cloudflared would be
 * looked up on (`share` checks this first, so it leaves no route behind for nothing).
 */
export async function assertCloudflaredOnPath(env: Record<string, string | undefined>): Promise<void> {
  if (env.PATH === undefined) return; // spawn's own default path: let it say
  for (const dir of env.PATH.split(delimiter)) {
    if (dir === '') continue;
    try {
      await access(join(dir, 'cloudflared'), fsConstants.X_OK);
      return;
    } catch {
      // not there: the next one
    }
  }
  throw new CliError(`cloudflared is not installed or not on PATH; see ${CLOUDFLARED_DOWNLOADS}`, {
    code: 'cli.cloudflared_missing',
  });
}

/**
 * Runs cloudflared in the foreground until it exits; answers its exit status (128+N when killed
 * by signal N). `output: 'stderr'` sends its stdout to our stderr too (`share` keeps stdout for
 * its results).
 */
export async function launch(
  ctx: Ctx,
  plan: Plan,
  opts: { output?: 'stdout' | 'stderr' } = {},
): Promise<number> {
  const { io } = ctx;
  const cleanup = async () => {
    if (plan.dir) await rm(plan.dir, { recursive: true, force: true });
  };
  let child: ReturnType<typeof spawn>;
  try {
    // With `env`, spawn looks cloudflared up on that environment's PATH. `detached` gives it a
    // process group of its own: a Ctrl-C on the terminal then reaches it once, forwarded by us,
    // rather than twice (directly and forwarded).
    child = spawn('cloudflared', plan.args, {
      env: { ...ctx.env, ...plan.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  child.stdout?.pipe(opts.output === 'stderr' ? io.stderr : io.stdout, { end: false });
  child.stderr?.pipe(io.stderr, { end: false });

  const signals = io.signals ?? process;
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal);
  };
  const forwarded = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map(
    (signal) => [signal, forward(signal)] as const,
  );
  for (const [signal, handler] of forwarded) signals.on(signal, handler);

  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          reject(
            new CliError(`cloudflared is not installed or not on PATH; see ${CLOUDFLARED_DOWNLOADS}`, {
              code: 'cli.cloudflared_missing',
            }),
          );
        } else {
          reject(
            new CliError(`Cannot start cloudflared: ${err.message}`, { code: 'cli.cloudflared_failed' }),
          );
        }
      });
      child.once('spawn', () =>
        ctx.note(
          plan.mode === 'local'
            ? `Running cloudflared with the tunnel's config and credentials in ${plan.dir} (removed when it exits)`
            : 'Running cloudflared for the remotely-managed tunnel (token passed in TUNNEL_TOKEN)',
        ),
      );
      child.once('close', (code, signal) => {
        if (code !== null) resolve(code);
        else resolve(128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      });
    });
  } finally {
    for (const [signal, handler] of forwarded) signals.off(signal, handler);
    await cleanup();
  }
}

/**
 * What a command runs with: the process's streams and environment as given (never the
 * globals, so tests run tunnelctl in-process), the parsed flags, and lazily the target and an
 * API client. The client is built once per invocation, when a command first needs it.
 */
import type { EventEmitter } from 'node:events';
import { createTunnelplaneClient, type TunnelplaneClient } from '../client/index.js';
import { configFilePath, readConfig, type SavedConfig } from './config-file.js';
import type { FlagValue } from './args.js';
import { CliError } from './errors.js';
import { renderData, type Format } from './output.js';
import { authHint, resolveTarget, type Target } from './target.js';

export interface Io {
  env: NodeJS.ProcessEnv | Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where SIGINT/SIGTERM arrive, for `run` to forward them and `login --sso` to stop; defaults to `process`. */
  signals?: Pick<EventEmitter, 'on' | 'off'>;
  /** How `login --sso` waits between polls (default: a timer); rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Called by `login --sso` with the URL to approve the sign-in at (the complete one when the
   * server gives it), once it is printed: e.g. a test's browser. tunnelctl opens no browser itself.
   */
  openUrl?: (url: string) => void | Promise<void>;
}

export interface Session {
  target: Target;
  client: TunnelplaneClient;
}

export interface Ctx {
  readonly io: Io;
  readonly env: Record<string, string | undefined>;
  readonly format: Format;
  readonly wait: boolean;
  readonly timeoutSeconds: number;
  readonly version: string;
  readonly configPath: string;
  /** A command-specific flag's value, if given. */
  flag(name: string): string | undefined;
  /** Every value of a repeatable flag, comma-separated ones split, in order. */
  list(name: string): string[];
  /** A boolean flag (true when given). */
  has(name: string): boolean;
  /** Writes a result to stdout. */
  out(text: string): void;
  /** Writes a JSON/YAML rendering of `value` to stdout. */
  data(value: unknown): void;
  /** A line of progress, hint or warning on stderr. */
  note(line: string): void;
  config(): Promise<SavedConfig>;
  /** The target without requiring credentials. */
  target(): Promise<Target>;
  /** Target and client; fails with the fix when no credentials are configured. */
  session(): Promise<Session>;
  /** The session if one was opened, for error explanations. */
  readonly opened: Session | null;
  /** Makes `session` (and error explanations) use this one, e.g. login's own. */
  adopt(session: Session): void;
  /** What the command is about, so errors can say "tunnel X not found" and list the others. */
  subject: { tunnel?: string; route?: string; user?: string; team?: string };
}

export function createContext(init: {
  io: Io;
  flags: Map<string, FlagValue>;
  format: Format;
  wait: boolean;
  timeoutSeconds: number;
  version: string;
}): Ctx {
  const { io, flags } = init;
  const env = io.env as Record<string, string | undefined>;
  const configPath = configFilePath(env);
  let config: Promise<SavedConfig> | null = null;
  let opened: Session | null = null;

  const str = (name: string) => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };

  const ctx: Ctx = {
    io,
    env,
    format: init.format,
    wait: init.wait,
    timeoutSeconds: init.timeoutSeconds,
    version: init.version,
    configPath,
    flag: str,
    list: (name) => {
      const v = flags.get(name);
      const all = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
      return all.flatMap((x) => x.split(',')).map((x) => x.trim());
    },
    has: (name) => flags.get(name) === true,
    out: (text) => {
      io.stdout.write(text);
    },
    data: (value) => {
      io.stdout.write(renderData(value, init.format === 'yaml' ? 'yaml' : 'json'));
    },
    note: (line) => {
      io.stderr.write(`${line}\n`);
    },
    config: () => (config ??= readConfig(configPath)),
    target: async () =>
      resolveTarget({
        flags: { server: str('server'), token: str('token') },
        env,
        config: await ctx.config(),
        configPath,
      }),
    session: async () => {
      if (opened) return opened;
      const target = await ctx.target();
      if (!target.auth)
        throw new CliError(`No credentials for ${target.server}: ${authHint(target)}`, {
          code: 'cli.no_credentials',
        });
      const client = createTunnelplaneClient({
        baseUrl: target.server,
        auth: target.auth,
        userAgent: `tunnelctl/${init.version}`,
      });
      opened = { target, client };
      return opened;
    },
    get opened() {
      return opened;
    },
    adopt: (session) => {
      opened = session;
    },
    subject: {},
  };
  return ctx;
}

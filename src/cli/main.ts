/**
 * `tunnelctl`: parses the command line, finds the command in the table, runs it, and turns
 * every failure into one line on stderr and an exit status (0 success, 1 failure, 2 usage; 3 from
 * `status` when cloudflared is not connected).
 * Never exits the process and never reads process.env: everything comes through `io`.
 */
import { TunnelplaneApiError, TunnelplaneConnectionError } from '../client/index.js';
import { GLOBAL_FLAGS, parseArgv } from './args.js';
import { COMMANDS, childWords, isGroup, type Builtin, type Command } from './commands.js';
import { createContext, type Ctx, type Io } from './context.js';
import { CliError, UsageError } from './errors.js';
import { explain } from './explain.js';
import { commandHelp, help, helpText, readVersion, usageText, version } from './help.js';
import { completion } from './completion.js';
import { FORMATS, renderData, type Format } from './output.js';

export type { Io } from './context.js';

const DEFAULT_TIMEOUT_SECONDS = 60;
const MAX_TIMEOUT_SECONDS = 24 * 3600;

export async function runTunnelctl(argv: string[], io: Io): Promise<number> {
  let ctx: Ctx | null = null;
  try {
    const { positionals, flags } = parseArgv(argv);
    const words = positionals.length === 0 ? ['list'] : positionals;

    if (flags.get('help') === true || words[0] === 'help') {
      const topic = words[0] === 'help' ? words.slice(1) : positionals;
      io.stdout.write(topic.length === 0 ? helpText() : commandHelp(topic));
      return 0;
    }

    const { command, args } =
      flags.get('version') === true && positionals.length === 0
        ? { command: COMMANDS.find((c) => c.path[0] === 'version') as Command, args: [] }
        : findCommand(words);
    const allowed = new Set([...GLOBAL_FLAGS.map((f) => f.name), ...command.flags]);
    for (const name of flags.keys()) {
      if (!allowed.has(name))
        throw new UsageError(`Flag --${name} does not apply to ${command.path.join(' ')}`, command.path);
    }
    const required = command.params.filter((p) => !p.optional);
    if (args.length < required.length) {
      throw new UsageError(`Missing parameter: ${required[args.length]?.name}`, command.path);
    }
    if (args.length > command.params.length) {
      throw new UsageError(`Unexpected argument: ${args[command.params.length]}`, command.path);
    }

    const format = (flags.get('output') ?? 'table') as Format;
    if (!FORMATS.includes(format)) {
      const allowedFormats = command.names ? 'table, json, yaml or name' : 'table, json or yaml';
      throw new UsageError(`-o must be ${allowedFormats}, not ${JSON.stringify(format)}`, command.path);
    }
    if (format === 'name' && !command.names) {
      throw new UsageError(`-o name only applies to list commands`, command.path);
    }
    const rawTimeout = flags.get('timeout');
    let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
    if (typeof rawTimeout === 'string') {
      timeoutSeconds = Number(rawTimeout);
      if (!/^\d+$/.test(rawTimeout) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
        throw new UsageError(
          `--timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`,
          command.path,
        );
      }
    }

    ctx = createContext({
      io,
      flags,
      format,
      wait: flags.get('wait') !== false,
      timeoutSeconds,
      version: readVersion(),
    });
    return await runCommand(command, ctx, args);
  } catch (err) {
    return report(err, io, ctx, argv);
  }
}

/** The commands that read the command table themselves run here, where the table does not import them. */
const BUILTINS: Record<Builtin, (ctx: Ctx, args: string[]) => Promise<number>> = {
  help: (ctx, topic) => help(ctx, topic),
  completion: (ctx, [shell]) => completion(ctx, shell as string),
  version: (ctx) => version(ctx),
};

function runCommand(command: Command, ctx: Ctx, args: string[]): Promise<number> {
  return typeof command.run === 'string' ? BUILTINS[command.run](ctx, args) : command.run(ctx, args);
}

/** The command the words name: groups (`tunnel`, `admin users`) are followed down to a verb. */
function findCommand(words: string[]): { command: Command; args: string[] } {
  let group: string[] = [];
  while (group.length < words.length && isGroup([...group, words[group.length] as string]))
    group = [...group, words[group.length] as string];
  if (group.length === 0) {
    const command = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === words[0]);
    if (!command) throw new UsageError(`Unknown command: ${words[0]}`);
    return { command, args: words.slice(1) };
  }
  const names = childWords(group).map((w) => w.word);
  const sub = words[group.length];
  const shown = group.join(' ');
  if (sub === undefined)
    throw new UsageError(`Missing subcommand: tunnelctl ${shown} ${names.join('|')}`, group);
  const path = [...group, sub];
  const command = COMMANDS.find((c) => c.path.join(' ') === path.join(' '));
  if (!command) throw new UsageError(`Unknown command: ${shown} ${sub} (use ${names.join(', ')})`, group);
  return { command, args: words.slice(path.length) };
}

async function report(err: unknown, io: Io, ctx: Ctx | null, argv: string[]): Promise<number> {
  const format = ctx?.format ?? requestedFormat(argv);
  if (format === 'json' || format === 'yaml') return reportData(err, io, ctx, format);
  const write = (line: string) => io.stderr.write(`${line}\n`);
  if (err instanceof UsageError) {
    write(err.message);
    write('');
    io.stderr.write(err.command.length > 0 ? safeHelp(err.command) : usageText());
    return err.exitCode;
  }
  if (err instanceof CliError) {
    write(`error: ${err.message}`);
    return err.exitCode;
  }
  if ((err instanceof TunnelplaneApiError || err instanceof TunnelplaneConnectionError) && ctx) {
    write(`error: ${await explain(err, ctx)}`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  write(`error: ${message}`);
  if ((io.env as Record<string, string | undefined>).TUNNELCTL_DEBUG && err instanceof Error && err.stack)
    write(err.stack);
  return 1;
}

/** What `-o json|yaml` errors say on stderr: the API's error shape, with tunnelctl's advice as `hint`. */
export interface ErrorOutput {
  error: {
    code: string;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string;
    hint?: string;
  };
}

/**
 * An error as one JSON object (one line) or one YAML document on stderr, for scripts: API errors
 * keep the server's code, message and details; tunnelctl's own get `cli.*` codes. Same exit status.
 */
async function reportData(err: unknown, io: Io, ctx: Ctx | null, format: 'json' | 'yaml'): Promise<number> {
  let out: ErrorOutput['error'];
  let status = 1;
  if (err instanceof UsageError) {
    const topic = err.command.length > 0 ? ` ${err.command.join(' ')}` : '';
    out = { code: err.code, message: err.message, hint: `see tunnelctl help${topic}` };
    status = err.exitCode;
  } else if (err instanceof CliError) {
    out = { code: err.code, message: err.message, ...(nonEmpty(err.details) && { details: err.details }) };
    status = err.exitCode;
  } else if (err instanceof TunnelplaneApiError) {
    out = {
      code: err.code,
      message: err.message,
      ...(nonEmpty(err.details) && { details: err.details }),
      ...(err.requestId && { requestId: err.requestId }),
      ...(ctx && { hint: await explain(err, ctx) }),
    };
  } else if (err instanceof TunnelplaneConnectionError) {
    out = {
      code: 'cli.connection',
      message: `Cannot reach the control plane at ${err.url.split('?')[0]} (${err.reason})`,
      details: { url: err.url.split('?')[0], reason: err.reason, ...(err.errno && { errno: err.errno }) },
      ...(ctx && { hint: await explain(err, ctx) }),
    };
  } else {
    out = { code: 'cli.internal', message: err instanceof Error ? err.message : String(err) };
  }
  const body: ErrorOutput = { error: out };
  io.stderr.write(format === 'json' ? `${JSON.stringify(body)}\n` : renderData(body, 'yaml'));
  return status;
}

const nonEmpty = (o: Record<string, unknown> | undefined) => o !== undefined && Object.keys(o).length > 0;

/**
 * The `-o`/`--output` of a command line that did not parse, so that even its usage error comes
 * out as the script asked. The last one wins, as in the parser; nothing after `--`.
 */
function requestedFormat(argv: string[]): string | null {
  let format: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    const m = /^(?:--output|-o)(?:=(.*))?$/.exec(a) ?? /^-o(.+)$/.exec(a);
    if (!m) continue;
    if (m[1] !== undefined) format = m[1];
    else if (argv[i + 1] !== undefined) format = argv[++i] as string;
  }
  return format;
}

function safeHelp(words: string[]): string {
  try {
    return commandHelp(words);
  } catch {
    return usageText();
  }
}

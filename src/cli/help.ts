/**
 * Help and usage, generated from the command table, opening with the proof of concept's README
 * sequence so its users find their commands unchanged.
 */
import { readFileSync } from 'node:fs';
import { ALL_FLAGS, GLOBAL_FLAGS, type FlagSpec } from './args.js';
import { COMMANDS, isGroup, subcommands, usageLine, type Command } from './commands.js';
import type { Ctx } from './context.js';
import { UsageError } from './errors.js';

export const QUICK_START = `export CONTROL_PLANE=localhost:5000 USERPASS=user1:user1password
tunnelctl create
tunnelctl list
tunnelctl credentials TUNNEL > credentials.json
tunnelctl create TUNNEL http://localhost:8000
tunnelctl config TUNNEL > config.yaml
cloudflared tunnel --config config.yaml run --cred-file credentials.json`;

const SECTIONS: Array<[Command['section'], string]> = [
  ['proof', 'Commands (as in the proof of concept)'],
  ['tunnels', 'Tunnels'],
  ['routes', 'Routes'],
  ['session', 'Session'],
  ['account', 'Your account'],
  ['admin', 'Administration (admins only)'],
  ['other', 'Other'],
];

const ENVIRONMENT = `Environment:
  CONTROL_PLANE     the control plane: host[:port] (http for localhost, 127.x and [::1], else https) or a URL
  USERPASS          user:password, sent as HTTP Basic
  TUNNELCTL_TOKEN   an API token; wins over USERPASS
  XDG_CONFIG_HOME   login saves server and token in $XDG_CONFIG_HOME/tunnelctl/config.json
                    (default ~/.config/tunnelctl/config.json)
  Precedence: --server/--token > TUNNELCTL_TOKEN > USERPASS > CONTROL_PLANE > the saved login.`;

function flagLine(f: FlagSpec): string {
  const names = [f.short ? `-${f.short}, ` : '    ', `--${f.name}`, f.value ? ` ${f.value}` : ''].join('');
  const shown = f.negatable ? `${names}, --no-${f.name}` : names;
  return `  ${shown.padEnd(30)}${f.help}`;
}

const COLUMN = 36;

function commandLines(cs: Command[]): string[] {
  return cs.flatMap((c) =>
    (c.forms ?? [{ usage: usageLine(c).slice('tunnelctl '.length), summary: c.summary }]).map(
      ({ usage, summary }) =>
        usage.length + 2 > COLUMN
          ? `  ${usage}\n  ${''.padEnd(COLUMN)}${summary}`
          : `  ${usage.padEnd(COLUMN)}${summary}`,
    ),
  );
}

/** The short usage printed after a usage error. */
export function usageText(): string {
  const out = ['Usage: tunnelctl [COMMAND] [ARGUMENTS] [FLAGS]', ''];
  for (const [section, title] of SECTIONS) {
    out.push(`${title}:`, ...commandLines(COMMANDS.filter((c) => c.section === section)), '');
  }
  out.push(
    "Run 'tunnelctl help' for flags, environment and an example, 'tunnelctl help COMMAND' for one command.",
  );
  return `${out.join('\n')}\n`;
}

export function helpText(): string {
  const indent = (s: string) =>
    s
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
  return [
    'tunnelctl: your Cloudflare Tunnels, from a Tunnelplane control plane.',
    '',
    'Quick start:',
    indent(QUICK_START),
    '',
    usageText()
      .trimEnd()
      .replace(/\n[^\n]*$/, ''),
    'Flags (every command):',
    ...GLOBAL_FLAGS.map(flagLine),
    '',
    ENVIRONMENT,
    '',
    'Output: tables (also when piped); -o json or -o yaml for scripts. credentials and config print the',
    'files themselves. Progress and hints go to stderr.',
    'Exit status: 0 success, 1 failure, 2 usage error.',
    '',
  ].join('\n');
}

/** Help for one command (or group). */
export function commandHelp(words: string[]): string {
  const exact = COMMANDS.find((c) => c.path.join(' ') === words.join(' '));
  if (exact) {
    const flags = exact.flags.map((n) => ALL_FLAGS.find((f) => f.name === n) as FlagSpec);
    return [
      `Usage: ${usageLine(exact)}`,
      '',
      `${exact.summary.charAt(0).toUpperCase()}${exact.summary.slice(1)}.`,
      ...(flags.length ? ['', 'Flags:', ...flags.map(flagLine)] : []),
      '',
      'Global flags:',
      ...GLOBAL_FLAGS.map(flagLine),
      '',
    ].join('\n');
  }
  if (isGroup(words)) {
    return [`Usage: tunnelctl ${words.join(' ')} COMMAND`, '', ...commandLines(subcommands(words)), ''].join(
      '\n',
    );
  }
  throw new UsageError(`No help for ${JSON.stringify(words.join(' '))}: unknown command`);
}

export async function help(ctx: Ctx, topic: string[]): Promise<number> {
  ctx.out(topic.length === 0 ? helpText() : commandHelp(topic));
  return 0;
}

/** tunnelctl's version, from package.json (two levels up from src/cli and dist/cli alike). */
export function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function version(ctx: Ctx): Promise<number> {
  if (ctx.format === 'table') ctx.out(`tunnelctl ${ctx.version}\n`);
  else ctx.data({ version: ctx.version });
  return 0;
}

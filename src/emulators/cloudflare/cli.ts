// `tunnelplane emulate cloudflare [--port N] [--host H] [--token T] [--zone NAME]
// [--plan free|pro] [--state FILE] [--json]`: serves the emulator until SIGINT/SIGTERM and
// prints where it is and how to authenticate (one JSON line with --json). Warns on stderr
// when --host is not a loopback address: /__emulator/ has no authentication.
import { isIP } from 'node:net';
import { startCloudflareEmulator, type CloudflareEmulatorOptions } from './index.js';
import { isPlan } from './plans.js';

const USAGE = `usage: tunnelplane emulate cloudflare [--port N] [--host H] [--token T] [--zone NAME]
                                    [--plan free|pro] [--state FILE] [--json]

Serves an emulated Cloudflare API (default http://127.0.0.1:8787/client/v4) until
interrupted. Control operations for tests live under /__emulator/; they need no
authentication and reveal the API token, so keep --host on a loopback address.`;

interface CliOptions {
  emulator: CloudflareEmulatorOptions;
  json: boolean;
  help: boolean;
}

export function parseCloudflareEmulatorArgs(argv: readonly string[]): CliOptions {
  const emulator: CloudflareEmulatorOptions = { port: 8787, host: '127.0.0.1' };
  let json = false;
  let help = false;
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`${flag} needs a value`);
        return '';
      }
      i += 1;
      return next;
    };
    switch (flag) {
      case '--port': {
        const raw = value();
        const port = Number(raw);
        if (!/^\d+$/.test(raw) || port > 65535) problems.push(`--port must be a port number, got "${raw}"`);
        emulator.port = port;
        break;
      }
      case '--host':
        emulator.host = value();
        break;
      case '--token':
        emulator.token = value();
        break;
      case '--zone':
        emulator.zoneName = value().toLowerCase();
        break;
      case '--plan': {
        const plan = value();
        if (isPlan(plan)) emulator.plan = plan;
        else problems.push(`--plan must be free or pro, got "${plan}"`);
        break;
      }
      case '--state':
        emulator.statePath = value();
        break;
      case '--json':
        json = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        problems.push(`unknown argument "${arg}"`);
    }
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n\n${USAGE}`);
  return { emulator, json, help };
}

/** The stderr warning for `host`, or null when it is a loopback address. */
export function hostWarning(host: string): string | null {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const mapped = bare.replace(/^::ffff:/, '');
  const loopback =
    bare === 'localhost' || bare === '::1' || (isIP(mapped) === 4 && mapped.startsWith('127.'));
  if (loopback) return null;
  return (
    `warning: listening on ${host} — /__emulator/ is unauthenticated and hands out the API token ` +
    '(GET /__emulator/info, /__emulator/state); anyone who can reach this address can read and ' +
    'change everything. Use a loopback address (127.0.0.1) unless that is intended.'
  );
}

/** Runs the emulator in the foreground; resolves after SIGINT/SIGTERM once it has closed. */
export async function runCloudflareEmulatorCommand(argv: string[]): Promise<void> {
  const options = parseCloudflareEmulatorArgs(argv);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const warning = hostWarning(options.emulator.host ?? '127.0.0.1');
  if (warning) process.stderr.write(`${warning}\n`);
  const emulator = await startCloudflareEmulator(options.emulator);
  const { url, accountId, zoneId, zoneName, token, origin } = emulator;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url, accountId, zoneId, zoneName, token })}\n`);
  } else {
    process.stdout.write(
      [
        `Cloudflare API emulator listening on ${url}`,
        `  account id  ${accountId}`,
        `  zone        ${zoneName} (id ${zoneId})`,
        `  API token   ${token}`,
        `  control     ${origin}/__emulator/`,
        options.emulator.statePath ? `  state file  ${options.emulator.statePath}` : '',
        'Press Ctrl+C to stop.',
      ]
        .filter(Boolean)
        .join('\n') + '\n',
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
}

/**
 * `tunnelplane emulate kubernetes [--port N] [--host H] [--token T] [--namespace NS]...
 * [--ready-delay-ms MS] [--no-tls] [--json]`: runs the emulator until SIGINT/SIGTERM. Prints the URL,
 * admin token and namespaces (or, with --json, one line `{"url","token","namespace"}`).
 */
import type { KubernetesEmulatorOptions } from './index.js';
import { DEFAULT_NAMESPACES, startKubernetesEmulator } from './index.js';

export const DEFAULT_CLI_PORT = 8788;

export interface ParsedCommand {
  options: KubernetesEmulatorOptions;
  json: boolean;
  help: boolean;
}

export const USAGE = `Usage: tunnelplane emulate kubernetes [options]

Runs a Kubernetes API emulator (Deployments, Services, Secrets, Namespaces) for tests and demos.

Options:
  --port N              port to listen on (default ${DEFAULT_CLI_PORT}; 0 picks a free one)
  --host H              interface to bind (default 127.0.0.1)
  --token T             admin bearer token (default: random)
  --namespace NS        a namespace that exists; repeat for more (default: ${DEFAULT_NAMESPACES.join(', ')})
  --ready-delay-ms MS   delay before Deployments report ready (default 200)
  --no-tls              serve plain HTTP (default: HTTPS with a throw-away self-signed
                        certificate; kubectl only sends tokens to https:// servers)
  --json                print one JSON line {"url","token","namespace"} instead of text
  -h, --help            show this help
`;

/** Parses argv (everything after `emulate kubernetes`); throws with every problem listed. */
export function parseEmulateArgs(argv: string[]): ParsedCommand {
  const options: KubernetesEmulatorOptions = { port: DEFAULT_CLI_PORT, tls: true };
  const namespaces: string[] = [];
  const problems: string[] = [];
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`${flag}: needs a value`);
        return undefined;
      }
      i++;
      return next;
    };
    switch (flag) {
      case '--port': {
        const v = value();
        if (v !== undefined) {
          if (!/^\d+$/.test(v)) problems.push(`--port: not a number: ${v}`);
          else options.port = Number(v);
        }
        break;
      }
      case '--host': {
        const v = value();
        if (v !== undefined) options.host = v;
        break;
      }
      case '--token': {
        const v = value();
        if (v !== undefined) options.token = v;
        break;
      }
      case '--namespace':
      case '-n': {
        const v = value();
        if (v !== undefined) namespaces.push(v);
        break;
      }
      case '--ready-delay-ms': {
        const v = value();
        if (v !== undefined) {
          if (!/^\d+$/.test(v)) problems.push(`--ready-delay-ms: not a number: ${v}`);
          else options.readyDelayMs = Number(v);
        }
        break;
      }
      case '--tls':
        options.tls = true;
        break;
      case '--no-tls':
        options.tls = false;
        break;
      case '--json':
        json = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        problems.push(`unknown argument: ${arg}`);
    }
  }
  if (namespaces.length > 0) options.namespaces = namespaces;
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n\n${USAGE}`);
  return { options, json, help };
}

export interface CommandIO {
  stdout: { write(text: string): unknown };
  /** Resolves when the process should stop (default: first SIGINT or SIGTERM). */
  stopSignal?: Promise<unknown>;
}

function signals(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function runKubernetesEmulatorCommand(
  argv: string[],
  io: CommandIO = { stdout: process.stdout },
): Promise<void> {
  const { options, json, help } = parseEmulateArgs(argv);
  if (help) {
    io.stdout.write(USAGE);
    return;
  }
  const stop = io.stopSignal ?? signals();
  const emulator = await startKubernetesEmulator(options);
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ url: emulator.url, token: emulator.token, namespace: emulator.namespace })}\n`,
    );
  } else {
    const namespaces = options.namespaces ?? DEFAULT_NAMESPACES;
    io.stdout.write(
      [
        `Kubernetes emulator listening on ${emulator.url}`,
        `Admin token: ${emulator.token}`,
        `Namespaces: ${namespaces.join(', ')}`,
        `Try: kubectl --server ${emulator.url} --token ${emulator.token} --insecure-skip-tls-verify get deploy -n ${emulator.namespace}`,
        `Control API: ${emulator.url}/__emulator/ (see docs/emulators-kubernetes.md)`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
  await stop;
  await emulator.close();
}

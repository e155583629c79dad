/**
 * `tunnelplane serve|dev|migrate|user|gc|doctor|emulate`: the server's command line.
 * Dispatches each command to its `*-command.ts`; every failure is one clear message and a
 * non-zero exit, never a stack trace.
 */
import { ConfigError } from '../config/index.js';
import { devCommand } from './dev-command.js';
import { gcCommand } from './gc-command.js';
import { migrateCommand } from './migrate-command.js';
import { serveCommand } from './serve-command.js';
import { commandUsage, USAGE, UsageError } from './usage.js';
import { userCommand } from './user-command.js';
import { VERSION } from './version.js';

// The server, the SDKs and the reconciler are loaded (a dynamic `import('./runtime.js')`) only by
// the commands that use them, so `user`, `migrate` and `--version` start quickly: nothing this
// file or a `*-command.ts` imports statically may pull them in.

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Every command answers --help (and -h) with its own usage, before parsing anything else.
  if (command && (rest.includes('--help') || rest.includes('-h'))) {
    const usage = commandUsage(command);
    if (!usage) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    process.stdout.write(usage);
    return 0;
  }
  switch (command) {
    case 'serve':
      await serveCommand(rest);
      return 0;
    case 'dev':
      await devCommand(rest);
      return 0;
    case 'migrate':
      await migrateCommand(rest);
      return 0;
    case 'user':
      await userCommand(rest);
      return 0;
    case 'gc':
      return gcCommand(rest);
    case 'doctor': {
      // Loads the providers and the identity client: only when asked for.
      const { doctorCommand } = await import('./doctor-command.js');
      return doctorCommand(rest);
    }
    case 'emulate': {
      const [which, ...args] = rest;
      if (which === 'cloudflare') {
        const { runCloudflareEmulatorCommand } = await import('../emulators/cloudflare/cli.js');
        await runCloudflareEmulatorCommand(args);
        return 0;
      }
      if (which === 'kubernetes') {
        const { runKubernetesEmulatorCommand } = await import('../emulators/kubernetes/cli.js');
        await runKubernetesEmulatorCommand(args);
        return 0;
      }
      throw new UsageError('emulate what? cloudflare or kubernetes');
    }
    case 'version':
    case '--version':
      process.stdout.write(`tunnelplane ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`tunnelplane: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`tunnelplane: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tunnelplane: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

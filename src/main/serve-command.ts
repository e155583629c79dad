/** `tunnelplane serve`: the server from the whole config, until SIGINT or SIGTERM. */
import { serveConfig, serverFlags } from './server-config.js';
import { onSignals } from './shutdown.js';

/** Returns once listening; the process then lives until a signal stops it. */
export async function serveCommand(argv: string[]) {
  const config = serveConfig(serverFlags(argv));
  const { createRuntime } = await import('./runtime.js');
  const runtime = await createRuntime(config, { ownsProcess: true });
  const { firstStart } = await import('./first-start.js');
  await firstStart(runtime.store, config.users, runtime.logger);
  const url = await runtime.listen();
  runtime.logger.info(
    { url, zone: runtime.zoneName, installation: runtime.installationId },
    'tunnelplane is serving',
  );
  onSignals(() => runtime.close());
}

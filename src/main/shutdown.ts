/** A clean stop on SIGINT and SIGTERM for the commands that keep serving. */

/** Runs `close` once on the first SIGINT or SIGTERM, then exits 0 (or 1 when it failed). */
export function onSignals(close: () => Promise<void>) {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down\n`);
    close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

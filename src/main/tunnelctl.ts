/** `tunnelctl` entrypoint: the user's command line (src/cli), wired to the process. */
import { runTunnelctl } from '../cli/main.js';

const code = await runTunnelctl(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exitCode = code;

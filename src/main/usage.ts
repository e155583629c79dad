/** `tunnelplane`'s usage text, and the error that prints it (exit status 2). */
import { VERSION } from './version.js';

export const USAGE = `tunnelplane ${VERSION}: self-hosted control plane for Cloudflare Tunnels

Usage:
  tunnelplane dev [--port N] [--host H] [--data-dir DIR] [--json] [--tls-cert FILE --tls-key FILE]
      The server with in-process Cloudflare and Kubernetes emulators, a local OpenID provider
      (single sign-on: ada, bob, cy) and demo users (user1/user1password, user2/user2password,
      admin/adminpassword).
  tunnelplane serve [--config FILE] [--secret-dir DIR] [--host H] [--port N] [--database URL]
                    [--adopt-installation]
      The server. Configuration: YAML file, the proof of concept's secret/ folder,
      TUNNELPLANE_* variables, then flags (see docs/operator-guide.md).
  tunnelplane migrate [--config FILE] [--database URL]
  tunnelplane gc [--config FILE] [--secret-dir DIR] [--confirm DIGEST] [--include-unvouched] [--json]
      Shows what orphan collection would delete (objects provably this installation's that no
      row wants), what it leaves alone, and the plan's digest; --confirm DIGEST deletes the
      former if the plan is still the one reviewed (and, with
      --include-unvouched, objects carrying this installation's marker that its database does
      not know, e.g. after restoring an older backup).
  tunnelplane doctor [--config FILE] [--secret-dir DIR] [--json]
      Checks a configuration as serve would at start (the same sources): the database,
      Cloudflare (reachable, the token, the zone, its plan, what the token may read),
      Kubernetes (the kubeconfig, the API server, every verb used) and the identity provider.
      Prints each check ok, warn, fail or skip, with the key at fault and the fix; exit
      status 0 when nothing failed, 1 otherwise. Changes nothing.
  tunnelplane user add NAME [--admin] [--password-stdin]
  tunnelplane user passwd NAME [--password-stdin]
  tunnelplane user remove NAME
  tunnelplane user list
  tunnelplane emulate cloudflare [--port N] [--token T] [--zone NAME] [--plan free|pro] [--state FILE] [--json]
  tunnelplane emulate kubernetes [--port N] [--json]
`;

/** Each command's part of the usage (`tunnelplane COMMAND --help`): the lines that name it. */
export function commandUsage(command: string): string | null {
  const lines = USAGE.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line.startsWith(`  tunnelplane ${command}`)) inside = true;
    else if (line.startsWith('  tunnelplane ')) inside = false;
    if (inside && line.trim()) out.push(line);
  }
  return out.length ? `Usage:\n${out.join('\n')}\n` : null;
}

/** A command line that makes no sense: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/**
 * The file `tunnelctl login` writes: the server and an API token, readable by its owner only
 * (file 0600, directory 0700). `$XDG_CONFIG_HOME/tunnelctl/config.json`, else
 * `~/.config/tunnelctl/config.json`.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

export interface SavedConfig {
  /** Normalised base URL of the control plane. */
  server?: string;
  /** The user the token belongs to, for display. */
  user?: string;
  token?: string;
  /** The token's id, to revoke it at logout; null when the token was given by hand. */
  tokenId?: string | null;
  tokenName?: string;
  savedAt?: string;
}

export function configFilePath(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'tunnelctl', 'config.json');
}

export async function readConfig(path: string): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as SavedConfig;
  } catch {
    throw new CliError(`${path} is not valid JSON; fix it or remove it and run tunnelctl login again`);
  }
}

/** Writes atomically (temporary file + rename) so a crash never leaves half a token behind. */
export async function writeConfig(path: string, config: SavedConfig): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CliError(`Cannot write ${path}: ${(err as Error).message}`);
  }
}

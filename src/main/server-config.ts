/**
 * The config the server's commands build from their flags: `serve` and `gc` the whole of it
 * (YAML file, the proof of concept's secret/ folder, environment, flags); `migrate` and `user`
 * only the database URL; where browsers reach the server (`publicUrlOf`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type ServerConfig } from '../config/index.js';

/** The flags `serve` takes (and `migrate`, which reads only `--config` and `--database`). */
export function serverFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'secret-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      database: { type: 'string' },
      'adopt-installation': { type: 'boolean' },
    },
    strict: true,
  }).values;
}

/** The whole config from `serve`-style flags; ./secret is read when nothing else is said. */
export function serveConfig(f: ReturnType<typeof serverFlags>) {
  const secretDir = f['secret-dir'] ?? (f.config ? undefined : defaultSecretDir());
  return loadConfig({
    ...(f.config ? { file: f.config } : {}),
    ...(secretDir ? { secretDir } : {}),
    env: process.env,
    flags: {
      'listen.host': f.host,
      'listen.port': f.port,
      'database.url': f.database,
      adoptInstallation: f['adopt-installation'],
    },
  });
}

/** The proof of concept read ./secret; so do we when it is there and nothing else is said. */
function defaultSecretDir(): string | undefined {
  try {
    readFileSync(resolve('secret', 'cloudflare.yaml'));
    return 'secret';
  } catch {
    return undefined;
  }
}

/** Only the database matters for migrate and user commands. */
export function loadConfigLoose(file: string | undefined, database: string | undefined): string {
  try {
    return loadConfig({ ...(file ? { file } : {}), env: process.env, flags: { 'database.url': database } })
      .database.url;
  } catch (err) {
    if (err instanceof ConfigError && err.problems.every((p) => p.startsWith('cloudflare.'))) {
      return database ?? process.env.TUNNELPLANE_DATABASE_URL ?? 'sqlite:./data/tunnelplane.db';
    }
    throw err;
  }
}

/** Where browsers reach the server: `identity.publicUrl`, else the listening address. */
export function publicUrlOf(config: ServerConfig, tls: boolean): string {
  if (config.identity.publicUrl) return config.identity.publicUrl.replace(/\/+$/, '');
  const { host, port } = config.listen;
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${h}:${port}`;
}

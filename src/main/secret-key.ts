/** The key that seals tunnel secrets in the database, and where it comes from. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/index.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { ResyncRepository, SettingsRepository } from '../store/index.js';
import { StartupError } from './startup.js';

/** The key's file: the one configured, or (SQLite) `secret.key` beside the database. */
export function secretKeyPath(config: Pick<ServerConfig, 'secretKeyFile' | 'database'>): string {
  if (config.secretKeyFile) return config.secretKeyFile;
  const dbPath = config.database.url.replace(/^sqlite:/, '');
  return resolve(dbPath === ':memory:' ? '.' : dirname(dbPath), 'secret.key');
}

/** The key sealing tunnel secrets: given, read from a file, or (SQLite only) kept beside the database. */
export function resolveSecretKey(config: ServerConfig, logger: Logger): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, 'base64');
  if (!config.secretKeyFile && /^postgres(ql)?:/.test(config.database.url)) {
    throw new Error(
      'secretKey or secretKeyFile is required with PostgreSQL (every replica must share the key)',
    );
  }
  const file = secretKeyPath(config);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    logger.warn({ file }, 'generated a new secret key; back it up: without it tunnel secrets cannot be read');
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file}: the secret key must be 32 bytes, base64-encoded`);
  return key;
}

/** The setting holding a value sealed with the key the database was first used with. */
export const KEY_CHECK = 'secret_key_check';

const opens = (secrets: SecretBox, sealed: string) => {
  try {
    secrets.open(sealed);
    return true;
  } catch {
    return false;
  }
};

/**
 * Refuses a key that cannot open what the database holds sealed. Every replica must use the
 * same key: one with another key cannot read the others' tunnel secrets or sign-in state, and
 * its reconciler fails every tunnel they created, again and again, each failure pushing the
 * tunnel's backoff further out for the replica that could make it. The first start seals a
 * value of its own into the database (once the key opens a tunnel secret already there, for a
 * database from before this check); every start opens it.
 */
export async function checkSecretKey(
  secrets: SecretBox,
  deps: {
    settings: Pick<SettingsRepository, 'get' | 'setOnce'>;
    resync: Pick<ResyncRepository, 'sealedSample'>;
  },
): Promise<void> {
  let sealed = await deps.settings.get(KEY_CHECK);
  if (sealed === null) {
    const held = await deps.resync.sealedSample();
    if (held !== null && !opens(secrets, held)) throw keyMismatch();
    // Replicas starting together on an empty database agree on whichever value was written first.
    sealed = await deps.settings.setOnce(KEY_CHECK, secrets.seal(randomBytes(16)));
  }
  if (!opens(secrets, sealed)) throw keyMismatch();
}

/**
 * Whether the key opens what the database holds sealed (its check value, or else a tunnel
 * secret); null when nothing is sealed yet. Reads only: `tunnelplane doctor` asks it.
 */
export async function keyOpensDatabase(
  secrets: SecretBox,
  deps: { settings: Pick<SettingsRepository, 'get'>; resync: Pick<ResyncRepository, 'sealedSample'> },
): Promise<boolean | null> {
  const sealed = (await deps.settings.get(KEY_CHECK)) ?? (await deps.resync.sealedSample());
  return sealed === null ? null : opens(secrets, sealed);
}

export const keyMismatch = () =>
  new StartupError({
    key: 'secretKey',
    message:
      'this key cannot open the secrets the database holds: they were sealed with another key (another replica, or an earlier start, used a different one)',
    fix: 'give every replica the same secretKey or secretKeyFile, the one this database was first used with',
  });

/** The key that seals tunnel secrets in the database, and where it comes from. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/index.js';

/** The key sealing tunnel secrets: given, read from a file, or (SQLite only) kept beside the database. */
export function resolveSecretKey(config: ServerConfig, logger: Logger): Buffer {
  if (config.secretKey) return Buffer.from(config.secretKey, 'base64');
  let file = config.secretKeyFile;
  if (!file) {
    if (/^postgres(ql)?:/.test(config.database.url)) {
      throw new Error(
        'secretKey or secretKeyFile is required with PostgreSQL (every replica must share the key)',
      );
    }
    const dbPath = config.database.url.replace(/^sqlite:/, '');
    file = resolve(dbPath === ':memory:' ? '.' : dirname(dbPath), 'secret.key');
  }
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

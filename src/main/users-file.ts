/** `users.file`: the users a file names, created or brought in line with it at start. */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { hashPassword, verifyPassword } from '../domain/passwords.js';
import type { Store } from '../store/index.js';

/**
 * users.json: `{"name": "password"}` (plaintext, hashed here) or `{"name": {"password"|"passwordHash", "role"}}`.
 * Creating is idempotent (replicas starting together on one database all succeed). For users
 * that exist, the file sets the role; a password set in the file wins over one changed since
 * (`tunnelplane user passwd`, the API) only when the file's password differs from what the file
 * said last time: see the operator guide.
 */
export async function syncUsersFile(
  store: Pick<Store, 'users'>,
  file: string,
  admins: readonly string[],
  logger: Logger,
) {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${file}: expected an object of user name → password`);
  let created = 0;
  let updated = 0;
  for (const [name, entry] of Object.entries(doc)) {
    const spec =
      typeof entry === 'string'
        ? { password: entry }
        : (entry as { password?: string; passwordHash?: string; role?: string });
    const role = spec.role === 'admin' || admins.includes(name) ? 'admin' : 'user';
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
      throw new Error(`${file}: user name ${JSON.stringify(name)} is invalid`);
    const given = spec.passwordHash ?? (spec.password?.startsWith('scrypt$') ? spec.password : undefined);
    const existing = await store.users.byName(name);
    if (!existing) {
      const made = await store.users.ensure({
        name,
        passwordHash: given ?? (await hashPassword(spec.password ?? '')),
        role,
      });
      if (made.created) created++;
      continue;
    }
    const same = given
      ? given === existing.password_hash
      : await verifyPassword(spec.password ?? '', existing.password_hash);
    if (!same || existing.role !== role) {
      await store.users.update(existing.id, {
        ...(same ? {} : { password_hash: given ?? (await hashPassword(spec.password ?? '')) }),
        role,
      });
      updated++;
    }
  }
  logger.info({ file, created, updated }, 'users file synchronised');
}

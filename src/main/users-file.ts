/** `users.file`: the users a file names, created or brought in line with it at start. */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { hashPassword, verifyPassword } from '../domain/passwords.js';
import type { Store } from '../store/index.js';

/** Where the hash the file last set for a user is kept: what tells "the file changed" from "the password changed". */
const lastSetKey = (name: string) => `users-file:${name}`;

/**
 * users.json: `{"name": "password"}` (plaintext, hashed here) or `{"name": {"password"|"passwordHash", "role"}}`.
 * Creating is idempotent (replicas starting together on one database all succeed). For users
 * that exist, the file sets the role. Passwords: the file seeds them, and a password changed
 * since (`tunnelplane user passwd`, the API, an admin's reset) wins until the file's entry for
 * that user changes — then the file's new password wins. (The first sync after an upgrade,
 * with nothing remembered, lets the file win as before.) See the operator guide.
 */
export async function syncUsersFile(
  store: Pick<Store, 'users' | 'settings'>,
  file: string,
  admins: readonly string[],
  logger: Logger,
) {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${file}: expected an object of user name → password`);
  let created = 0;
  let updated = 0;
  let kept = 0;
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
      if (made.created) {
        created++;
        await store.settings.set(lastSetKey(name), made.user.password_hash);
      }
      continue;
    }
    const matches = (hash: string) =>
      given ? Promise.resolve(given === hash) : verifyPassword(spec.password ?? '', hash);
    const lastSet = await store.settings.get(lastSetKey(name));
    // The file's entry is what it was when it last set the password: a change since stays.
    const fileUnchanged = lastSet !== null && (await matches(lastSet));
    const same = fileUnchanged || (await matches(existing.password_hash));
    if (fileUnchanged && lastSet !== existing.password_hash) kept++;
    let hash = existing.password_hash;
    if (!same || existing.role !== role) {
      if (!same) hash = given ?? (await hashPassword(spec.password ?? ''));
      await store.users.update(existing.id, { ...(same ? {} : { password_hash: hash }), role });
      updated++;
    }
    if (!fileUnchanged) await store.settings.set(lastSetKey(name), hash);
  }
  logger.info({ file, created, updated, keptChangedPasswords: kept }, 'users file synchronised');
}

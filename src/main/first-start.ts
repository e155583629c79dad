/**
 * A new installation is usable without a shell in its pod: when no enabled admin exists, `serve`
 * creates the initial admin with the configured password (`users.initialAdminPassword`, or the
 * file a Secret mounts), or — with none — an admin without a password and a one-hour admin API
 * token, printed once to stderr (never into the structured log), for them to set a password or
 * configure single sign-on. Replicas starting together make one admin: whoever creates the row
 * prints the token; the others print nothing.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/index.js';
import { hashApiToken, hashPassword, newApiToken } from '../domain/passwords.js';
import { NO_PASSWORD, type Store } from '../store/index.js';

export const BOOTSTRAP_TOKEN_MINUTES = 60;

export async function firstStart(
  store: Pick<Store, 'users' | 'tokens' | 'events'>,
  users: ServerConfig['users'],
  logger: Pick<Logger, 'info' | 'warn'>,
  print: (line: string) => void = (line) => process.stderr.write(line),
): Promise<'exists' | 'password' | 'token' | 'none'> {
  if ((await store.users.countAdmins()) > 0) return 'exists';
  const password = users.initialAdminPassword ?? readPasswordFile(users.initialAdminPasswordFile, logger);
  if (password === undefined && !users.bootstrapToken) return 'none';
  if (password !== undefined && password.length < 8)
    throw new Error('users.initialAdminPasswordFile: the password must be at least 8 characters');
  const existing = await store.users.byName(users.initialAdmin);
  if (existing) {
    // A person of that name who is not an admin: make them one only with a password given.
    if (password === undefined) {
      logger.warn(
        { user: users.initialAdmin },
        'no enabled admin, and the initial admin name is taken by a user: set users.initialAdminPassword, or promote someone with `tunnelplane user`',
      );
      return 'none';
    }
    await store.users.update(existing.id, {
      role: 'admin',
      disabled: 0,
      password_hash: await hashPassword(password),
    });
    logger.info(
      { user: users.initialAdmin },
      'initial admin: an existing user made admin with the configured password',
    );
    return 'password';
  }
  const made = await store.users.ensure({
    name: users.initialAdmin,
    passwordHash: password !== undefined ? await hashPassword(password) : NO_PASSWORD,
    role: 'admin',
  });
  if (!made.created) return 'exists';
  await store.events.append({
    ownerId: made.user.id,
    actor: 'tunnelplane',
    action: 'user.create',
    target: made.user.name,
    outcome: 'ok',
    details: { initialAdmin: true, with: password !== undefined ? 'password' : 'bootstrap token' },
  });
  if (password !== undefined) {
    logger.info({ user: made.user.name }, 'initial admin created with the configured password');
    return 'password';
  }
  const secret = newApiToken();
  const expiresAt = new Date(Date.now() + BOOTSTRAP_TOKEN_MINUTES * 60_000).toISOString();
  await store.tokens.create({
    userId: made.user.id,
    name: 'bootstrap',
    tokenHash: hashApiToken(secret),
    expiresAt,
    scopes: 'read write admin',
  });
  logger.warn(
    { user: made.user.name, expiresAt },
    'first start: initial admin created with a one-time bootstrap token (printed once on stderr)',
  );
  print(
    [
      '',
      `First start: no admin existed, so "${made.user.name}" was created with this one-time API token (valid ${BOOTSTRAP_TOKEN_MINUTES} min, shown once):`,
      `  ${secret}`,
      `Set a password with it:  curl -X PUT -H "Authorization: Bearer ${secret.slice(0, 6)}…" -H 'content-type: application/json' \\`,
      `  -d '{"password":"…"}' <server>/api/v1/admin/users/${made.user.name}/password`,
      `or: TUNNELCTL_TOKEN=<token> tunnelctl admin users passwd ${made.user.name}`,
      '',
    ].join('\n') + '\n',
  );
  return 'token';
}

/** The mounted Secret's password; a missing file (the key left out of the Secret) means none. */
function readPasswordFile(file: string | undefined, logger: Pick<Logger, 'info'>): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    logger.info(
      { file },
      'users.initialAdminPasswordFile: no such file; the first admin gets a bootstrap token',
    );
    return undefined;
  }
}

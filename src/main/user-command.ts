/** `tunnelplane user add|passwd|remove|list`: the users in the database, each change recorded as an event. */
import { parseArgs } from 'node:util';
import { hashPassword } from '../domain/passwords.js';
import { randomLabel } from '../domain/names.js';
import { connectStore } from '../store/index.js';
import { loadConfigLoose } from './server-config.js';
import { UsageError } from './usage.js';

async function readPassword(fromStdin: boolean): Promise<{ password: string; generated: boolean }> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (password.length < 8) throw new UsageError('the password must be at least 8 characters');
    return { password, generated: false };
  }
  return { password: randomLabel(20), generated: true };
}

/** A generated password (no --password-stdin) is printed once. */
export async function userCommand(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      config: { type: 'string', short: 'c' },
      database: { type: 'string' },
    },
    strict: true,
  });
  const [verb, name, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const url = loadConfigLoose(values.config, values.database);
  const { store, close } = await connectStore(url);
  try {
    if (verb === 'list') {
      for (const u of await store.users.list())
        process.stdout.write(`${u.name}\t${u.role}\t${u.created_at}\n`);
      return;
    }
    if (!name) throw new UsageError(`Missing parameter: NAME (tunnelplane user ${verb ?? 'add'} NAME)`);
    const existing = await store.users.byName(name);
    switch (verb) {
      case 'add': {
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
          throw new UsageError(
            `user name ${JSON.stringify(name)} is invalid: use 1-64 of A-Z a-z 0-9 . _ @ -`,
          );
        const { password, generated } = await readPassword(values['password-stdin']!);
        const created = await store.users.create({
          name,
          passwordHash: await hashPassword(password),
          role: values.admin ? 'admin' : 'user',
        });
        await store.events.append({
          ownerId: created.id,
          actor: 'cli',
          action: 'user.add',
          target: name,
          outcome: 'ok',
          details: { role: created.role },
        });
        process.stdout.write(generated ? `created ${name}; password: ${password}\n` : `created ${name}\n`);
        return;
      }
      case 'passwd': {
        if (!existing) throw new UsageError(`no user named ${name}`);
        const { password, generated } = await readPassword(values['password-stdin']!);
        await store.users.update(existing.id, { password_hash: await hashPassword(password) });
        await store.events.append({
          ownerId: existing.id,
          actor: 'cli',
          action: 'user.passwd',
          target: name,
          outcome: 'ok',
        });
        process.stdout.write(
          generated ? `password of ${name}: ${password}\n` : `password of ${name} changed\n`,
        );
        return;
      }
      case 'remove': {
        if (!existing) throw new UsageError(`no user named ${name}`);
        await store.users.remove(existing.id);
        await store.events.append({
          ownerId: null,
          actor: 'cli',
          action: 'user.remove',
          target: name,
          outcome: 'ok',
        });
        process.stdout.write(`removed ${name}\n`);
        return;
      }
      default:
        throw new UsageError(
          `unknown user command ${JSON.stringify(verb ?? '')}: use add, passwd, remove or list`,
        );
    }
  } finally {
    await close();
  }
}

/** users.json against a password changed since: the change stays until the file's entry changes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../domain/passwords.js';
import { connectStore, type Store } from '../store/index.js';
import { syncUsersFile } from './users-file.js';

describe('syncUsersFile', () => {
  let dir: string;
  let store: Store;
  let close: () => Promise<void>;
  const file = () => join(dir, 'users.json');
  const write = (doc: object) => writeFileSync(file(), JSON.stringify(doc));
  const sync = () => syncUsersFile(store, file(), [], pino({ level: 'silent' }));
  const passwordOf = async (name: string, password: string) =>
    verifyPassword(password, (await store.users.byName(name))!.password_hash);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'users-file-'));
    ({ store, close } = await connectStore(`sqlite:${join(dir, 'db.sqlite')}`));
  });
  afterEach(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a password changed since the file set it, until the file says something new', async () => {
    write({ alice: 'first-password', bob: { password: 'bob-password', role: 'admin' } });
    await sync();
    expect(await passwordOf('alice', 'first-password')).toBe(true);
    expect((await store.users.byName('bob'))!.role).toBe('admin');

    // `tunnelplane user passwd` (or the API) changes it: the next start keeps it.
    const alice = (await store.users.byName('alice'))!;
    await store.users.update(alice.id, { password_hash: await hashPassword('changed-password') });
    await sync();
    expect(await passwordOf('alice', 'changed-password')).toBe(true);

    // The file's entry changes: the file wins.
    write({ alice: 'second-password', bob: { password: 'bob-password', role: 'admin' } });
    await sync();
    expect(await passwordOf('alice', 'second-password')).toBe(true);
    await sync();
    expect(await passwordOf('alice', 'second-password')).toBe(true);
  });

  it('lets the file win at the first sync that remembers nothing (an upgraded installation)', async () => {
    await store.users.create({
      name: 'carol',
      passwordHash: await hashPassword('db-password'),
      role: 'user',
    });
    write({ carol: 'file-password' });
    await sync();
    expect(await passwordOf('carol', 'file-password')).toBe(true);
  });
});

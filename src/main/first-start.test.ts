/** First start: the initial admin from a password (a Secret), or a one-time bootstrap token; never twice. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiToken, verifyPassword } from '../domain/passwords.js';
import { connectStore, type Store } from '../store/index.js';
import { firstStart } from './first-start.js';

const users = (over: object = {}) => ({
  admins: [],
  initialAdmin: 'admin',
  bootstrapToken: true,
  ...over,
});

describe('firstStart', () => {
  let dir: string;
  let store: Store;
  let close: () => Promise<void>;
  const log = pino({ level: 'silent' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'first-start-'));
    ({ store, close } = await connectStore(`sqlite:${join(dir, 'db.sqlite')}`));
  });
  afterEach(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the initial admin with the password a Secret mounts, once', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'from-the-secret\n');
    expect(await firstStart(store, users({ initialAdminPasswordFile: file }), log)).toBe('password');
    const admin = (await store.users.byName('admin'))!;
    expect(admin.role).toBe('admin');
    expect(await verifyPassword('from-the-secret', admin.password_hash)).toBe(true);
    expect(await firstStart(store, users({ initialAdminPasswordFile: file }), log)).toBe('exists');
  });

  it('without a password, prints a one-hour admin token once; the token works and nothing else is printed later', async () => {
    const printed: string[] = [];
    expect(await firstStart(store, users(), log, (l) => printed.push(l))).toBe('token');
    const secret = /\n {2}(tp_\S+)\n/.exec(printed.join(''))![1]!;
    const row = (await store.tokens.byHash(hashApiToken(secret)))!;
    expect(row.scopes).toBe('read write admin');
    const minutes = (Date.parse(row.expires_at!) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(55);
    expect(minutes).toBeLessThanOrEqual(60);
    expect(await firstStart(store, users(), log, (l) => printed.push(l))).toBe('exists');
    expect(printed).toHaveLength(1);
    // Replicas starting together: one admin, one token.
    const other = await connectStore(`sqlite:${join(dir, 'db.sqlite')}`);
    expect(await firstStart(other.store, users(), log, (l) => printed.push(l))).toBe('exists');
    await other.close();
  });

  it('does nothing when an admin exists or bootstrap is off', async () => {
    expect(await firstStart(store, users({ bootstrapToken: false }), log)).toBe('none');
    expect(await store.users.byName('admin')).toBeUndefined();
    await store.users.create({ name: 'root', passwordHash: 'x', role: 'admin' });
    expect(await firstStart(store, users(), log)).toBe('exists');
  });
});

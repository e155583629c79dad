import { describe, expect, it } from 'vitest';
import { createAuthenticator } from './auth.js';
import { hashPassword } from '../domain/passwords.js';
import type { Store } from '../store/index.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function fakeStore() {
  const user = { id: 'u1', name: 'alice', password_hash: await hashPassword('right-password'), role: 'user' };
  const lookups = { byName: 0 };
  const store = {
    users: {
      byName: async (n: string) => {
        lookups.byName++;
        return n === user.name ? user : undefined;
      },
      byId: async (id: string) => (id === user.id ? user : undefined),
    },
    tokens: {},
  } as unknown as Store;
  return { store, user, lookups };
}

describe('authenticator', () => {
  it('verifies once, then answers from the cache until the password changes', async () => {
    const { store, user, lookups } = await fakeStore();
    const auth = createAuthenticator({ store });
    expect((await auth.authenticate(basic('alice', 'right-password'))).user.name).toBe('alice');
    expect((await auth.authenticate(basic('alice', 'right-password'))).user.name).toBe('alice');
    expect(lookups.byName).toBe(1);
    user.password_hash = await hashPassword('new-password');
    await expect(auth.authenticate(basic('alice', 'right-password'))).rejects.toMatchObject({ code: 'auth.invalid' });
  });

  it('remembers a failed pair without hashing again, and bounds concurrent hashing', async () => {
    const { store, lookups } = await fakeStore();
    const auth = createAuthenticator({ store, maxHashing: 1, maxQueued: 2 });
    await expect(auth.authenticate(basic('alice', 'wrong'))).rejects.toMatchObject({ code: 'auth.invalid' });
    const before = lookups.byName;
    await expect(auth.authenticate(basic('alice', 'wrong'))).rejects.toMatchObject({ code: 'auth.invalid' });
    expect(lookups.byName).toBe(before);

    const attempts = Array.from({ length: 6 }, (_, i) => auth.authenticate(basic('mallory', `guess-${i}`)).catch((e) => e.code));
    const codes = await Promise.all(attempts);
    expect(codes.filter((c) => c === 'auth.busy').length).toBeGreaterThanOrEqual(3);
    expect(codes.filter((c) => c === 'auth.invalid').length).toBeGreaterThanOrEqual(1);
    // Budget is released: a real user still gets in.
    expect((await auth.authenticate(basic('alice', 'right-password'))).user.name).toBe('alice');
  });

  it('rejects malformed headers and schemes', async () => {
    const { store } = await fakeStore();
    const auth = createAuthenticator({ store });
    await expect(auth.authenticate(undefined)).rejects.toMatchObject({ code: 'auth.required', status: 401 });
    for (const h of ['Basic', 'Digest abc', 'Basic !!!', 'Bearer nottp', `Basic ${Buffer.from('nocolon').toString('base64')}`]) {
      await expect(auth.authenticate(h)).rejects.toMatchObject({ code: 'auth.invalid' });
    }
  });
});

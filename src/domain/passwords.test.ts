import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD_PARAMS,
  dummyPasswordHash,
  hashApiToken,
  hashPassword,
  needsRehash,
  verifyPassword,
} from './passwords.js';

/** A hash as older code (or an import) made it, with the given parameters. */
const made = (password: string, N: number, r: number, p: number, keyBytes = 32, saltBytes = 16) => {
  const salt = Buffer.alloc(saltBytes, 7);
  const key = scryptSync(password, salt, keyBytes, { N, r, p, maxmem: 256 * 1024 * 1024 });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
};

describe('password hashes', () => {
  it('uses an OWASP scrypt setting of at most 16 MiB', () => {
    const owasp = [
      [2 ** 17, 8, 1],
      [2 ** 16, 8, 2],
      [2 ** 15, 8, 3],
      [2 ** 14, 8, 5],
      [2 ** 13, 8, 10],
    ];
    const { N, r, p } = PASSWORD_PARAMS;
    expect(owasp).toContainEqual([N, r, p]);
    expect(128 * N * r).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('hashes with those parameters, a 16-byte salt and a 32-byte key, salted anew each time', async () => {
    const stored = await hashPassword('s3cret');
    const [scheme, N, r, p, salt, key] = stored.split('$');
    expect({ scheme, N: Number(N), r: Number(r), p: Number(p) }).toEqual({
      scheme: 'scrypt',
      ...PASSWORD_PARAMS,
    });
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await hashPassword('s3cret')).not.toBe(stored);
    expect(await verifyPassword('s3cret', stored)).toBe(true);
    expect(await verifyPassword('s3cret ', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it.each([
    ['the previous default (N=2^14, r=8, p=1: more memory, a fifth of the work)', made('pw', 2 ** 14, 8, 1)],
    ['a weaker one (N=2^10)', made('pw', 2 ** 10, 8, 1)],
    ['less work (p=9)', made('pw', 2 ** 13, 8, 9)],
    ['less memory, more work (N=2^12, p=40)', made('pw', 2 ** 12, 8, 40)],
    ['a 16-byte key', made('pw', 2 ** 13, 8, 10, 16)],
    ['an 8-byte salt', made('pw', 2 ** 13, 8, 10, 32, 8)],
  ])('still verifies %s, and asks for a rehash', async (_what, stored) => {
    expect(await verifyPassword('pw', stored)).toBe(true);
    expect(await verifyPassword('pW', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(true);
  });

  // Rehashing these with the current parameters would weaken them.
  it.each([
    ['another OWASP setting (N=2^14, p=5: twice the memory, the same work)', made('pw', 2 ** 14, 8, 5)],
    ['OWASP minimum (N=2^17, r=8, p=1)', made('pw', 2 ** 17, 8, 1)],
    ['more work (p=11)', made('pw', 2 ** 13, 8, 11)],
    ['a larger block (r=16)', made('pw', 2 ** 13, 16, 10)],
    ['a 64-byte key', made('pw', 2 ** 13, 8, 10, 64)],
    ['a 32-byte salt', made('pw', 2 ** 13, 8, 10, 32, 32)],
  ])('still verifies %s, and never asks for a rehash (no downgrade)', async (_what, stored) => {
    expect(await verifyPassword('pw', stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
  });

  it.each([
    ['another scheme', '$2b$10$abcdefghijklmnopqrstuv'],
    ['too few fields', 'scrypt$16384$8$1$c2FsdA=='],
    ['a non-numeric N', 'scrypt$abc$8$1$c2FsdA==$a2V5'],
    ['N not a power of two', 'scrypt$1000$8$1$c2FsdA==$a2V5'],
    ['r of zero', 'scrypt$16384$0$1$c2FsdA==$a2V5'],
    ['an empty key', 'scrypt$16384$8$1$c2FsdA==$'],
    ['nothing', ''],
  ])('treats a hash with %s as never matching (and nothing to rehash)', async (_what, stored) => {
    expect(await verifyPassword('pw', stored)).toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it('makes dummy hashes that look current and match nothing', async () => {
    const dummy = dummyPasswordHash();
    expect(needsRehash(dummy)).toBe(false);
    expect(dummy).not.toBe(dummyPasswordHash());
    expect(await verifyPassword('', dummy)).toBe(false);
  });
});

describe('API token hashes', () => {
  it('are the hex SHA-256 of the token as UTF-8, as stored tokens were hashed', () => {
    // `sha256sum` of the same bytes: tokens stored before the one-shot hash still match.
    expect(hashApiToken('tp_éxample')).toBe(
      '2231f83ec8745880ed51593f04be942e0502c5393fe40e0bc7b293af634e1ff1',
    );
  });
});

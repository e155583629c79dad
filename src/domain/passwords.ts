/**
 * Password and API-token hashing. Passwords: scrypt with a per-password salt, parameters kept
 * in the hash (`scrypt$N$r$p$salt$key`) so they can be raised: `verifyPassword` reads any
 * parameters, `needsRehash` tells which hashes are weaker than the current ones. API tokens
 * are 256-bit random strings, so a plain SHA-256 is enough to store them.
 *
 * Parameters: N=2^13, r=8, p=10, one of OWASP's equivalents of its scrypt minimum (N=2^17, r=8,
 * p=1), chosen for memory. scrypt needs 128·N·r bytes whatever p is (OpenSSL runs the p lanes
 * one after another over one buffer): 8 MiB here, 128 MiB at N=2^17. The server targets
 * < 200 MiB of RSS and runs two checks at once: two N=2^17 checks alone would take 256 MiB.
 * Below 32 MiB, glibc serves the buffer from per-thread arenas that keep it after the hash:
 * measured, a process that hashed on its four libuv threads keeps 32 MiB at N=2^13 and 64 MiB
 * at N=2^14 (the hashes stored until now, and N=2^14, p=5). The price is less memory per guess
 * for an attacker's hardware, paid back in CPU (p=10), as OWASP's table allows. One hash took
 * ~0.3 s on the 2-core machine (the old N=2^14, p=1: ~0.07 s).
 */
import { hash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** The parameters of new hashes. */
export const PASSWORD_PARAMS: Readonly<{ N: number; r: number; p: number }> = Object.freeze({
  N: 2 ** 13,
  r: 8,
  p: 10,
});
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Enough for hashes made with up to 128 MiB (N=2^17, r=8), which older or imported hashes may use.
const MAX_MEM = 256 * 1024 * 1024;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N < 2 || !Number.isInteger(Math.log2(N)))
    return null;
  const key = Buffer.from(parts[5]!, 'base64');
  if (key.length === 0) return null;
  return { N, r, p, salt: Buffer.from(parts[4]!, 'base64'), key };
}

const format = (params: { N: number; r: number; p: number }, salt: Buffer, key: Buffer) =>
  `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, { ...PASSWORD_PARAMS, maxmem: MAX_MEM });
  return format(PASSWORD_PARAMS, salt, key);
}

/** Checks a password against a stored hash of any parameters; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.key.length, {
    N: parsed.N,
    r: parsed.r,
    p: parsed.p,
    maxmem: MAX_MEM,
  });
  return timingSafeEqual(key, parsed.key);
}

/**
 * Whether a stored hash is weaker than new hashes are: hash the password again at the next
 * successful sign-in. Weaker in any one of memory (128·N·r bytes), work (N·r·p), salt or key
 * length; a hash at least as strong in all of them is kept, so a stronger hash (an OWASP
 * setting of more memory, an imported one) is never replaced by the current parameters. The
 * previous default (N=2^14, p=1: below OWASP's minimum) has more memory but a fifth of the work,
 * and is replaced. Hashes that cannot be read never verify, so there is nothing to rehash.
 */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return false;
  const { N, r, p } = PASSWORD_PARAMS;
  return (
    parsed.N * parsed.r < N * r ||
    parsed.N * parsed.r * parsed.p < N * r * p ||
    parsed.salt.length < SALT_BYTES ||
    parsed.key.length < KEY_BYTES
  );
}

/**
 * A well-formed hash, with the current parameters, of no password anyone knows: checking
 * unknown users against it costs the same time as checking a real user.
 */
export function dummyPasswordHash(): string {
  return format(PASSWORD_PARAMS, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));
}

export const API_TOKEN_PREFIX = 'tp_';

export function newApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256, hex: every bearer request hashes its token (the one-shot `hash` costs half a `createHash`). */
export function hashApiToken(token: string): string {
  return hash('sha256', token, 'hex');
}

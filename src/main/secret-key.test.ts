/** The start-up check that every replica (and every restart) seals with the key the database was first used with. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../domain/secret-box.js';
import { checkSecretKey, KEY_CHECK } from './secret-key.js';
import { StartupError } from './startup.js';

const box = () => createSecretBox(randomBytes(32));

/** The settings and the one tunnel secret the check reads, in memory. */
function database(tunnelSecret: string | null = null) {
  const settings = new Map<string, string>();
  return {
    settings,
    deps: {
      settings: {
        get: async (name: string) => settings.get(name) ?? null,
        setOnce: async (name: string, value: string) => {
          if (!settings.has(name)) settings.set(name, value);
          return settings.get(name)!;
        },
      },
      resync: { sealedSample: async () => tunnelSecret },
    },
  };
}

const refusal = async (check: Promise<void>) => {
  try {
    await check;
    return null;
  } catch (err) {
    return err instanceof StartupError ? err.problem?.key : String(err);
  }
};

describe('checkSecretKey', () => {
  it('seals a value into a new database; the same key opens it at every later start', async () => {
    const key = box();
    const db = database();
    await checkSecretKey(key, db.deps);
    const sealed = db.settings.get(KEY_CHECK)!;
    expect(key.open(sealed)).toBeInstanceOf(Buffer);
    await checkSecretKey(key, db.deps);
    expect(db.settings.get(KEY_CHECK)).toBe(sealed);
  });

  it('refuses another key, naming secretKey, and leaves the check as it was', async () => {
    const db = database();
    await checkSecretKey(box(), db.deps);
    const sealed = db.settings.get(KEY_CHECK);
    expect(await refusal(checkSecretKey(box(), db.deps))).toBe('secretKey');
    expect(db.settings.get(KEY_CHECK)).toBe(sealed);
  });

  it.each([
    ['the key that sealed its tunnels', true, null],
    ['another key', false, 'secretKey'],
  ])('on a database from before the check (tunnels, no check), with %s: %s', async (_what, same, refused) => {
    const first = box();
    const db = database(first.seal(Buffer.from('a tunnel secret')));
    expect(await refusal(checkSecretKey(same ? first : box(), db.deps))).toBe(refused);
    expect(db.settings.has(KEY_CHECK)).toBe(same);
  });

  it('replicas starting together on an empty database agree on the first check written', async () => {
    const key = box();
    const db = database();
    await Promise.all([checkSecretKey(key, db.deps), checkSecretKey(key, db.deps)]);
    expect(await refusal(checkSecretKey(box(), db.deps))).toBe('secretKey');
    await checkSecretKey(key, db.deps);
  });
});

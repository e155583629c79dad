import { describe, expect, it } from 'vitest';
import { dropDatabase } from './scratch-database.js';

/** A client whose DROP fails with the given codes, in order, then succeeds. */
function client(codes: string[]) {
  const statements: string[] = [];
  return {
    statements,
    query: (async (text: string) => {
      statements.push(text);
      const code = codes.shift();
      if (code) throw Object.assign(new Error(`failed with ${code}`), { code });
      return { rows: [] };
    }) as never,
  };
}

describe('dropping a scratch database', () => {
  it('waits out an autovacuum worker the owner may not signal (42501), then drops', async () => {
    const c = client(['42501', '42501']);
    await dropDatabase(c, 'tp_x');
    expect(c.statements).toEqual(Array(3).fill('DROP DATABASE IF EXISTS tp_x WITH (FORCE)'));
  });

  it('gives up after its wait, with the server’s error', async () => {
    const c = client(Array(100).fill('42501'));
    await expect(dropDatabase(c, 'tp_x', 150)).rejects.toMatchObject({ code: '42501' });
  });

  it('does not retry any other error', async () => {
    const c = client(['3D000']);
    await expect(dropDatabase(c, 'tp_x')).rejects.toMatchObject({ code: '3D000' });
    expect(c.statements).toHaveLength(1);
  });
});

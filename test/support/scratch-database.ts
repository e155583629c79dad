/**
 * A PostgreSQL database of a test's own, created from the e2e URL's credentials (the role has
 * CREATEDB) and dropped at the end, so test files running at the same time never share one.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Runs SQL as the owner on the scratch database itself. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  /**
   * The database goes away as in a restart: new connections are refused and every open one is
   * ended (the server's 57P01, "terminating connection due to administrator command").
   */
  goAway(): Promise<void>;
  /** It comes back. */
  comeBack(): Promise<void>;
  drop(): Promise<void>;
}

async function onDatabase<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createScratchDatabase(
  baseUrl: string,
  prefix = 'tp_scratch',
): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await onDatabase(baseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    name,
    query: async <T>(text: string, values?: unknown[]) =>
      onDatabase(url, async (c) => (await c.query(text, values)).rows as T[]),
    goAway: () =>
      onDatabase(baseUrl, async (c) => {
        await c.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
        await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
      }),
    comeBack: () =>
      onDatabase(baseUrl, async (c) => {
        await c.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      }),
    drop: () => onDatabase(baseUrl, (c) => dropDatabase(c, name)),
  };
}

/** PostgreSQL's "insufficient_privilege", and "object_in_use" (another session is in it). */
const WAIT_OUT = new Set(['42501', '55006']);

/**
 * `DROP DATABASE … WITH (FORCE)` ends the owner's own sessions in it, but PostgreSQL 15 refuses
 * the whole statement (42501, "must be a member of the role whose process is being terminated")
 * when an autovacuum worker happens to be in the database, since that worker has no role the
 * owner may signal. The worker ends by itself in moments, so the drop is tried again for a while.
 */
export async function dropDatabase(
  c: Pick<pg.Client, 'query'>,
  name: string,
  waitMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!WAIT_OUT.has(code ?? '') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

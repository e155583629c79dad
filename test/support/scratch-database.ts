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
    drop: () =>
      onDatabase(baseUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

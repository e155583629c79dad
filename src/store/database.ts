/**
 * Opens the database behind one Kysely interface: SQLite (better-sqlite3, WAL) for the embedded
 * default, PostgreSQL (pg) for a `postgres://` URL. Runs migrations on request.
 */
import { mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider, type Dialect } from './migrations.js';

export interface DatabaseOptions {
  poolSize?: number;
  /**
   * Errors of idle PostgreSQL connections (the server restarted, an administrator ended the
   * session: 57P01). The pool drops the connection and opens a new one on the next query;
   * without a listener such an error would end the process.
   */
  onPoolError?: (err: Error) => void;
  /** PostgreSQL: how long a statement waits for a lock before it fails (and is retried by its caller). */
  lockTimeoutMs?: number;
}

/**
 * Whether an error means the database cannot be reached right now (down, restarting, refusing
 * connections, busy), as opposed to a bad statement: requests answer 503 and retry.
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    /^08/.test(code) || // connection exception
    // Shut down, too many connections, not ready, no database; a lock held too long, a cycle retried and lost.
    ['57P01', '57P02', '57P03', '53300', '55000', '3D000', '55P03', '40P01', '40001'].includes(code) ||
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'SQLITE_BUSY',
      'SQLITE_LOCKED',
    ].includes(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
      message,
    )
  );
}

/**
 * The hottest read (the authenticating user, on every request) without Kysely: its connection
 * mutex and a promise per step cost more than the query. SQLite only, on a second, read-only
 * connection, so that it never sees a transaction the write connection has open between awaits
 * (each statement reads the last commit, as a query on another replica would).
 */
export interface HotReads {
  get<T>(sql: string, parameters: readonly unknown[]): T | undefined;
  /**
   * A number that changes once any connection has committed (this process's write connection,
   * another replica, an operator's SQL), as SQLite's `PRAGMA data_version` on the hot
   * connection, which never writes: counted from the WAL index's header, which every commit
   * rewrites (`walIndexHeader`), or that pragma where there is no WAL index.
   */
  dataVersion(): number;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite files: the hot reads' own connection (none in memory, nor on PostgreSQL). */
  hotReads?: HotReads;
  migrate(): Promise<string[]>;
  /** The migrations not applied yet (`tunnelplane doctor`: connects without migrating). */
  pending(): Promise<string[]>;
  close(): Promise<void>;
}

/** `sqlite:PATH`, `sqlite::memory:`, a bare file path, or `postgres(ql)://…`. */
export function openDatabase(url: string, opts: DatabaseOptions = {}): OpenedDatabase {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let hot: ReturnType<typeof readOnlyConnection> | undefined;
  if (/^postgres(ql)?:\/\//.test(url)) {
    dialect = 'postgres';
    // A bounded wait for a connection: a request answers 503 rather than hanging while the server is away.
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // A replica paused or cut off while holding a lock must not stall the others until TCP
      // keepalive notices: waits for a lock end, and so does a transaction left idle.
      lock_timeout: opts.lockTimeoutMs ?? 10_000,
      idle_in_transaction_session_timeout: 60_000,
    });
    pool.on('error', (err) => opts.onPoolError?.(err));
    // A client checked out but between queries (inside a transaction) reports a lost connection
    // as an 'error' event the pool does not catch. Its next query fails and is reported where it
    // was made; an idle client's error also reaches the pool listener above.
    pool.on('connect', (client) => client.on('error', () => {}));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    dialect = 'sqlite';
    const path = url.replace(/^sqlite:/, '');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    if (path !== ':memory:') hot = readOnlyConnection(path);
  }
  return {
    db,
    dialect,
    ...(hot ? { hotReads: hot.reads } : {}),
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    async pending() {
      const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
      return (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
    },
    async close() {
      hot?.close();
      await db.destroy();
    },
  };
}

/**
 * The WAL index's header (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): the
 * first 96 bytes of the `-shm` file, two copies of a 48-byte header that every commit rewrites
 * (`iChange` counts transactions; `mxFrame`, the checksums and the salts move with it) and that
 * every connection compares with the copy it saw last to learn whether another has committed.
 * The file is shared memory: a `pread` sees a store at once. Reading the bytes takes no lock;
 * SQLite's own check (`PRAGMA data_version`) begins a read transaction, two `fcntl` lock calls
 * (1.8 µs in a loop against 0.8; in place, between requests, it was ~10 % of a cached answer).
 * Bytes read while a commit rewrites them differ from what was seen: a change, which is what
 * they are about to be; a commit not begun by then is one the request did not wait for.
 *
 * The descriptor is never closed: SQLite's locks are POSIX locks, the process's and not a
 * descriptor's, so closing any descriptor of the file releases the locks every connection of
 * this process holds on it (another store's writer's WAL lock, mid-transaction: another process
 * could then commit under it). One descriptor per database opened, for the process's life.
 */
function walIndexHeader(shmPath: string) {
  let fd: number | undefined;
  try {
    fd = openSync(shmPath, 'r');
  } catch {
    return undefined;
  }
  const seen = Buffer.alloc(96);
  const read = Buffer.alloc(96);
  let commits = 0;
  return {
    /** A count that moves once the header has (at the first call too). */
    commits(): number {
      if (readSync(fd!, read, 0, 96, 0) !== 96 || commits === 0 || !read.equals(seen)) {
        read.copy(seen);
        commits++;
      }
      return commits;
    },
  };
}

/**
 * A read-only connection to a SQLite file, opened at its first read (after migrations made
 * the file), with its statements prepared once. SQLite re-prepares one whose schema changed.
 * (Exported for its tests.)
 */
export function readOnlyConnection(path: string) {
  let sqlite: ReturnType<typeof withStatementCache> | undefined;
  let header: ReturnType<typeof walIndexHeader> | null | undefined;
  const open = () => {
    if (!sqlite) {
      const connection = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
      connection.pragma('busy_timeout = 5000');
      sqlite = withStatementCache(connection);
      // Where SQLite keeps the WAL index: beside the file it opened, symbolic links resolved.
      const [main] = connection.pragma('database_list') as Array<{ file: string }>;
      header ??= walIndexHeader(`${main!.file}-shm`) ?? null;
    }
    return sqlite;
  };
  return {
    reads: {
      get<T>(sql: string, parameters: readonly unknown[]): T | undefined {
        return open()
          .prepare(sql)
          .get(...parameters) as T | undefined;
      },
      dataVersion(): number {
        // Opening finds the WAL index too: the first call, or the first after a close.
        const connection = open();
        return header
          ? header.commits()
          : (connection.prepare('PRAGMA data_version').pluck().get() as number);
      },
    },
    close() {
      sqlite?.close();
      sqlite = undefined;
    },
  };
}

/**
 * Kysely prepares every query anew; SQLite's parse and plan is a tenth of a small query's cost.
 * Statements are cached by their SQL (bounded): every use is synchronous (`all`/`run`), so one
 * statement is never in use twice at once.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = 500) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

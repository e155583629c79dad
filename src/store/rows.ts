/**
 * Row types and the small helpers every repository shares: timestamps, keyset cursors, the
 * unique-violation test. Rows stay inside the store and the API's presenters; logic works on
 * the domain types (domain/model.ts) the repositories turn rows into.
 */
import { sql, type Kysely, type Selectable, type SqlBool, type Transaction } from 'kysely';
import { AppError } from '../domain/errors.js';
import type { Database } from './schema.js';

/**
 * A user, with the version of their tunnel list (`tunnel_list_versions`, 0 before their first
 * tunnel) and of what authenticates them besides this row (`auth_versions`: tokens, teams; 0
 * before the first change).
 */
export type UserRow = Selectable<Database['users']> & { tunnels_version: number; auth_version: number };
export type TokenRow = Selectable<Database['api_tokens']>;
export type TunnelRow = Selectable<Database['tunnels']>;
export type RouteRow = Selectable<Database['routes']>;
export type EventRow = Selectable<Database['events']>;

export type Db = Kysely<Database> | Transaction<Database>;

export interface Quotas {
  tunnels: number;
  routes: number;
  /** Routes with Access protection (TCP, people, allow-lists). */
  protectedRoutes: number;
  /** TCP-like routes (each holds a service token). */
  tcpRoutes: number;
}

/** What the whole installation shares of the Cloudflare account. */
export interface AccountCapacity {
  accessApplications: number;
  serviceTokens: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const now = () => new Date().toISOString();
export const later = (ms: number) => new Date(Date.now() + ms).toISOString();

export const encodeCursor = (parts: (string | number)[]) =>
  Buffer.from(JSON.stringify(parts)).toString('base64url');

const badCursor = () =>
  new AppError('request.invalid', 'The cursor is not one this server handed out.', { field: 'cursor' });

export function decodeCursor(cursor: string | undefined): (string | number)[] | null {
  if (!cursor) return null;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.every((p) => typeof p === 'string' || typeof p === 'number'))
      return parts;
  } catch {
    // fall through
  }
  throw badCursor();
}

/** A cursor that must be one positive integer (an event id). */
export function decodeIdCursor(cursor: string | undefined): number | null {
  const parts = decodeCursor(cursor);
  if (!parts) return null;
  const id = parts[0];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw badCursor();
  return id;
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint/.test(e?.message ?? '')
  );
}

/** Statements stay under both databases' bound-parameter limits. */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A tunnel with work to do, as the partial index `tunnels_dirty` (migration 0013) writes it: SQLite
 * uses a partial index only for a query whose WHERE holds the index's own terms as written.
 */
export const DIRTY = sql<SqlBool>`(generation > observed_generation or deleting = 1)`;

// Reading request input the way Cloudflare does: page/per_page pagination that rejects
// out-of-range values (400 6008) and returns `result: []` past the last page (the SDK's stop
// signal), `true`/`false` query booleans, and small typed readers for JSON bodies that
// report the offending field.
import { apiErrors } from './errors.js';
import type { HandlerResult } from './router.js';

export interface PageRequest {
  page: number;
  perPage: number;
}

/** The largest `page` accepted (2^31). */
export const MAX_PAGE = 2 ** 31;

/** Per-endpoint `per_page` default and bounds (Cloudflare's OpenAPI description where it has them). */
export interface PageLimits {
  defaultPerPage: number;
  maxPerPage: number;
  /** Default 1. */
  minPerPage?: number;
}

function integerParam(
  query: URLSearchParams,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = query.get(key);
  if (raw === null) return fallback;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw apiErrors.badPageParameter(`${key} variable must be a number between ${min} and ${max}`);
  }
  return value;
}

/** Reads `page` (1..2^31) and `per_page` (the endpoint's bounds); anything else is a 400. */
export function pageRequest(query: URLSearchParams, limits: PageLimits): PageRequest {
  const perPage = integerParam(
    query,
    'per_page',
    limits.minPerPage ?? 1,
    limits.maxPerPage,
    limits.defaultPerPage,
  );
  return { page: integerParam(query, 'page', 1, MAX_PAGE, 1), perPage };
}

/** One page of `items` with Cloudflare's `result_info`. */
export function paginate<T>(
  items: readonly T[],
  { page, perPage }: PageRequest,
  options: { totalPages?: boolean } = {},
): HandlerResult & { result: T[] } {
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const resultInfo: Record<string, number> = {
    page,
    per_page: perPage,
    count: slice.length,
    total_count: items.length,
  };
  if (options.totalPages) resultInfo.total_pages = Math.ceil(items.length / perPage);
  return { result: slice, resultInfo };
}

/** `true`/`false` (any case) to a boolean; anything else to undefined. */
export function queryBool(query: URLSearchParams, key: string): boolean | undefined {
  const value = query.get(key)?.toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object, or the result of `fail` when it is anything else. */
export function bodyObject(body: unknown, fail: (message: string) => Error): JsonObject {
  if (body === undefined) return {};
  if (!isObject(body)) throw fail('request body must be a JSON object');
  return body;
}

/** A typed field reader bound to one object and one error factory. */
export function fields(obj: JsonObject, fail: (message: string) => Error) {
  return {
    string(key: string, opts: { required?: boolean } = {}): string | undefined {
      const value = obj[key];
      if (value === undefined || value === null) {
        if (opts.required) throw fail(`${key} is required`);
        return undefined;
      }
      if (typeof value !== 'string') throw fail(`${key} must be a string`);
      return value;
    },
    boolean(key: string): boolean | undefined {
      const value = obj[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'boolean') throw fail(`${key} must be a boolean`);
      return value;
    },
    number(key: string): number | undefined {
      const value = obj[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail(`${key} must be a number`);
      return value;
    },
    array(key: string): unknown[] | undefined {
      const value = obj[key];
      if (value === undefined || value === null) return undefined;
      if (!Array.isArray(value)) throw fail(`${key} must be an array`);
      return value;
    },
    object(key: string): JsonObject | undefined {
      const value = obj[key];
      if (value === undefined || value === null) return undefined;
      if (!isObject(value)) throw fail(`${key} must be an object`);
      return value;
    },
  };
}

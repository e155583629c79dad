/**
 * Calls one server and writes down what a client can see of each answer, with what differs by
 * nature (ids, secrets, times, request ids, generated names, the account and the zone) replaced
 * by placeholders: the same scenario on the two servers must then write down the same thing.
 */
import { PASSWORD, type Target } from './targets.js';

export interface Observation {
  call: string;
  status: number;
  /** The media type, without parameters (charset). */
  type: string | null;
  headers: Record<string, string>;
  body: unknown;
}

export interface Answer {
  status: number;
  /** Parsed JSON, else the text. */
  body: any;
  text: string;
}

export interface CallOptions {
  /** Basic credentials: a user (PASSWORD) or `user:password`; null: none; `Bearer …`: as given. */
  as?: string | null;
  body?: unknown;
  /** A body sent as is, with this content type. */
  raw?: { type: string; text: string };
  /** Compare the text byte for byte (after placeholders), not only the parsed JSON. */
  bytes?: boolean;
  /** Compare only the shape (keys and kinds of values) of the body. */
  shapeOnly?: boolean;
  /** Compare only this view of the parsed body (what a client relies on where the rest may differ). */
  project?: (body: any) => unknown;
  /** Not written down (a poll, whose count differs between the servers). */
  unrecorded?: boolean;
}

/** Headers a client acts on; compared when either server sends them. */
const HEADERS = ['www-authenticate', 'cache-control', 'retry-after', 'x-request-id'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;
const API_TOKEN = /tp_[A-Za-z0-9_-]{16,}/g;
const TUNNEL_SECRET = /[A-Za-z0-9+/]{43}=/g;

export interface Recorder {
  /** What was seen, read with every alias known by the end (a name may be learnt after it shows). */
  observations(): Observation[];
  /** Reads `value` as `placeholder` (a generated name, an id, a user). */
  alias(value: string, placeholder: string): void;
  call(method: string, path: string, opts?: CallOptions): Promise<Answer>;
}

interface Seen {
  call: string;
  status: number;
  type: string | null;
  headers: Record<string, string>;
  raw: string;
  parsed: unknown;
  opts: CallOptions;
}

/** Names the servers draw (8 letters): the same scenario draws different ones on each. */
const DRAWN = /^[a-z]{8}$/;

export function recorder(target: Target, users: Record<string, string>): Recorder {
  const seen: Seen[] = [];
  const aliases: Array<[string, string]> = [...target.constants, ...Object.entries(users)];

  /** Drawn names, numbered in the order they first show: in `name` fields and hostnames. */
  const drawn = (): Array<[string, string]> => {
    const names: string[] = [];
    const visit = (v: unknown, key = ''): void => {
      if (typeof v === 'string') {
        const label = key === 'hostname' ? v.split('-')[0]! : key === 'name' ? v : '';
        if (DRAWN.test(label) && !names.includes(label)) names.push(label);
      } else if (Array.isArray(v)) v.forEach((x) => visit(x));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, k);
    };
    for (const s of seen) {
      visit(s.parsed);
      for (const m of s.raw.matchAll(/hostname: ([a-z]{8})-/g)) visit(m[1], 'name');
    }
    return names.map((name, i) => [name, `<drawn ${i + 1}>`]);
  };

  const normaliser = () => {
    // Longest first, so that a name inside another (a tunnel in a hostname) is not cut.
    const all = [...aliases, ...drawn()].sort((a, b) => b[0].length - a[0].length);
    const text = (s: string): string => {
      let out = s;
      for (const [v, placeholder] of all) out = out.split(v).join(placeholder);
      return out
        .replace(UUID, '<uuid>')
        .replace(TIME, '<time>')
        .replace(API_TOKEN, '<api-token>')
        .replace(TUNNEL_SECRET, '<tunnel-secret>');
    };
    const value = (v: unknown, key = ''): unknown => {
      if (typeof v === 'string') {
        if (key === 'requestId') return /^req-/.test(v) ? '<request-id>' : v;
        if (key === 'nextCursor') return '<cursor>';
        if (key === 'token' && /^[A-Za-z0-9+/]+=*$/.test(v) && v.length > 40) {
          // A run token: base64 of JSON; what it holds is what counts.
          return { base64: value(JSON.parse(Buffer.from(v, 'base64').toString('utf8'))) };
        }
        return text(v);
      }
      if (Array.isArray(v)) return v.map((x) => value(x));
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x, k)]));
      return v;
    };
    return { text, value };
  };

  const authOf = (as: string | null | undefined): Record<string, string> => {
    if (as === null) return {};
    if (as?.startsWith('Bearer ')) return { authorization: as };
    const [user, password] = (as ?? Object.keys(users)[0]!).split(':');
    return {
      authorization: `Basic ${Buffer.from(`${user}:${password ?? PASSWORD}`).toString('base64')}`,
    };
  };

  return {
    observations() {
      const { text, value } = normaliser();
      return seen.map((s) => {
        const parsed = s.opts.project ? s.opts.project(s.parsed) : s.parsed;
        return {
          call: text(s.call),
          status: s.status,
          type: s.type,
          headers: s.headers,
          body: s.opts.shapeOnly ? shapeOf(parsed) : s.opts.bytes ? text(s.raw) : value(parsed),
        };
      });
    },
    alias(v, placeholder) {
      // An answer without the value (a refusal) has nothing to read as the placeholder.
      if (typeof v === 'string' && v !== '') aliases.push([v, placeholder]);
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = authOf(opts.as);
      let body: string | undefined;
      if (opts.raw) {
        headers['content-type'] = opts.raw.type;
        body = opts.raw.text;
      } else if (opts.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      const res = await fetch(target.url + path, { method, headers, body });
      const raw = await res.text();
      const type = res.headers.get('content-type')?.split(';')[0]?.trim() ?? null;
      let parsed: unknown = raw;
      if (type === 'application/json' && raw !== '') parsed = JSON.parse(raw);
      const kept: Record<string, string> = {};
      for (const h of HEADERS) {
        const v = res.headers.get(h);
        if (v !== null) kept[h] = v;
      }
      const who = opts.as === undefined ? '' : ` as ${opts.as ?? 'nobody'}`;
      if (!opts.unrecorded)
        seen.push({
          call: `${method} ${path}${who}`,
          status: res.status,
          type,
          headers: kept,
          raw,
          parsed,
          opts,
        });
      return { status: res.status, body: parsed as any, text: raw };
    },
  };
}

/** Keys and kinds of values, recursively (an array: the set of its elements' shapes). */
export function shapeOf(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    const shapes = new Map(v.map((x) => [JSON.stringify(shapeOf(x)), shapeOf(x)]));
    return [...shapes.values()];
  }
  if (typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shapeOf(x)]),
    );
  return typeof v;
}

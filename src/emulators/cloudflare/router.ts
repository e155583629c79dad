// Route table for the Cloudflare paths: `METHOD /accounts/:account/cfd_tunnel/:tunnel`
// templates matched segment by segment, literal segments winning over parameters. The
// template doubles as the key of the per-route call counters in `stats()`.
import type { ErrorItem } from './errors.js';
import type { ApiTokenRow, Area } from './state.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler sees of the request, once auth and scope checks have passed. */
export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  token: ApiTokenRow;
  /** The path relative to `/client/v4`, for error texts. */
  path: string;
}

/** What a handler returns; the server wraps it in the envelope. */
export interface HandlerResult {
  status?: number;
  result: unknown;
  resultInfo?: Record<string, unknown>;
  messages?: ErrorItem[];
}

export interface Route {
  method: Method;
  template: string;
  /** Permission area checked against the token; null for token verification. */
  area: Area | null;
  handle(ctx: RouteContext): HandlerResult;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export interface Router {
  match(method: string, path: string): RouteMatch | undefined;
}

export function route(method: Method, template: string, area: Area | null, handle: Route['handle']): Route {
  return { method, template, area, handle };
}

export function createRouter(routes: readonly Route[]): Router {
  const compiled = routes.map((r) => ({ route: r, segments: r.template.split('/').filter(Boolean) }));
  return {
    match(method, path) {
      const parts = path.split('/').filter(Boolean);
      let best: { match: RouteMatch; literals: number } | undefined;
      for (const { route: r, segments } of compiled) {
        if (r.method !== method || segments.length !== parts.length) continue;
        const params: Record<string, string> = {};
        let literals = 0;
        let ok = true;
        segments.forEach((segment, i) => {
          const part = parts[i] ?? '';
          if (segment.startsWith(':')) params[segment.slice(1)] = safeDecode(part);
          else if (segment === part) literals += 1;
          else ok = false;
        });
        if (ok && (!best || literals > best.literals)) best = { match: { route: r, params }, literals };
      }
      return best?.match;
    },
  };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

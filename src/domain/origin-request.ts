/**
 * A route's origin request options (`originRequest`), with cloudflared's own key names
 * (reference §2.5): validated here as cloudflared would read them, and stricter where
 * cloudflared accepts what cannot work (a TLS option on a plain-HTTP origin, `access.required`
 * without a team name). Durations are whole seconds: the remote configuration's JSON takes
 * integers only (cloudflared parses them with ParseInt); config.yaml gets Go duration strings.
 */
import { AppError } from './errors.js';
import type { ConfigMode } from './model.js';

export interface OriginRequest {
  noTLSVerify?: boolean;
  originServerName?: string;
  /** A path on the machine running cloudflared (locally-managed tunnels only). */
  caPool?: string;
  httpHostHeader?: string;
  connectTimeout?: number;
  tlsTimeout?: number;
  tcpKeepAlive?: number;
  keepAliveTimeout?: number;
  keepAliveConnections?: number;
  noHappyEyeballs?: boolean;
  disableChunkedEncoding?: boolean;
  http2Origin?: boolean;
  /**
   * Check Cloudflare Access's JWT at the origin, with the route's application audience; the
   * team name is the server's (`access.teamName`) when the route was written.
   */
  access?: { required: boolean; teamName?: string };
}

type Kind = 'bool' | 'host' | 'hostHeader' | 'path' | 'seconds' | 'count' | 'access';
/** Where an option means something: `tls` (an HTTPS/WSS origin), `http` (any HTTP origin), `any`. */
type Scope = 'tls' | 'http' | 'any';

const OPTIONS: Record<keyof OriginRequest, { kind: Kind; scope: Scope; max?: number }> = {
  noTLSVerify: { kind: 'bool', scope: 'tls' },
  originServerName: { kind: 'host', scope: 'tls' },
  caPool: { kind: 'path', scope: 'tls' },
  httpHostHeader: { kind: 'hostHeader', scope: 'http' },
  disableChunkedEncoding: { kind: 'bool', scope: 'http' },
  http2Origin: { kind: 'bool', scope: 'tls' },
  keepAliveConnections: { kind: 'count', scope: 'http', max: 1000 },
  keepAliveTimeout: { kind: 'seconds', scope: 'http', max: 3600 },
  connectTimeout: { kind: 'seconds', scope: 'any', max: 300 },
  tlsTimeout: { kind: 'seconds', scope: 'tls', max: 300 },
  tcpKeepAlive: { kind: 'seconds', scope: 'any', max: 3600 },
  noHappyEyeballs: { kind: 'bool', scope: 'any' },
  access: { kind: 'access', scope: 'http' },
};

/** The option names in cloudflared's spelling, as listed to a user who misspelt one. */
export const ORIGIN_REQUEST_KEYS = Object.keys(OPTIONS) as (keyof OriginRequest)[];

export interface OriginRequestContext {
  /** The route's service scheme: `https`, `http`, `tcp`, … */
  scheme: string;
  configMode: ConfigMode;
  /** The route has an Access application (people, an allow-list, a TCP service token). */
  accessProtected: boolean;
  /** The Zero Trust team name `access.required` needs (`cloudflare.accessTeamName`); null: none configured. */
  teamName: string | null;
}

const invalid = (key: string, message: string) =>
  new AppError('route.invalid_origin_request', `originRequest.${key}: ${message}`, { field: key });

const HOST = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Whole seconds from an integer or a Go duration string (`30s`, `1m30s`), as cloudflared reads them. */
export function parseSeconds(key: string, value: unknown, max: number): number {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && GO_DURATION.test(value)) {
    seconds = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
      seconds += Number(n) * UNIT_SECONDS[unit!]!;
    seconds = Math.round(seconds * 1e6) / 1e6;
  } else throw invalid(key, 'give whole seconds (30) or a duration (30s, 1m30s).');
  if (!Number.isInteger(seconds))
    throw invalid(key, 'must be whole seconds: the remote configuration takes integers only.');
  if (seconds < 1 || seconds > max) throw invalid(key, `must be between 1 and ${max} seconds.`);
  return seconds;
}

const TLS_SCHEMES = new Set(['https', 'wss', 'unix+tls']);
const HTTP_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'unix', 'unix+tls']);

function inScope(scope: Scope, scheme: string): boolean {
  if (scope === 'any') return true;
  if (scope === 'tls') return TLS_SCHEMES.has(scheme);
  return HTTP_SCHEMES.has(scheme);
}

/** Validates `originRequest` from the API; null or `{}` means none. */
export function parseOriginRequest(input: unknown, ctx: OriginRequestContext): OriginRequest | null {
  if (input === null || input === undefined) return null;
  if (typeof input !== 'object' || Array.isArray(input))
    throw new AppError(
      'route.invalid_origin_request',
      'originRequest must be an object of cloudflared options.',
    );
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const spec = OPTIONS[key as keyof OriginRequest];
    if (!spec)
      throw invalid(
        key.slice(0, 64),
        `not an option Tunnelplane sets; use one of ${ORIGIN_REQUEST_KEYS.join(', ')}.`,
      );
    if (!inScope(spec.scope, ctx.scheme))
      throw invalid(
        key,
        spec.scope === 'tls'
          ? `applies to TLS origins (https, wss, unix+tls), not ${ctx.scheme}.`
          : `applies to HTTP origins, not ${ctx.scheme}.`,
      );
    out[key] = parseValue(key, spec.kind, value, spec.max ?? 0, ctx);
  }
  return Object.keys(out).length === 0 ? null : (out as OriginRequest);
}

function parseValue(key: string, kind: Kind, value: unknown, max: number, ctx: OriginRequestContext) {
  switch (kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(key, 'must be true or false.');
      return value;
    case 'seconds':
      return parseSeconds(key, value, max);
    case 'count':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
        throw invalid(key, `must be a whole number from 1 to ${max}.`);
      return value;
    case 'host':
      if (typeof value !== 'string' || !HOST.test(value)) throw invalid(key, 'must be a DNS name.');
      return value.toLowerCase();
    case 'hostHeader': {
      if (typeof value !== 'string') throw invalid(key, 'must be a host name, optionally with :port.');
      const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
      if (!m || !HOST.test(m[1]!) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)))
        throw invalid(key, 'must be a host name, optionally with :port.');
      return value.toLowerCase();
    }
    case 'path':
      if (ctx.configMode !== 'local')
        throw invalid(
          key,
          'is a file on the machine that runs cloudflared: only locally-managed (local) tunnels can name one.',
        );
      if (
        typeof value !== 'string' ||
        !value.startsWith('/') ||
        value.length > 1024 ||
        /[\0\n\r]/.test(value)
      )
        throw invalid(key, 'must be an absolute path (at most 1,024 characters).');
      return value;
    case 'access': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw invalid(key, 'must be {"required": true} or {"required": false}.');
      const extra = Object.keys(value).filter((k) => k !== 'required' && k !== 'teamName');
      if (extra.length > 0)
        throw invalid(
          key,
          `takes only "required": the team name and audience come from the server and the route's Access application (not ${extra[0]!.slice(0, 32)}).`,
        );
      const { required, teamName } = value as { required?: unknown; teamName?: unknown };
      if (teamName !== undefined && teamName !== ctx.teamName)
        throw invalid(key, `teamName is this server's (${ctx.teamName ?? 'none configured'}); leave it out.`);
      if (typeof required !== 'boolean') throw invalid(key, '"required" must be true or false.');
      if (required && !ctx.accessProtected)
        throw invalid(
          key,
          'needs Access on the route (access emails/domains/groups or an allow-list): there is no Access token to check otherwise.',
        );
      if (required && !ctx.teamName)
        throw new AppError(
          'route.origin_option_unavailable',
          'originRequest.access: this server has no Zero Trust team name configured (cloudflare.accessTeamName); ask the operator.',
          { field: 'access' },
        );
      return required ? { required, teamName: ctx.teamName! } : { required };
    }
  }
}

/** config.yaml takes Go duration strings; the remote configuration's JSON takes integer seconds. */
export type IngressFormat = 'yaml' | 'json';

const DURATION_KEYS = new Set(['connectTimeout', 'tlsTimeout', 'tcpKeepAlive', 'keepAliveTimeout']);

/** The options as cloudflared reads them; `access` is left out until the audience is known. */
export function renderOriginRequest(
  o: OriginRequest,
  format: IngressFormat,
  /** The route's Access application audience, once Cloudflare has given it. */
  accessAud: string | null,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const key of ORIGIN_REQUEST_KEYS) {
    const value = o[key];
    if (value === undefined) continue;
    if (key === 'access') {
      const access = value as { required: boolean; teamName?: string };
      if (access.required && access.teamName && accessAud)
        out.access = { required: true, teamName: access.teamName, audTag: [accessAud] };
      continue;
    }
    out[key] = DURATION_KEYS.has(key) && format === 'yaml' ? `${value as number}s` : value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

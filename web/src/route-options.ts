/**
 * A route's options as the console's forms hold them (text as typed, lists one entry per line),
 * cloudflared's origin options with where each applies, and what the API is sent: a new route's
 * options, or only what an edit changed (null clears). Pure: test/console-route-options.test.ts.
 */
import type {
  ConfigMode,
  CreateRouteInput,
  OriginRequestOptions,
  Route,
  RouteAccess,
  UpdateRouteInput,
} from '../../src/client/index.js';

export type Guard = 'open' | 'allow' | 'access';

/** A route's options as the form holds them: text as typed, lists one entry per line. */
export interface RouteValues {
  service: string;
  guard: Guard;
  ips: string;
  emails: string;
  domains: string;
  groups: string;
  /** Access session length (`30m`…`720h`); empty: the API's default (24h). */
  session: string;
  /** cloudflared's origin options by key: text as typed, booleans for the switches. */
  origin: Record<string, string | boolean>;
}

/** Where an origin option means something (as the API checks it): TLS origins, HTTP origins, any. */
type Scope = 'tls' | 'http' | 'any';

export interface OriginOption {
  key: string;
  kind: 'text' | 'seconds' | 'count' | 'bool';
  scope: Scope;
  label: string;
  hint: string;
  /** A file on the connector's machine: locally-managed tunnels only. */
  localOnly?: true;
  placeholder?: string;
}

const SECONDS = 'seconds (30) or a duration (1m30s)';

/** cloudflared's `originRequest` keys the API takes, in the order the form shows them. */
export const ORIGIN_OPTIONS: OriginOption[] = [
  {
    key: 'httpHostHeader',
    kind: 'text',
    scope: 'http',
    label: 'Host header',
    hint: `httpHostHeader: the Host the service is sent, e.g. app.internal:8080; empty: the hostname asked for.`,
    placeholder: 'app.internal',
  },
  {
    key: 'originServerName',
    kind: 'text',
    scope: 'tls',
    label: 'TLS server name',
    hint: "originServerName: the name the service's certificate must carry; empty: the service's host.",
  },
  {
    key: 'caPool',
    kind: 'text',
    scope: 'tls',
    localOnly: true,
    label: 'CA certificates file',
    hint: 'caPool: an absolute path on the machine running cloudflared, e.g. /etc/cloudflared/ca.pem.',
  },
  {
    key: 'connectTimeout',
    kind: 'seconds',
    scope: 'any',
    label: 'Connect timeout',
    hint: `connectTimeout: ${SECONDS}, 1 to 300 s; empty: 30 s.`,
  },
  {
    key: 'tlsTimeout',
    kind: 'seconds',
    scope: 'tls',
    label: 'TLS handshake timeout',
    hint: `tlsTimeout: ${SECONDS}, 1 to 300 s; empty: 10 s.`,
  },
  {
    key: 'tcpKeepAlive',
    kind: 'seconds',
    scope: 'any',
    label: 'TCP keep-alive',
    hint: `tcpKeepAlive: ${SECONDS}, 1 to 3600 s; empty: 30 s.`,
  },
  {
    key: 'keepAliveTimeout',
    kind: 'seconds',
    scope: 'http',
    label: 'Idle connection timeout',
    hint: `keepAliveTimeout: how long an idle connection to the service stays open, ${SECONDS}, 1 to 3600 s; empty: 1m30s.`,
  },
  {
    key: 'keepAliveConnections',
    kind: 'count',
    scope: 'http',
    label: 'Idle connections kept',
    hint: 'keepAliveConnections: 1 to 1000; empty: 100.',
  },
  {
    key: 'noTLSVerify',
    kind: 'bool',
    scope: 'tls',
    label: "Do not verify the origin's certificate",
    hint: 'noTLSVerify: for a self-signed certificate; the connection stays encrypted.',
  },
  {
    key: 'http2Origin',
    kind: 'bool',
    scope: 'tls',
    label: 'Speak HTTP/2 to the origin',
    hint: 'http2Origin.',
  },
  {
    key: 'disableChunkedEncoding',
    kind: 'bool',
    scope: 'http',
    label: 'No chunked transfer encoding',
    hint: 'disableChunkedEncoding: for servers that cannot read it (some WSGI servers).',
  },
  {
    key: 'noHappyEyeballs',
    kind: 'bool',
    scope: 'any',
    label: 'No Happy Eyeballs',
    hint: 'noHappyEyeballs: do not fall back between IPv4 and IPv6.',
  },
];

const TLS_SCHEMES = new Set(['https', 'wss', 'unix+tls']);
const HTTP_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'unix', 'unix+tls']);
/** Services cloudflared reaches as TCP streams: behind Access with a service token, never for people. */
const TCP_LIKE = new Set(['tcp', 'ssh', 'rdp', 'smb']);

export const isHttp = (scheme: string) => HTTP_SCHEMES.has(scheme);
export const isTcpLike = (scheme: string) => TCP_LIKE.has(scheme);

/** The service's scheme, lower case; an empty service counts as the placeholder's (http). */
export function schemeOf(service: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(service.trim())?.[1]?.toLowerCase() ?? 'http';
}

/** Whether an option means something for this scheme and tunnel (as the API checks it). */
export function fits(o: OriginOption, scheme: string, configMode: ConfigMode): boolean {
  if (o.localOnly && configMode !== 'local') return false;
  if (o.scope === 'tls') return TLS_SCHEMES.has(scheme);
  if (o.scope === 'http') return HTTP_SCHEMES.has(scheme);
  return true;
}

const lines = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The form's values for a route (a new one: empty). */
export function valuesOf(route?: Route): RouteValues {
  const origin: Record<string, string | boolean> = {};
  for (const [key, v] of Object.entries(route?.originRequest ?? {})) {
    if (key === 'access') origin.access = !!(v as { required?: boolean } | null)?.required;
    else if (typeof v === 'boolean') origin[key] = v;
    else if (typeof v === 'number' || typeof v === 'string') origin[key] = String(v);
  }
  const access = route?.access ?? null;
  return {
    service: route?.service ?? '',
    guard: access ? 'access' : route?.allowIps?.length ? 'allow' : 'open',
    ips: (route?.allowIps ?? []).join('\n'),
    emails: (access?.emails ?? []).join('\n'),
    domains: (access?.emailDomains ?? []).join('\n'),
    groups: (access?.groups ?? []).join('\n'),
    session: access?.sessionDuration ?? '',
    origin,
  };
}

/** The allow-list the values ask for: its own choice, or an optional one beside Access. */
function allowIpsOf(v: RouteValues): string[] | null {
  if (v.guard === 'allow') return lines(v.ips);
  if (v.guard === 'access' && lines(v.ips).length > 0) return lines(v.ips);
  return null;
}

function accessOf(v: RouteValues): RouteAccess | null {
  if (v.guard !== 'access') return null;
  const groups = lines(v.groups);
  return {
    emails: lines(v.emails),
    emailDomains: lines(v.domains),
    ...(groups.length > 0 && { groups }),
    ...(v.session && { sessionDuration: v.session }),
  };
}

/** Only the options filled in: whole seconds as numbers, Go durations as typed; null when none. */
function originRequestOf(v: RouteValues): OriginRequestOptions | null {
  const out: OriginRequestOptions = {};
  for (const o of ORIGIN_OPTIONS) {
    const value = v.origin[o.key];
    if (o.kind === 'bool') {
      if (value === true) out[o.key] = true;
      continue;
    }
    const text = typeof value === 'string' ? value.trim() : '';
    if (!text) continue;
    if (o.kind === 'count' || (o.kind === 'seconds' && /^\d+$/.test(text))) out[o.key] = Number(text);
    else out[o.key] = text;
  }
  if (v.origin.access === true) out.access = { required: true };
  return Object.keys(out).length > 0 ? out : null;
}

/** What a new route is sent of these values (name, hostname, zone and TTL are the add form's). */
export function createInputOf(v: RouteValues): CreateRouteInput {
  const allowIps = allowIpsOf(v);
  const access = accessOf(v);
  const originRequest = originRequestOf(v);
  return {
    service: v.service.trim(),
    ...(allowIps && { allowIps }),
    ...(access && { access }),
    ...(originRequest && { originRequest }),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What changed between the route as it was (`before`) and the form (`after`); `{}` when nothing did. */
export function changesOf(before: RouteValues, after: RouteValues): UpdateRouteInput {
  const changes: UpdateRouteInput = {};
  if (after.service.trim() !== before.service.trim()) changes.service = after.service.trim();
  const allowIps = allowIpsOf(after);
  if (!same(allowIps, allowIpsOf(before))) changes.allowIps = allowIps;
  const access = accessOf(after);
  if (!same(access, accessOf(before))) changes.access = access;
  const originRequest = originRequestOf(after);
  if (!same(originRequest, originRequestOf(before))) changes.originRequest = originRequest;
  return changes;
}

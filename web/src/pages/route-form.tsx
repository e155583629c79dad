/**
 * What adding and editing a route share: a route's options as form values (the service, who may
 * reach it, cloudflared's origin options), the fields that show them, and what the API is sent —
 * the options of a new route, or only what an edit changed (null clears).
 */
import type { ComponentChildren } from 'preact';
import type {
  ConfigMode,
  CreateRouteInput,
  OriginRequestOptions,
  Route,
  RouteAccess,
  UpdateRouteInput,
} from '../../../src/client/index.js';
import { CheckField, Choices, SelectField, TextAreaField, TextField } from '../ui.js';

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

interface OriginOption {
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
const ORIGIN_OPTIONS: OriginOption[] = [
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

/** The service's scheme, lower case; an empty service counts as the placeholder's (http). */
export function schemeOf(service: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(service.trim())?.[1]?.toLowerCase() ?? 'http';
}

function fits(o: OriginOption, scheme: string, configMode: ConfigMode): boolean {
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

/** Who Access lets through: the lists of the form, with their labels and hints. */
const PEOPLE = [
  ['emails', 'E-mail addresses', 'One per line, e.g. ada@example.com.'],
  ['domains', 'E-mail domains', 'Everyone at these domains, e.g. example.com.'],
  [
    'groups',
    'Groups',
    'Groups of your Zero Trust identity provider, one per line (if the operator set it up).',
  ],
] as const;

const SESSIONS = [
  ['', '24 hours (default)'],
  ['30m', '30 minutes'],
  ['1h', '1 hour'],
  ['6h', '6 hours'],
  ['12h', '12 hours'],
  ['24h', '24 hours'],
  ['168h', '1 week'],
  ['720h', '30 days'],
] as const;

/**
 * The fields of a route's options: the service (with `beside` next to it), who may reach it, and
 * the origin options in a collapsed section — those that fit the service's scheme, and any filled.
 */
export function RouteFields({
  values,
  onChange,
  configMode,
  serviceHint,
  beside,
}: {
  values: RouteValues;
  onChange(patch: Partial<RouteValues>): void;
  configMode: ConfigMode;
  serviceHint: string;
  beside?: ComponentChildren;
}) {
  const scheme = schemeOf(values.service);
  const tcp = TCP_LIKE.has(scheme);
  const setOrigin = (key: string, value: string | boolean) =>
    onChange({ origin: { ...values.origin, [key]: value } });
  const shown = ORIGIN_OPTIONS.filter(
    (o) => fits(o, scheme, configMode) || (values.origin[o.key] ?? '') !== '',
  );
  const sessions: ReadonlyArray<readonly [string, string]> = SESSIONS.some(([s]) => s === values.session)
    ? SESSIONS
    : [...SESSIONS, [values.session, values.session]];
  const filled = Object.values(values.origin).some((x) => x !== '' && x !== false);
  return (
    <>
      <div class="grid2">
        <TextField
          label="Service"
          hint={serviceHint}
          name="service"
          required
          placeholder="http://localhost:8000"
          value={values.service}
          onValue={(service) => onChange({ service })}
        />
        {beside}
      </div>
      <Choices
        legend="Who may reach it"
        value={values.guard}
        onValue={(guard) => onChange({ guard })}
        options={[
          {
            value: 'open',
            label: 'Everyone',
            hint: 'TCP routes are always behind Cloudflare Access, reachable in the cluster',
          },
          { value: 'allow', label: 'Only these IP addresses' },
          ...(tcp && values.guard !== 'access'
            ? []
            : [{ value: 'access' as const, label: 'People signed in with Cloudflare Access (HTTP)' }]),
        ]}
      >
        {values.guard === 'allow' && (
          <TextAreaField
            label="Allowed addresses"
            hint="IP addresses or CIDR ranges, one per line."
            value={values.ips}
            onValue={(ips) => onChange({ ips })}
          />
        )}
        {values.guard === 'access' && (
          <>
            <div class="grid2">
              {PEOPLE.map(([key, label, hint]) => (
                <TextAreaField
                  key={key}
                  label={label}
                  hint={hint}
                  value={values[key]}
                  onValue={(v) => onChange({ [key]: v })}
                />
              ))}
              <SelectField
                label="Session length"
                hint="How long a sign-in with Access lasts before people sign in again."
                value={values.session}
                onValue={(session) => onChange({ session })}
                options={sessions}
              />
            </div>
            <TextAreaField
              label="And only from these addresses (optional)"
              hint="IP addresses or CIDR ranges, one per line; empty: from anywhere."
              value={values.ips}
              onValue={(ips) => onChange({ ips })}
            />
          </>
        )}
      </Choices>
      <details class="advanced" open={filled}>
        <summary>Advanced: how cloudflared talks to the service</summary>
        <p class="hint">
          cloudflared's origin options for a {scheme} service (its own key names); empty fields keep its
          defaults.
        </p>
        <div class="grid2">
          {shown
            .filter((o) => o.kind !== 'bool')
            .map((o) => (
              <TextField
                key={o.key}
                label={o.label}
                hint={o.hint}
                name={o.key}
                placeholder={o.placeholder}
                inputMode={o.kind === 'text' ? undefined : 'numeric'}
                {...(o.kind === 'count' && { type: 'number', min: 1, max: 1000 })}
                value={String(values.origin[o.key] ?? '')}
                onValue={(v) => setOrigin(o.key, v)}
              />
            ))}
        </div>
        {shown
          .filter((o) => o.kind === 'bool')
          .map((o) => (
            <CheckField
              key={o.key}
              label={o.label}
              hint={o.hint}
              checked={values.origin[o.key] === true}
              onValue={(v) => setOrigin(o.key, v)}
            />
          ))}
        {HTTP_SCHEMES.has(scheme) && (values.guard !== 'open' || values.origin.access === true) && (
          <CheckField
            label="Check the Access token at the origin"
            hint="access.required: cloudflared refuses requests without a valid Cloudflare Access token (needs the server's Zero Trust team name)."
            checked={values.origin.access === true}
            onValue={(v) => setOrigin('access', v)}
          />
        )}
      </details>
    </>
  );
}

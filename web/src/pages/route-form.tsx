/**
 * What adding and editing a route share: the fields of a route's options (the service, who may
 * reach it, cloudflared's origin options under "Advanced"); route-options.ts holds the values and
 * what the API is sent.
 */
import type { ComponentChildren } from 'preact';
import type { ConfigMode } from '../../../src/client/index.js';
import { fits, isHttp, isTcpLike, ORIGIN_OPTIONS, schemeOf, type RouteValues } from '../route-options.js';
import { CheckField, Choices, SelectField, TextAreaField, TextField } from '../ui.js';

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
  const tcp = isTcpLike(scheme);
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
        {isHttp(scheme) && (values.guard !== 'open' || values.origin.access === true) && (
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

/**
 * One tunnel: its state and connectors, the exact commands that run it (with copy buttons; the
 * token only when asked for, the files as downloads for local tunnels), its routes (hostname,
 * service, protection, in-cluster address for TCP, phase and last error in words), adding a route
 * with every option the API has, deleting routes and the tunnel. Polled like the list.
 */
import { useState } from 'preact/hooks';
import type { CreateRouteInput, Route, Tunnel } from '../../../src/client/index.js';
import { explain, sessionEnded } from '../api.js';
import { ago, when } from '../format.js';
import { useLive } from '../live.js';
import { go, href } from '../route.js';
import { useSession } from '../session.js';
import {
  Command,
  ConfirmButton,
  ConnectorBadge,
  CopyButton,
  ErrorNote,
  Field,
  Loading,
  Notice,
  PageTitle,
  PhaseBadge,
} from '../ui.js';
import { busyPoll } from './tunnels.js';

const TCP_LIKE = new Set(['tcp', 'ssh', 'rdp', 'smb', 'unix', 'unix+tls']);

export function TunnelPage({ name }: { name: string }) {
  const { client } = useSession();
  const live = useLive(
    (signal) => client.tunnels.get(name, { signal }),
    [client, name],
    (t) =>
      busyPoll(
        !!t &&
          (t.phase !== 'ready' && t.phase !== 'error'
            ? true
            : t.routes.some((r) => r.phase === 'pending' || r.phase === 'deleting')),
      ),
  );
  const t = live.data;
  return (
    <>
      <p class="crumbs">
        <a href={href.tunnels}>Tunnels</a> <span aria-hidden="true">/</span> {name}
      </p>
      <div class="page-head">
        <PageTitle title={`Tunnel ${name}`}>
          Tunnel <span class="mono">{name}</span>
        </PageTitle>
        {t && <TunnelActions tunnel={t} />}
      </div>
      <ErrorNote message={live.error} />
      {!t ? (
        !live.error && <Loading what="the tunnel" />
      ) : (
        <>
          <Summary tunnel={t} />
          <RunIt tunnel={t} />
          <Routes tunnel={t} onChanged={() => void live.reload()} />
          <AddRoute tunnel={t} onAdded={() => void live.reload()} />
        </>
      )}
    </>
  );
}

function TunnelActions({ tunnel }: { tunnel: Tunnel }) {
  const { client, refreshUser } = useSession();
  return (
    <ConfirmButton
      label="Delete tunnel"
      class="danger"
      title={`Delete tunnel ${tunnel.name}?`}
      confirmLabel="Delete tunnel"
      explain={explain}
      onConfirm={async () => {
        await client.tunnels.delete(tunnel.name, { wait: 0 });
        refreshUser();
        go(href.tunnels);
      }}
    >
      <p>
        Its {tunnel.routes.length} route{tunnel.routes.length === 1 ? '' : 's'}, DNS records and Cloudflare
        tunnel are removed; cloudflared running it stops serving. This cannot be undone.
      </p>
    </ConfirmButton>
  );
}

function Summary({ tunnel: t }: { tunnel: Tunnel }) {
  return (
    <section class="card" aria-labelledby="summary">
      <h2 id="summary" class="sr-only">
        Summary
      </h2>
      <dl class="facts">
        <div>
          <dt>Phase</dt>
          <dd>
            <PhaseBadge phase={t.phase} />
          </dd>
        </div>
        <div>
          <dt>cloudflared</dt>
          <dd>
            <ConnectorBadge connectors={t.connectors} />
          </dd>
        </div>
        <div>
          <dt>Configuration</dt>
          <dd>
            {t.configMode === 'remote' ? 'Remote (Cloudflare pushes the routes)' : 'Local (config.yaml)'}
          </dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>{t.owner}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{when(t.createdAt)}</dd>
        </div>
        {t.expiresAt && (
          <div>
            <dt>Deleted by itself</dt>
            <dd>{when(t.expiresAt)}</dd>
          </div>
        )}
        <div>
          <dt>Cloudflare id</dt>
          <dd class="mono">{t.id ?? 'not created yet'}</dd>
        </div>
      </dl>
      {t.lastError && (
        <ErrorNote
          message={`The control plane could not finish this tunnel: ${t.lastError}. It retries by itself.`}
        />
      )}
      {t.connectors && t.connectors.connections.length > 0 && (
        <div class="table-wrap">
          <table class="list compact">
            <caption>Connections to Cloudflare (checked {ago(t.connectors.checkedAt)})</caption>
            <thead>
              <tr>
                <th scope="col">Data centre</th>
                <th scope="col">cloudflared</th>
                <th scope="col">From</th>
                <th scope="col">Opened</th>
              </tr>
            </thead>
            <tbody>
              {t.connectors.connections.map((c, i) => (
                <tr key={i}>
                  <td data-label="Data centre">{c.colo}</td>
                  <td data-label="cloudflared">{c.clientVersion}</td>
                  <td data-label="From">{c.originIp}</td>
                  <td data-label="Opened">{ago(c.openedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function download(filename: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function RunIt({ tunnel: t }: { tunnel: Tunnel }) {
  const { client, ended } = useSession();
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fail = (err: unknown) => (sessionEnded(err) ? ended(err) : setError(explain(err)));
  const origin = window.location.origin;
  return (
    <section class="card" aria-labelledby="run-it">
      <h2 id="run-it">Run it</h2>
      <p class="muted">
        Start cloudflared where your services are. With <code>tunnelctl</code> (signed in with{' '}
        <code>tunnelctl login --server {origin}</code>):
      </p>
      <Command label="tunnelctl run command" text={`tunnelctl run ${t.name}`} />
      {t.configMode === 'remote' ? (
        <>
          <p class="muted">
            Or cloudflared alone, with the tunnel's token (a secret: anyone holding it can serve this tunnel):
          </p>
          {token ? (
            <Command label="cloudflared run command" text={`cloudflared tunnel run --token ${token}`} />
          ) : (
            <div class="command">
              <pre aria-label="cloudflared run command">
                <code>cloudflared tunnel run --token ••••••••</code>
              </pre>
              <button
                type="button"
                class="secondary small"
                disabled={!t.id}
                onClick={() => void client.tunnels.token(t.name).then(setToken).catch(fail)}
              >
                Reveal token
              </button>
            </div>
          )}
          {!t.id && <p class="hint">The token exists once Cloudflare has the tunnel (a few seconds).</p>}
        </>
      ) : (
        <>
          <p class="muted">
            Or cloudflared alone, with the two files beside it (download them again after changing routes,
            then restart cloudflared):
          </p>
          <div class="row">
            <button
              type="button"
              class="secondary"
              disabled={!t.id}
              onClick={() =>
                void client.tunnels
                  .config(t.name)
                  .then((text) => download('config.yaml', text, 'application/yaml'))
                  .catch(fail)
              }
            >
              Download config.yaml
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!t.id}
              onClick={() =>
                void client.tunnels
                  .credentials(t.name)
                  .then((text) => download('credentials.json', text, 'application/json'))
                  .catch(fail)
              }
            >
              Download credentials.json
            </button>
          </div>
          <Command
            label="cloudflared run command"
            text="cloudflared tunnel --config config.yaml run --cred-file credentials.json"
          />
        </>
      )}
      <ErrorNote message={error} onDismiss={() => setError(null)} />
    </section>
  );
}

function protection(r: Route): string {
  if (r.protectedBy === 'allow-list') return `Only from ${(r.allowIps ?? []).join(', ')}`;
  if (r.protectedBy === 'access') {
    const who = [...(r.access?.emails ?? []), ...(r.access?.emailDomains ?? []).map((d) => `@${d}`)];
    if (TCP_LIKE.has(r.protocol) && who.length === 0) return 'Cloudflare Access (service token, in-cluster)';
    return `Cloudflare Access: ${who.join(', ')}`;
  }
  return 'Open to everyone';
}

function routePhase(r: Route): string {
  if (r.phase === 'ready') return 'Ready';
  if (r.phase === 'pending') return 'Being set up…';
  if (r.phase === 'deleting') return 'Being deleted…';
  return 'Failed';
}

function Routes({ tunnel: t, onChanged }: { tunnel: Tunnel; onChanged(): void }) {
  const { client, refreshUser } = useSession();
  return (
    <section class="card" aria-labelledby="routes">
      <h2 id="routes">Routes</h2>
      {t.routes.length === 0 ? (
        <p class="empty">No routes yet: add one below to publish a service on a hostname.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <caption class="sr-only">Routes of {t.name}</caption>
            <thead>
              <tr>
                <th scope="col">Hostname</th>
                <th scope="col">Service</th>
                <th scope="col">Protection</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {t.routes.map((r) => (
                <tr key={r.name} data-route={r.name}>
                  <td data-label="Hostname">
                    {TCP_LIKE.has(r.protocol) ? (
                      <span class="mono">{r.hostname}</span>
                    ) : (
                      <a href={`https://${r.hostname}`} target="_blank" rel="noopener noreferrer">
                        {r.hostname}
                      </a>
                    )}
                    {r.inCluster && (
                      <div class="hint">
                        In the cluster: <span class="mono">{r.inCluster.address}</span>{' '}
                        {r.inCluster.ready
                          ? '(ready)'
                          : `(not ready${r.inCluster.reason ? `: ${r.inCluster.reason}` : ''})`}{' '}
                        <CopyButton text={r.inCluster.address} label="Copy address" />
                      </div>
                    )}
                  </td>
                  <td data-label="Service" class="mono">
                    {r.service}
                  </td>
                  <td data-label="Protection">{protection(r)}</td>
                  <td data-label="State">
                    <PhaseBadge phase={r.phase} /> <span class="sr-only">{routePhase(r)}</span>
                    {r.lastError && <div class="error-text">{r.lastError}</div>}
                    {r.expiresAt && <div class="hint">Deleted by itself {ago(r.expiresAt)}</div>}
                  </td>
                  <td data-label="Actions">
                    <ConfirmButton
                      label="Delete"
                      accessibleLabel={`Delete route ${r.hostname}`}
                      title={`Delete route ${r.hostname}?`}
                      confirmLabel="Delete route"
                      explain={explain}
                      onConfirm={async () => {
                        await client.routes.delete(t.name, r.name, { wait: 0 });
                        refreshUser();
                        onChanged();
                      }}
                    >
                      <p>
                        {r.hostname} stops answering and its DNS record
                        {r.protectedBy ? ' and Access application' : ''} are removed.
                      </p>
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const lines = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function AddRoute({ tunnel: t, onAdded }: { tunnel: Tunnel; onAdded(): void }) {
  const { client, ended, refreshUser } = useSession();
  const [service, setService] = useState('');
  const [name, setName] = useState('');
  const [guard, setGuard] = useState<'open' | 'allow' | 'access'>('open');
  const [ips, setIps] = useState('');
  const [emails, setEmails] = useState('');
  const [domains, setDomains] = useState('');
  const [ttlMinutes, setTtlMinutes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<Route | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAdded(null);
    const input: CreateRouteInput = { service: service.trim() };
    if (name.trim()) input.name = name.trim();
    if (guard === 'allow') input.allowIps = lines(ips);
    if (guard === 'access') input.access = { emails: lines(emails), emailDomains: lines(domains) };
    if (ttlMinutes.trim()) input.ttlSeconds = Math.round(Number(ttlMinutes) * 60);
    try {
      const r = await client.routes.create(t.name, input, { wait: 0 });
      setAdded(r.value);
      setService('');
      setName('');
      refreshUser();
      onAdded();
    } catch (err) {
      if (sessionEnded(err)) ended(err);
      else setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="add-route">
      <h2 id="add-route">Add a route</h2>
      <form onSubmit={(e) => void submit(e)}>
        <div class="grid2">
          <Field
            label="Service"
            hint="What cloudflared forwards to: http://localhost:8000, https://…, or tcp://db:5432 (also ssh://, rdp://, smb://)."
          >
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                name="service"
                required
                placeholder="http://localhost:8000"
                value={service}
                onInput={(e) => setService(e.currentTarget.value)}
              />
            )}
          </Field>
          <Field label="Route name" hint="The hostname's first part; empty for a random one.">
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                name="route-name"
                placeholder="random"
                value={name}
                onInput={(e) => setName(e.currentTarget.value)}
              />
            )}
          </Field>
        </div>
        <fieldset>
          <legend>Who may reach it</legend>
          <label class="choice">
            <input type="radio" name="guard" checked={guard === 'open'} onChange={() => setGuard('open')} />{' '}
            Everyone
            <span class="hint">
              {' '}
              (TCP routes are always behind Cloudflare Access, reachable in the cluster)
            </span>
          </label>
          <label class="choice">
            <input type="radio" name="guard" checked={guard === 'allow'} onChange={() => setGuard('allow')} />{' '}
            Only these IP addresses
          </label>
          <label class="choice">
            <input
              type="radio"
              name="guard"
              checked={guard === 'access'}
              onChange={() => setGuard('access')}
            />{' '}
            People signed in with Cloudflare Access (HTTP)
          </label>
          {guard === 'allow' && (
            <Field label="Allowed addresses" hint="IP addresses or CIDR ranges, one per line.">
              {(id, hint) => (
                <textarea
                  id={id}
                  aria-describedby={hint}
                  rows={3}
                  value={ips}
                  onInput={(e) => setIps(e.currentTarget.value)}
                />
              )}
            </Field>
          )}
          {guard === 'access' && (
            <div class="grid2">
              <Field label="E-mail addresses" hint="One per line, e.g. ada@example.com.">
                {(id, hint) => (
                  <textarea
                    id={id}
                    aria-describedby={hint}
                    rows={3}
                    value={emails}
                    onInput={(e) => setEmails(e.currentTarget.value)}
                  />
                )}
              </Field>
              <Field label="E-mail domains" hint="Everyone at these domains, e.g. example.com.">
                {(id, hint) => (
                  <textarea
                    id={id}
                    aria-describedby={hint}
                    rows={3}
                    value={domains}
                    onInput={(e) => setDomains(e.currentTarget.value)}
                  />
                )}
              </Field>
            </div>
          )}
        </fieldset>
        <div class="grid2">
          <Field
            label="Delete by itself after (minutes)"
            hint="Empty: keep it until deleted. 1 to 43200 (30 days)."
          >
            {(id, hint) => (
              <input
                id={id}
                aria-describedby={hint}
                type="number"
                min={1}
                max={43200}
                inputMode="numeric"
                value={ttlMinutes}
                onInput={(e) => setTtlMinutes(e.currentTarget.value)}
              />
            )}
          </Field>
          <div class="field submit">
            <button type="submit" disabled={busy}>
              {busy ? 'Adding…' : 'Add route'}
            </button>
          </div>
        </div>
      </form>
      <ErrorNote message={error} onDismiss={() => setError(null)} />
      {added && (
        <Notice kind="ok">
          Route {added.hostname} added; it shows Ready once DNS
          {added.protectedBy ? ' and its protection are' : ' is'} in place.
        </Notice>
      )}
    </section>
  );
}

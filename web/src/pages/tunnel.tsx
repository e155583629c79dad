/**
 * One tunnel: its state and connectors, the exact commands that run it (with copy buttons; the
 * token only when asked for, the files as downloads for local tunnels), its routes (hostname,
 * service, protection, in-cluster address for TCP, phase and last error in words), adding a route
 * with every option the API has, deleting routes and the tunnel. Polled like the list.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { isApiError, type CreateRouteInput, type Route, type Tunnel } from '../../../src/client/index.js';
import { explain, sessionEnded } from '../api.js';
import { ago, when } from '../format.js';
import { useLive } from '../live.js';
import { go, href } from '../route.js';
import { useAction } from '../action.js';
import { useSession } from '../session.js';
import {
  Command,
  ConfirmButton,
  ConnectorBadge,
  CopyButton,
  ErrorNote,
  ListHead,
  Loading,
  Notice,
  PageTitle,
  PhaseBadge,
  SelectField,
  SubmitField,
  TextField,
} from '../ui.js';
import { changesOf, createInputOf, valuesOf, type RouteValues } from '../route-options.js';
import { RouteFields } from './route-form.js';
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
            <ListHead columns={['Data centre', 'cloudflared', 'From', 'Opened']} />
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
            {(
              [
                ['config.yaml', 'application/yaml', client.tunnels.config],
                ['credentials.json', 'application/json', client.tunnels.credentials],
              ] as const
            ).map(([file, type, get]) => (
              <button
                key={file}
                type="button"
                class="secondary"
                disabled={!t.id}
                onClick={() =>
                  void get(t.name)
                    .then((text) => download(file, text, type))
                    .catch(fail)
                }
              >
                Download {file}
              </button>
            ))}
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
  const [editing, setEditing] = useState<Route | null>(null);
  const [saved, setSaved] = useState<Route | null>(null);
  return (
    <section class="card" aria-labelledby="routes">
      <h2 id="routes">Routes</h2>
      {t.routes.length === 0 ? (
        <p class="empty">No routes yet: add one below to publish a service on a hostname.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <caption class="sr-only">Routes of {t.name}</caption>
            <ListHead columns={['Hostname', 'Service', 'Protection', 'State']} actions />
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
                    <button
                      type="button"
                      class="secondary small"
                      aria-label={`Edit route ${r.hostname}`}
                      disabled={r.phase === 'deleting'}
                      onClick={() => {
                        setSaved(null);
                        setEditing(r);
                      }}
                    >
                      Edit
                    </button>{' '}
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
      {saved && (
        <Notice kind="ok">
          Route {saved.hostname} saved; it shows Ready once Cloudflare has the change.
        </Notice>
      )}
      {editing && (
        <EditRoute
          key={editing.name}
          tunnel={t}
          route={editing}
          onClose={() => setEditing(null)}
          onSaved={(r) => {
            setSaved(r);
            refreshUser();
            onChanged();
          }}
        />
      )}
    </section>
  );
}

const SERVICE_HINT =
  'What cloudflared forwards to: http://localhost:8000, https://…, or tcp://db:5432 (also ssh://, rdp://, smb://).';

function AddRoute({ tunnel: t, onAdded }: { tunnel: Tunnel; onAdded(): void }) {
  const { client, refreshUser } = useSession();
  const { busy, error, setError, run } = useAction();
  const zones = useLive((signal) => client.zones.list({ signal }), [client]);
  const [values, setValues] = useState<RouteValues>(() => valuesOf());
  const [hostname, setHostname] = useState('');
  const [name, setName] = useState('');
  const [zone, setZone] = useState('');
  const [ttlMinutes, setTtlMinutes] = useState('');
  const [added, setAdded] = useState<Route | null>(null);
  const zoneList = zones.data?.items ?? [];
  const defaultZone = zones.data?.defaultZone ?? zoneList[0]?.name ?? '';
  const shownZone = zone || defaultZone;
  const submit = async (e: Event) => {
    e.preventDefault();
    setAdded(null);
    const input: CreateRouteInput = createInputOf(values);
    if (hostname.trim()) input.hostname = hostname.trim();
    if (name.trim()) input.name = name.trim();
    if (zone && zone !== defaultZone) input.zone = zone;
    if (ttlMinutes.trim()) input.ttlSeconds = Math.round(Number(ttlMinutes) * 60);
    await run(async () => {
      const r = await client.routes.create(t.name, input, { wait: 0 });
      setAdded(r.value);
      setValues((v) => ({ ...v, service: '' }));
      setHostname('');
      setName('');
      refreshUser();
      onAdded();
    });
  };
  return (
    <section class="card" aria-labelledby="add-route">
      <h2 id="add-route">Add a route</h2>
      <form onSubmit={(e) => void submit(e)}>
        <RouteFields
          values={values}
          onChange={(patch) => setValues((v) => ({ ...v, ...patch }))}
          configMode={t.configMode}
          serviceHint={SERVICE_HINT}
          beside={
            <>
              <TextField
                label="Hostname"
                hint={`One label, e.g. myapp → myapp.${shownZone || '<zone>'}; empty: a generated one (<route name>-${t.name}.${shownZone || '<zone>'}).`}
                name="hostname"
                placeholder="generated"
                autoComplete="off"
                value={hostname}
                onValue={setHostname}
              />
              <TextField
                label="Route name"
                hint="Up to 24 lower-case letters or digits, the generated hostname's first part; empty: the hostname's label, or a random one."
                name="route-name"
                placeholder="random"
                value={name}
                onValue={setName}
              />
              {zoneList.length > 1 && (
                <SelectField
                  label="Zone"
                  hint="The domain the hostname lives under."
                  value={shownZone}
                  onValue={setZone}
                  options={zoneList.map((z) => [z.name, z.default ? `${z.name} (default)` : z.name] as const)}
                />
              )}
            </>
          }
        />
        <div class="grid2">
          <TextField
            label="Delete by itself after (minutes)"
            hint="Empty: keep it until deleted. 1 to 43200 (30 days)."
            type="number"
            min={1}
            max={43200}
            inputMode="numeric"
            value={ttlMinutes}
            onValue={setTtlMinutes}
          />
          <SubmitField label="Add route" busyLabel="Adding…" busy={busy} />
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

/**
 * A route changed in place, in a modal dialog: the form starts from the route as it is, and only
 * what changed is sent, with the generation it was read at; if someone changed it meanwhile (412)
 * the form shows the route as it is now and says so.
 */
function EditRoute({
  tunnel: t,
  route,
  onClose,
  onSaved,
}: {
  tunnel: Tunnel;
  route: Route;
  onClose(): void;
  onSaved(route: Route): void;
}) {
  const { client } = useSession();
  const { busy, error, setError, run } = useAction();
  const ref = useRef<HTMLDialogElement>(null);
  const [base, setBase] = useState(route);
  const [before, setBefore] = useState(() => valuesOf(route));
  const [values, setValues] = useState(before);
  const id = useId();
  useEffect(() => ref.current?.showModal(), []);
  const reload = async () => {
    const fresh = await client.routes.get(t.name, base.name);
    const v = valuesOf(fresh);
    setBase(fresh);
    setBefore(v);
    setValues(v);
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const changes = changesOf(before, values);
    if (Object.keys(changes).length === 0) {
      setError('Nothing changed: change a field, or cancel.');
      return;
    }
    await run(
      async () => {
        const saved = await client.routes.update(
          t.name,
          base.name,
          changes,
          base.generation !== undefined ? { ifMatch: base.generation } : {},
        );
        onSaved(saved);
        ref.current?.close();
      },
      async (err) => {
        // Someone changed it meanwhile: show it as it is now, so the change can be made again on it.
        if (isApiError(err) && err.code === 'request.precondition_failed')
          await reload().catch((e2: unknown) =>
            setError(`${explain(err)}. Reloading it failed: ${explain(e2)}`),
          );
      },
    );
  };
  return (
    <dialog ref={ref} class="wide" aria-labelledby={`${id}-t`} onClose={onClose}>
      <h2 id={`${id}-t`}>Edit route {base.hostname}</h2>
      <p class="hint">
        The hostname and its DNS record stay; the service keeps its kind (HTTP stays HTTP, TCP stays TCP).
      </p>
      <form onSubmit={(e) => void save(e)}>
        <RouteFields
          values={values}
          onChange={(patch) => setValues((v) => ({ ...v, ...patch }))}
          configMode={t.configMode}
          serviceHint="Where cloudflared forwards to, of the same kind as now."
        />
        <ErrorNote message={error} onDismiss={() => setError(null)} />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

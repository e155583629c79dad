/**
 * The user's tunnels (their own and their teams'): phase, config mode, connector health, route
 * count; create one (random or chosen name, remote or local, personal or a team's); usage against
 * quotas. Polled: every 2 s while something is pending, else every 10 s.
 */
import { useState } from 'preact/hooks';
import type { ConfigMode, Tunnel } from '../../../src/client/index.js';
import { explain, sessionEnded } from '../api.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';
import { href } from '../route.js';
import { useSession } from '../session.js';
import { ConnectorBadge, ErrorNote, Field, Loading, Notice, PageTitle, PhaseBadge } from '../ui.js';

export const busyPoll = (busy: boolean) => (busy ? 2000 : 10_000);
const unsettled = (t: Tunnel) =>
  t.phase === 'pending' ||
  t.phase === 'deleting' ||
  t.routes.some((r) => r.phase === 'pending' || r.phase === 'deleting');

export function TunnelsPage() {
  const { client, user, refreshUser } = useSession();
  const list = useLive(
    (signal) => {
      // The quotas and usage beside the list follow too (an admin may change them meanwhile).
      refreshUser();
      return client.tunnels.listAll({ signal });
    },
    [client],
    (d) => busyPoll(!!d?.some(unsettled)),
  );
  return (
    <>
      <div class="page-head">
        <PageTitle title="Tunnels">Tunnels</PageTitle>
        <Usage />
      </div>
      <CreateTunnel
        teams={(user.teams ?? []).map((t) => t.name)}
        onCreated={() => {
          void list.reload();
          refreshUser();
        }}
      />
      <ErrorNote message={list.error} />
      {list.data === null ? (
        !list.error && <Loading what="your tunnels" />
      ) : list.data.length === 0 ? (
        <p class="empty">
          No tunnels yet. Create one above, or with <code>tunnelctl tunnel create</code>.
        </p>
      ) : (
        <TunnelTable tunnels={list.data} />
      )}
    </>
  );
}

function Usage() {
  const { user } = useSession();
  const q = user.quotas;
  const u = user.usage;
  const part = (used: number, limit: number | null, what: string) =>
    `${used} of ${limit === null ? 'unlimited' : limit} ${what}`;
  return (
    <p class="usage" data-testid="usage">
      You use {part(u.tunnels, q.tunnels, 'tunnels')} and {part(u.routes, q.routes, 'routes')}.
    </p>
  );
}

function TunnelTable({ tunnels }: { tunnels: Tunnel[] }) {
  return (
    <div class="table-wrap">
      <table class="list">
        <caption class="sr-only">Your tunnels</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Phase</th>
            <th scope="col">cloudflared</th>
            <th scope="col">Config</th>
            <th scope="col">Routes</th>
            <th scope="col">Owner</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {tunnels.map((t) => (
            <tr key={t.name} data-tunnel={t.name}>
              <td data-label="Name">
                <a href={href.tunnel(t.name)}>{t.name}</a>
                {t.lastError && <div class="error-text">{t.lastError}</div>}
              </td>
              <td data-label="Phase">
                <PhaseBadge phase={t.phase} />
              </td>
              <td data-label="cloudflared">
                <ConnectorBadge connectors={t.connectors} />
              </td>
              <td data-label="Config">{t.configMode === 'remote' ? 'Remote' : 'Local'}</td>
              <td data-label="Routes">{t.routes.length}</td>
              <td data-label="Owner">{t.owner}</td>
              <td data-label="Created">{ago(t.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateTunnel({ teams, onCreated }: { teams: string[]; onCreated(): void }) {
  const { client, ended } = useSession();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<ConfigMode>('remote');
  const [team, setTeam] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const r = await client.tunnels.create(
        { configMode: mode, ...(name.trim() ? { name: name.trim() } : {}), ...(team ? { team } : {}) },
        { wait: 0 },
      );
      setCreated(r.value.name);
      setName('');
      onCreated();
    } catch (err) {
      if (sessionEnded(err)) ended(err);
      else setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="create-tunnel">
      <h2 id="create-tunnel">Create a tunnel</h2>
      <form class="inline-form" onSubmit={(e) => void submit(e)}>
        <Field
          label="Name"
          hint="Up to 24 lower-case letters, digits or single dashes, starting with a letter; empty for a random name."
        >
          {(id, hint) => (
            <input
              id={id}
              aria-describedby={hint}
              name="name"
              placeholder="random"
              maxLength={24}
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field
          label="Configuration"
          hint="Remote: Cloudflare pushes the routes. Local: cloudflared reads config.yaml."
        >
          {(id, hint) => (
            <select
              id={id}
              aria-describedby={hint}
              value={mode}
              onChange={(e) => setMode(e.currentTarget.value as ConfigMode)}
            >
              <option value="remote">Remote (token)</option>
              <option value="local">Local (config.yaml)</option>
            </select>
          )}
        </Field>
        {teams.length > 0 && (
          <Field label="Owner">
            {(id) => (
              <select id={id} value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
                <option value="">Me</option>
                {teams.map((t) => (
                  <option key={t} value={t}>
                    Team {t}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <div class="field submit">
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create tunnel'}
          </button>
        </div>
      </form>
      <ErrorNote message={error} onDismiss={() => setError(null)} />
      {created && (
        <Notice kind="ok">
          Tunnel <a href={href.tunnel(created)}>{created}</a> created; the control plane is setting it up at
          Cloudflare.
        </Notice>
      )}
    </section>
  );
}

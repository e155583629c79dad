/**
 * The user's tunnels (their own and their teams'): phase, config mode, connector health, route
 * count; create one (random or chosen name, remote or local, personal or a team's); usage against
 * quotas. Polled: every 2 s while something is pending, else every 10 s.
 */
import { useState } from 'preact/hooks';
import type { ConfigMode, Tunnel } from '../../../src/client/index.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';
import { href } from '../route.js';
import { useAction } from '../action.js';
import { useSession } from '../session.js';
import {
  ConnectorBadge,
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
        <ListHead columns={['Name', 'Phase', 'cloudflared', 'Config', 'Routes', 'Owner', 'Created']} />
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
  const { client } = useSession();
  const { busy, error, setError, run } = useAction();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<ConfigMode>('remote');
  const [team, setTeam] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(null);
    await run(async () => {
      const r = await client.tunnels.create(
        { configMode: mode, ...(name.trim() ? { name: name.trim() } : {}), ...(team ? { team } : {}) },
        { wait: 0 },
      );
      setCreated(r.value.name);
      setName('');
      onCreated();
    });
  };
  return (
    <section class="card" aria-labelledby="create-tunnel">
      <h2 id="create-tunnel">Create a tunnel</h2>
      <form class="inline-form" onSubmit={(e) => void submit(e)}>
        <TextField
          label="Name"
          hint="Up to 24 lower-case letters, digits or single dashes, starting with a letter; empty for a random name."
          name="name"
          placeholder="random"
          maxLength={24}
          value={name}
          onValue={setName}
        />
        <SelectField<ConfigMode>
          label="Configuration"
          hint="Remote: Cloudflare pushes the routes. Local: cloudflared reads config.yaml."
          value={mode}
          onValue={setMode}
          options={[
            ['remote', 'Remote (token)'],
            ['local', 'Local (config.yaml)'],
          ]}
        />
        {teams.length > 0 && (
          <SelectField
            label="Owner"
            value={team}
            onValue={setTeam}
            options={[['', 'Me'], ...teams.map((t) => [t, `Team ${t}`] as const)]}
          />
        )}
        <SubmitField label="Create tunnel" busyLabel="Creating…" busy={busy} />
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

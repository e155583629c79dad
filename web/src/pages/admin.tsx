/**
 * For admins: every user with their usage against their quotas (and changing them), every
 * tunnel with the failing ones first, and the reconciler's health in words (what /metrics knows:
 * queue, passes, last resync, rate-limit waits).
 */
import { useState } from 'preact/hooks';
import type { AdminUser, Tunnel } from '../../../src/client/index.js';
import { ago } from '../format.js';
import { useLive } from '../live.js';
import { reconcilerHealth, parseMetrics, type ReconcilerHealth } from '../metrics.js';
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

const limit = (n: number | null) => (n === null ? 'unlimited' : String(n));

export function AdminPage() {
  const { client } = useSession();
  const users = useLive(
    (signal) => client.admin.users({ signal }),
    [client],
    () => 15_000,
  );
  return (
    <>
      <PageTitle title="Admin">Admin</PageTitle>
      <Health />
      <section class="card" aria-labelledby="users">
        <h2 id="users">Users</h2>
        <ErrorNote message={users.error} />
        {users.data === null ? (
          !users.error && <Loading what="users" />
        ) : (
          <>
            <UsersTable users={users.data} />
            <QuotaForm users={users.data} onSaved={() => void users.reload()} />
          </>
        )}
      </section>
      <AllTunnels />
    </>
  );
}

function UsersTable({ users }: { users: AdminUser[] }) {
  return (
    <div class="table-wrap">
      <table class="list">
        <ListHead
          columns={['User', 'Role', 'Tunnels (used / quota)', 'Routes (used / quota)', 'Sign-in', 'State']}
        />
        <tbody>
          {users.map((u) => (
            <tr key={u.name} data-user={u.name}>
              <td data-label="User">
                {u.name}
                {u.email && <div class="hint">{u.email}</div>}
              </td>
              <td data-label="Role">{u.role}</td>
              <td data-label="Tunnels">
                {u.usage.tunnels} / {limit(u.quotas.tunnels)}
              </td>
              <td data-label="Routes">
                {u.usage.routes} / {limit(u.quotas.routes)}
              </td>
              <td data-label="Sign-in">{(u.signIn ?? []).join(', ') || '—'}</td>
              <td data-label="State">{u.disabled ? 'Disabled' : 'Active'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QuotaForm({ users, onSaved }: { users: AdminUser[]; onSaved(): void }) {
  const { client } = useSession();
  const { busy, error, setError, run } = useAction();
  const [who, setWho] = useState(users[0]?.name ?? '');
  const current = users.find((u) => u.name === who);
  const shown = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));
  const [tunnels, setTunnels] = useState(shown(users[0]?.quotas.tunnels));
  const [routes, setRoutes] = useState(shown(users[0]?.quotas.routes));
  const [saved, setSaved] = useState<string | null>(null);
  const pick = (name: string) => {
    setWho(name);
    const u = users.find((x) => x.name === name);
    setTunnels(shown(u?.quotas.tunnels));
    setRoutes(shown(u?.quotas.routes));
    setSaved(null);
  };
  const num = (s: string) => (s.trim() === '' ? null : Number(s));
  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    await run(async () => {
      const u = await client.admin.setQuotas(who, { tunnels: num(tunnels), routes: num(routes) });
      setSaved(`Quotas of ${u.name}: ${limit(u.quotas.tunnels)} tunnels, ${limit(u.quotas.routes)} routes.`);
      onSaved();
    });
  };
  return (
    <form class="inline-form quota" onSubmit={(e) => void submit(e)} aria-labelledby="quota-h">
      <h3 id="quota-h">Change a user's quotas</h3>
      <SelectField
        label="User"
        value={who}
        onValue={pick}
        options={users.map((u) => [u.name, u.name] as const)}
      />
      <TextField
        label="Tunnel quota"
        hint={`Now ${limit(current?.quotas.tunnels ?? null)}; empty: the default.`}
        type="number"
        min={0}
        value={tunnels}
        onValue={setTunnels}
      />
      <TextField
        label="Route quota"
        hint={`Now ${limit(current?.quotas.routes ?? null)}; empty: the default.`}
        type="number"
        min={0}
        value={routes}
        onValue={setRoutes}
      />
      <SubmitField label="Save quotas" busyLabel="Saving…" busy={busy} disabled={!who} />
      <div class="wide-cell">
        <ErrorNote message={error} onDismiss={() => setError(null)} />
        {saved && <Notice kind="ok">{saved}</Notice>}
      </div>
    </form>
  );
}

const rank = (t: Tunnel) =>
  t.phase === 'error' || t.lastError || t.routes.some((r) => r.phase === 'error')
    ? 0
    : t.connectors?.status === 'down'
      ? 1
      : t.phase === 'pending' || t.phase === 'deleting'
        ? 2
        : 3;

function AllTunnels() {
  const { client } = useSession();
  const list = useLive(
    async (signal) => (await client.admin.tunnels({ limit: 500, signal })).items,
    [client],
    () => 10_000,
  );
  const sorted = [...(list.data ?? [])].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return (
    <section class="card" aria-labelledby="all-tunnels">
      <h2 id="all-tunnels">All tunnels</h2>
      <p class="muted">
        Failing tunnels first, then those whose cloudflared is down, then those being set up.
      </p>
      <ErrorNote message={list.error} />
      {list.data === null ? (
        !list.error && <Loading what="tunnels" />
      ) : sorted.length === 0 ? (
        <p class="empty">No tunnels on this server yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <ListHead columns={['Tunnel', 'Owner', 'Phase', 'cloudflared', 'Routes', 'Problem']} />
            <tbody>
              {sorted.map((t) => {
                const failing = t.routes.filter((r) => r.lastError);
                return (
                  <tr key={`${t.owner}/${t.name}`} data-admin-tunnel={t.name}>
                    <td data-label="Tunnel">{t.name}</td>
                    <td data-label="Owner">{t.owner}</td>
                    <td data-label="Phase">
                      <PhaseBadge phase={t.phase} />
                    </td>
                    <td data-label="cloudflared">
                      <ConnectorBadge connectors={t.connectors} />
                    </td>
                    <td data-label="Routes">{t.routes.length}</td>
                    <td data-label="Problem" class="error-text">
                      {t.lastError ??
                        (failing.length ? `${failing[0]!.hostname}: ${failing[0]!.lastError}` : '')}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Health() {
  const { client } = useSession();
  const m = useLive(
    async (signal) => reconcilerHealth(parseMetrics(await client.system.metrics({ signal }))),
    [client],
    () => 10_000,
  );
  return (
    <section class="card" aria-labelledby="health">
      <h2 id="health">Reconciler</h2>
      <ErrorNote message={m.error} />
      {m.data === null ? !m.error && <Loading what="the reconciler's health" /> : <HealthWords h={m.data} />}
    </section>
  );
}

function HealthWords({ h }: { h: ReconcilerHealth }) {
  const tunnels = Object.entries(h.tunnelsByPhase)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${p}`)
    .join(', ');
  return (
    <ul class="health" data-testid="health">
      <li>
        <strong>Queue:</strong>{' '}
        {h.queue === null
          ? 'not measured on this replica'
          : h.queue === 0
            ? 'nothing waiting — every tunnel is as asked'
            : `${h.queue} tunnel${h.queue === 1 ? '' : 's'} waiting to be converged`}
      </li>
      <li>
        <strong>Passes:</strong> {h.passes} since start
        {h.failedPasses ? `, ${h.failedPasses} with a failing tunnel` : ''}
      </li>
      <li>
        <strong>Last resync:</strong>{' '}
        {h.lastResync ? ago(new Date(h.lastResync).toISOString()) : 'not yet on this replica'}
        {h.resyncFailures ? ` (${h.resyncFailures} failed steps, retried at the next)` : ''}
      </li>
      <li>
        <strong>Cloudflare rate limit:</strong>{' '}
        {h.rateLimitWaitSeconds >= 0.05 || h.rateLimited > 0
          ? `calls waited ${h.rateLimitWaitSeconds.toFixed(1)} s in all; ${h.rateLimited} answered 429`
          : 'no waits, no 429 answers'}
      </li>
      <li>
        <strong>Connector health:</strong>{' '}
        {h.lastHealthRefresh
          ? `last read from Cloudflare ${ago(new Date(h.lastHealthRefresh).toISOString())}`
          : 'not read yet'}
      </li>
      {tunnels && (
        <li>
          <strong>Tunnels:</strong> {tunnels}
        </li>
      )}
      <li class="hint">
        From this replica's <a href="/metrics">/metrics</a>; the API's reference is at{' '}
        <a href="/docs">/docs</a>.
      </li>
    </ul>
  );
}

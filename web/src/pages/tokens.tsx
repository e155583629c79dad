/** API tokens: create one (name, scopes, expiry) whose secret is shown once, list them, revoke. */
import { useState } from 'preact/hooks';
import type { CreatedToken, Scope } from '../../../src/client/index.js';
import { SCOPES } from '../../../src/client/index.js';
import { explain, sessionEnded } from '../api.js';
import { ago, when } from '../format.js';
import { useLive } from '../live.js';
import { useSession } from '../session.js';
import { Command, ConfirmButton, ErrorNote, Field, Loading, Notice, PageTitle } from '../ui.js';

export function TokensPage() {
  const { client, user, ended } = useSession();
  const list = useLive((signal) => client.tokens.list({ signal }), [client]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read', 'write']);
  const [days, setDays] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const offered = SCOPES.filter((s) => s !== 'admin' || user.role === 'admin');
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const t = await client.tokens.create({
        name: name.trim(),
        scopes,
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      setCreated(t);
      setName('');
      void list.reload();
    } catch (err) {
      if (sessionEnded(err)) ended(err);
      else setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <PageTitle title="API tokens">API tokens</PageTitle>
      <p class="muted">
        For scripts and CI: <code>Authorization: Bearer tp_…</code>, or <code>TUNNELCTL_TOKEN</code> for
        tunnelctl.
      </p>
      <section class="card" aria-labelledby="new-token">
        <h2 id="new-token">Create a token</h2>
        <form onSubmit={(e) => void submit(e)}>
          <div class="grid2">
            <Field label="Token name">
              {(id) => (
                <input
                  id={id}
                  required
                  maxLength={100}
                  value={name}
                  onInput={(e) => setName(e.currentTarget.value)}
                />
              )}
            </Field>
            <Field
              label="Expires after (days)"
              hint="Empty: as late as allowed. A token made here expires with this sign-in at the latest; for longer-lived ones use tunnelctl tokens create with your password."
            >
              {(id, hint) => (
                <input
                  id={id}
                  aria-describedby={hint}
                  type="number"
                  min={1}
                  max={3650}
                  value={days}
                  onInput={(e) => setDays(e.currentTarget.value)}
                />
              )}
            </Field>
          </div>
          <fieldset>
            <legend>Scopes</legend>
            {offered.map((s) => (
              <label class="choice" key={s}>
                <input
                  type="checkbox"
                  checked={scopes.includes(s)}
                  onChange={(e) =>
                    setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))
                  }
                />{' '}
                {s === 'read'
                  ? 'read (every GET)'
                  : s === 'write'
                    ? 'write (changes)'
                    : 'admin (the admin paths)'}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy || scopes.length === 0}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </form>
        <ErrorNote message={error} onDismiss={() => setError(null)} />
        {created && (
          <Notice kind="ok">
            <p>
              Token <strong>{created.token.name}</strong> created. Copy its secret now: it is shown only this
              once.
            </p>
            <Command label="token secret" text={created.secret} />
          </Notice>
        )}
      </section>
      <section class="card" aria-labelledby="tokens">
        <h2 id="tokens">Your tokens</h2>
        <ErrorNote message={list.error} />
        {list.data === null ? (
          !list.error && <Loading what="your tokens" />
        ) : list.data.length === 0 ? (
          <p class="empty">No tokens.</p>
        ) : (
          <div class="table-wrap">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((t) => (
                  <tr key={t.id} data-token={t.name}>
                    <td data-label="Name">{t.name}</td>
                    <td data-label="Scopes">{(t.scopes ?? []).join(', ')}</td>
                    <td data-label="Created">{when(t.createdAt)}</td>
                    <td data-label="Last used">{ago(t.lastUsedAt)}</td>
                    <td data-label="Expires">{t.expiresAt ? when(t.expiresAt) : 'never'}</td>
                    <td data-label="Actions">
                      <ConfirmButton
                        label="Revoke"
                        accessibleLabel={`Revoke token ${t.name}`}
                        title={`Revoke token ${t.name}?`}
                        confirmLabel="Revoke token"
                        explain={explain}
                        onConfirm={async () => {
                          await client.tokens.delete(t.id);
                          void list.reload();
                        }}
                      >
                        <p>Scripts using it are refused from now on.</p>
                      </ConfirmButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

/** API tokens: create one (name, scopes, expiry) whose secret is shown once, list them, revoke. */
import { useState } from 'preact/hooks';
import type { CreatedToken, Scope } from '../../../src/client/index.js';
import { SCOPES } from '../../../src/client/index.js';
import { explain } from '../api.js';
import { ago, when } from '../format.js';
import { useLive } from '../live.js';
import { useAction } from '../action.js';
import { useSession } from '../session.js';
import { Command, ConfirmButton, ErrorNote, ListHead, Loading, Notice, PageTitle, TextField } from '../ui.js';

export function TokensPage() {
  const { client, user } = useSession();
  const { busy, error, setError, run } = useAction();
  const list = useLive((signal) => client.tokens.list({ signal }), [client]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read', 'write']);
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const offered = SCOPES.filter((s) => s !== 'admin' || user.role === 'admin');
  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      const t = await client.tokens.create({
        name: name.trim(),
        scopes,
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      setCreated(t);
      setName('');
      void list.reload();
    });
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
            <TextField label="Token name" required maxLength={100} value={name} onValue={setName} />
            <TextField
              label="Expires after (days)"
              hint="Empty: as late as allowed. A token made here expires with this sign-in at the latest; for longer-lived ones use tunnelctl tokens create with your password."
              type="number"
              min={1}
              max={3650}
              value={days}
              onValue={setDays}
            />
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
              <ListHead columns={['Name', 'Scopes', 'Created', 'Last used', 'Expires']} actions />
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

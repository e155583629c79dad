/** The audit trail the user may see (their own and their teams'; admins everyone's), filterable, polled every 10 s. */
import { useMemo, useState } from 'preact/hooks';
import type { AuditEvent } from '../../../src/client/index.js';
import { when } from '../format.js';
import { useLive } from '../live.js';
import { useSession } from '../session.js';
import { ErrorNote, ListHead, Loading, PageTitle, SelectField, TextField } from '../ui.js';

export function EventsPage() {
  const { client } = useSession();
  const [pages, setPages] = useState<AuditEvent[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLive(
    async (signal) => {
      const p = await client.events.list({ limit: 100, signal });
      setCursor(p.nextCursor);
      return p.items;
    },
    [client],
    () => 10_000,
  );
  const [text, setText] = useState('');
  const [outcome, setOutcome] = useState('');
  const all = useMemo(() => [...(first.data ?? []), ...pages.flat()], [first.data, pages]);
  const shown = all.filter(
    (e) =>
      (!outcome || e.outcome === outcome) &&
      (!text || `${e.action} ${e.target} ${e.actor}`.toLowerCase().includes(text.toLowerCase())),
  );
  const more = async () => {
    if (!cursor) return;
    const p = await client.events.list({ limit: 100, cursor });
    setPages([...pages, p.items]);
    setCursor(p.nextCursor);
  };
  return (
    <>
      <PageTitle title="Events">Events</PageTitle>
      <p class="muted">What you and the control plane did to your tunnels, newest first.</p>
      <form class="inline-form filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <TextField
          label="Filter"
          type="search"
          placeholder="action, tunnel or user"
          value={text}
          onValue={setText}
        />
        <SelectField
          label="Outcome"
          value={outcome}
          onValue={setOutcome}
          options={[
            ['', 'Any'],
            ['ok', 'Succeeded'],
            ['error', 'Failed'],
          ]}
        />
      </form>
      <ErrorNote message={first.error} />
      {first.data === null ? (
        !first.error && <Loading what="events" />
      ) : shown.length === 0 ? (
        <p class="empty">No events{text || outcome ? ' match the filter' : ' yet'}.</p>
      ) : (
        <div class="table-wrap">
          <table class="list">
            <ListHead columns={['When', 'Who', 'What', 'On', 'Outcome']} />
            <tbody>
              {shown.map((e) => (
                <tr key={e.id}>
                  <td data-label="When">{when(e.at)}</td>
                  <td data-label="Who">{e.actor}</td>
                  <td data-label="What" class="mono">
                    {e.action}
                  </td>
                  <td data-label="On" class="mono">
                    {e.target}
                  </td>
                  <td data-label="Outcome">
                    <span class={`badge ${e.outcome === 'ok' ? 'phase-ready' : 'phase-error'}`}>
                      {e.outcome === 'ok' ? 'Succeeded' : 'Failed'}
                    </span>
                    {typeof e.details.code === 'string' && <div class="hint mono">{e.details.code}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={() => void more()}>
          Show older events
        </button>
      )}
    </>
  );
}

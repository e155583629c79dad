/**
 * The console's shell: finds the browser's session (or shows sign-in), the header with the
 * pages a user may see, and the page the URL names. A session that ends under a page (expired,
 * signed out elsewhere) brings sign-in back with a message saying so.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { TunnelplaneClient, User } from '../../src/client/index.js';
import { clientFor, explain, sessionEnded } from './api.js';
import { href, usePage, type Page } from './route.js';
import { SessionContext, type SessionState } from './session.js';
import { ErrorNote, Loading } from './ui.js';
import { SignIn } from './pages/sign-in.js';
import { TunnelsPage } from './pages/tunnels.js';
import { TunnelPage } from './pages/tunnel.js';
import { TokensPage } from './pages/tokens.js';
import { EventsPage } from './pages/events.js';
import { AdminPage } from './pages/admin.js';

type State =
  | { kind: 'loading' }
  | { kind: 'signed-out'; notice: string | null }
  | { kind: 'broken'; error: string }
  | { kind: 'signed-in'; user: User; client: TunnelplaneClient };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const find = useCallback(async () => {
    try {
      const s = await clientFor(null).signIn.session();
      setState({ kind: 'signed-in', user: s.user, client: clientFor(s.csrfToken) });
    } catch (err) {
      if (sessionEnded(err)) setState({ kind: 'signed-out', notice: null });
      else setState({ kind: 'broken', error: explain(err) });
    }
  }, []);
  useEffect(() => void find(), [find]);

  if (state.kind === 'loading') return <Loading what="the console" />;
  if (state.kind === 'broken')
    return (
      <main class="center">
        <h1>Tunnelplane</h1>
        <ErrorNote message={state.error} />
        <button type="button" onClick={() => void find()}>
          Try again
        </button>
      </main>
    );
  if (state.kind === 'signed-out')
    return (
      <SignIn
        notice={state.notice}
        onSignedIn={(user, csrf) => setState({ kind: 'signed-in', user, client: clientFor(csrf) })}
      />
    );
  return (
    <SignedIn
      user={state.user}
      client={state.client}
      onUser={(user) => setState((s) => (s.kind === 'signed-in' ? { ...s, user } : s))}
      onEnded={(notice) => setState({ kind: 'signed-out', notice })}
    />
  );
}

function SignedIn(props: {
  user: User;
  client: TunnelplaneClient;
  onUser(u: User): void;
  onEnded(notice: string | null): void;
}) {
  const page = usePage();
  const { client, onEnded, onUser } = props;
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const session = useMemo<SessionState>(
    () => ({
      user: props.user,
      client,
      ended: (err) => onEnded(explain(err)),
      refreshUser: () =>
        void client
          .me()
          .then(onUser)
          .catch((err: unknown) => (sessionEnded(err) ? onEnded(explain(err)) : undefined)),
    }),
    [props.user, client, onEnded, onUser],
  );
  const admin = props.user.role === 'admin';
  const signOut = async () => {
    try {
      await client.signIn.logout();
      onEnded('You are signed out.');
    } catch (err) {
      if (sessionEnded(err)) onEnded('You are signed out.');
      else setSignOutError(explain(err));
    }
  };
  const nav: Array<[Page['name'][], string, string]> = [
    [['tunnels', 'tunnel'], href.tunnels, 'Tunnels'],
    [['tokens'], href.tokens, 'API tokens'],
    [['events'], href.events, 'Events'],
    ...(admin ? ([[['admin'], href.admin, 'Admin']] as Array<[Page['name'][], string, string]>) : []),
  ];
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.tunnels}>
          <span class="logo" aria-hidden="true" />
          Tunnelplane
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map(([names, to, label]) => (
              <li key={to}>
                <a href={to} aria-current={names.includes(page.name) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted" data-testid="who">
            {props.user.name}
            {admin ? ' (admin)' : ''}
          </span>
          <button type="button" class="secondary small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <ErrorNote message={signOutError} onDismiss={() => setSignOutError(null)} />
        {page.name === 'tunnels' && <TunnelsPage />}
        {page.name === 'tunnel' && <TunnelPage name={page.tunnel} />}
        {page.name === 'tokens' && <TokensPage />}
        {page.name === 'events' && <EventsPage />}
        {page.name === 'admin' &&
          (admin ? <AdminPage /> : <ErrorNote message="This page is for administrators." />)}
      </main>
    </SessionContext.Provider>
  );
}

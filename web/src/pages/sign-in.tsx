/** Sign-in: a password form (the same users as the API and tunnelctl) and single sign-on when the server offers it. */
import { useEffect, useState } from 'preact/hooks';
import type { SignInMethods, User } from '../../../src/client/index.js';
import { clientFor, explain } from '../api.js';
import { ErrorNote, Notice, TextField } from '../ui.js';

export function SignIn(props: {
  notice: string | null;
  onSignedIn(user: User, csrfToken: string | null): void;
}) {
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  const [methodsError, setMethodsError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Sign in · Tunnelplane';
    clientFor(null)
      .signIn.methods()
      .then(setMethods)
      .catch((err: unknown) => setMethodsError(explain(err)));
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await clientFor(null).signIn.password({ name: name.trim(), password });
      props.onSignedIn(s.user, s.csrfToken);
    } catch (err) {
      setError(explain(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  const returnTo = `/${window.location.hash}`;
  return (
    <main class="signin">
      <div class="card signin-card">
        <div class="brand big">
          <span class="logo" aria-hidden="true" />
          Tunnelplane
        </div>
        <h1>Sign in</h1>
        {props.notice && <Notice kind="warn">{props.notice}</Notice>}
        <ErrorNote message={methodsError} />
        {methods?.sso && (
          <>
            <a class="button wide" href={`/auth/login?returnTo=${encodeURIComponent(returnTo)}`}>
              Sign in with single sign-on
            </a>
            {methods.password && <p class="or">or with a password</p>}
          </>
        )}
        {(methods === null || methods.password) && (
          <form onSubmit={(e) => void submit(e)} aria-describedby={error ? 'signin-error' : undefined}>
            <TextField
              label="User name"
              name="username"
              autocomplete="username"
              required
              value={name}
              onValue={setName}
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onValue={setPassword}
            />
            <div id="signin-error">
              <ErrorNote message={error} />
            </div>
            <button type="submit" class="wide" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        )}
        {methods && !methods.password && !methods.sso && (
          <ErrorNote message="This server offers no way to sign in from a browser: ask its operator." />
        )}
      </div>
    </main>
  );
}

/**
 * A change a page sends (a form's submit, a button's action): busy while it runs, its error in
 * words afterwards (`explain`), and a session that ended brings sign-in back — as `useLive` does
 * for reads.
 */
import { useState } from 'preact/hooks';
import { explain, sessionEnded } from './api.js';
import { useSession } from './session.js';

export interface Action {
  busy: boolean;
  /** What went wrong the last time, in words. */
  error: string | null;
  setError(error: string | null): void;
  /** Runs `fn`; a failure becomes `error`, then `onError` hears it (not when the session ended). */
  run(fn: () => Promise<void>, onError?: (err: unknown) => Promise<void> | void): Promise<void>;
}

export function useAction(): Action {
  const { ended } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run: Action['run'] = async (fn, onError) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      if (sessionEnded(err)) ended(err);
      else {
        setError(explain(err));
        await onError?.(err);
      }
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

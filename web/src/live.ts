/**
 * Reading from the API while a page is open: `useLive` loads once, then again every `everyMs`
 * (which may depend on what it read: sooner while something is pending) while the page is
 * visible — polite polling, one request at a time, never while the tab is hidden.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { explain, sessionEnded } from './api.js';
import { useSession } from './session.js';

export interface Live<T> {
  data: T | null;
  /** What went wrong the last time, in words (the previous data stays shown). */
  error: string | null;
  reload(): Promise<void>;
}

export function useLive<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  everyMs: ((data: T | null) => number) | null = null,
): Live<T> {
  const { ended } = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const latest = useRef<T | null>(null);
  const abort = useRef<AbortController | null>(null);

  const run = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const value = await load(ctl.signal);
      if (ctl.signal.aborted) return;
      latest.current = value;
      setData(value);
      setError(null);
    } catch (err) {
      if (ctl.signal.aborted) return;
      if (sessionEnded(err)) ended(err);
      else setError(explain(err));
    } finally {
      busy.current = false;
    }
  }, deps);

  useEffect(() => {
    latest.current = null;
    setData(null);
    setError(null);
    let timer: number | undefined;
    let stopped = false;
    const tick = async () => {
      if (document.visibilityState === 'visible') await run();
      if (stopped || !everyMs) return;
      timer = window.setTimeout(tick, everyMs(latest.current));
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible' && everyMs) {
        window.clearTimeout(timer);
        void tick();
      }
    };
    void tick();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      abort.current?.abort();
      busy.current = false;
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [run]);

  return { data, error, reload: run };
}

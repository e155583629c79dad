/**
 * Waiting, visibly: a spinner on stderr while a request or a poll runs (only when stderr is a
 * terminal, silence when piped), and polling with a growing interval until a deadline.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Runs `fn` with a spinner labelled `label` on `stream` when it is a terminal. */
export async function withSpinner<T>(
  stream: ProgressStream,
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!stream.isTTY) return fn();
  let i = 0;
  const started = Date.now();
  const draw = () => {
    const secs = Math.floor((Date.now() - started) / 1000);
    stream.write(`\r\x1b[2K${FRAMES[i++ % FRAMES.length]} ${label}${secs > 0 ? ` (${secs}s)` : ''}`);
  };
  draw();
  const timer = setInterval(draw, 100);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    stream.write('\r\x1b[2K');
  }
}

/** Waits `ms`, or less when `signal` aborts (then it resolves at once, never rejects). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Calls `fetch` until `done` says so, `deadline` (epoch ms) passes or `signal` aborts; returns the
 * last value and whether it timed out (or was stopped). Intervals grow from 250 ms to 2 s.
 */
export async function pollUntil<T>(opts: {
  deadline: number;
  fetch: () => Promise<T>;
  done: (value: T) => boolean;
  signal?: AbortSignal;
}): Promise<{ value: T; timedOut: boolean; aborted: boolean }> {
  let interval = 250;
  for (;;) {
    const value = await opts.fetch();
    if (opts.done(value)) return { value, timedOut: false, aborted: false };
    if (opts.signal?.aborted) return { value, timedOut: false, aborted: true };
    const left = opts.deadline - Date.now();
    if (left <= 0) return { value, timedOut: true, aborted: false };
    await sleep(Math.min(interval, left), opts.signal);
    if (opts.signal?.aborted) return { value, timedOut: false, aborted: true };
    interval = Math.min(2000, Math.round(interval * 1.5));
  }
}

/**
 * `--wait` / `--no-wait` / `--timeout`: a mutation asks the server to wait (`?wait=`, at most
 * 120 s); when it answers 202 and we still have time, we poll GET until the object is ready (or
 * gone), fails, or the timeout passes — the way `kubectl wait` does.
 */
import { MAX_WAIT_SECONDS, isApiError, type Accepted, type Phase } from '../client/index.js';
import type { Ctx } from './context.js';
import { CliError } from './errors.js';
import { pollUntil, withSpinner } from './progress.js';

interface Converging {
  phase: Phase;
  lastError: string | null;
}

export interface ConvergeSpec<T extends Converging> {
  /** Shown by the spinner: "Creating tunnel abc". */
  label: string;
  /** In messages: "tunnel abc". */
  what: string;
  /** The command that shows the object, for "check with …". */
  check: string;
  goal: 'ready' | 'gone';
  start: (wait: number) => Promise<Accepted<T | null>>;
  /** The object now; null when it no longer exists. */
  poll: () => Promise<T | null>;
}

/** Seconds to put in `?wait=` for this invocation. */
export function serverWait(ctx: Ctx): number {
  return ctx.wait ? Math.min(ctx.timeoutSeconds, MAX_WAIT_SECONDS) : 0;
}

/** Runs the mutation and waits as the flags say. Returns the final object (null when gone). */
export async function converge<T extends Converging>(ctx: Ctx, spec: ConvergeSpec<T>): Promise<T | null> {
  const deadline = Date.now() + ctx.timeoutSeconds * 1000;
  const first = await withSpinner(ctx.io.stderr, spec.label, () => spec.start(serverWait(ctx)));
  if (first.converged) return first.value;
  if (!ctx.wait) {
    if (first.value)
      ctx.note(`${capital(spec.what)} is ${first.value.phase}; not waiting (check with: ${spec.check})`);
    return first.value;
  }
  let current = first.value;
  if (!settled(current, spec.goal)) {
    const polled = await withSpinner(ctx.io.stderr, spec.label, () =>
      pollUntil({ deadline, fetch: spec.poll, done: (v) => settled(v, spec.goal) }),
    );
    current = polled.value;
    if (polled.timedOut) {
      const state = current
        ? ` (phase ${current.phase}${current.lastError ? `: ${current.lastError}` : ''})`
        : '';
      throw new CliError(
        `Timed out after ${ctx.timeoutSeconds}s waiting for ${spec.what}${state}; the control plane keeps trying: check with ${spec.check}, or wait longer with --timeout`,
        { code: 'cli.timeout' },
      );
    }
  }
  if (current?.phase === 'error') {
    throw new CliError(
      `${capital(spec.what)} failed: ${current.lastError ?? 'no reason given'}; the control plane keeps retrying: check with ${spec.check}`,
      { code: 'cli.provisioning_failed', details: { lastError: current.lastError } },
    );
  }
  return current;
}

function settled(v: Converging | null, goal: 'ready' | 'gone'): boolean {
  if (goal === 'gone') return v === null;
  return v !== null && (v.phase === 'ready' || v.phase === 'error');
}

/** Wraps a GET so that 404 means "gone". */
export async function orGone<T>(get: () => Promise<T>): Promise<T | null> {
  try {
    return await get();
  } catch (err) {
    if (isApiError(err) && err.status === 404) return null;
    throw err;
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The bounded wait of a request for the reconciler (like `kubectl wait`): until a condition
 * holds for the tunnel's current rows, the tunnel is gone, or the time is up. Wakes on the
 * store's in-process signal and polls for other replicas' work; a shutdown ends every wait at
 * once (callers answer with the current state).
 */
import type { StoreSignals, TunnelRow, TunnelsRepository } from '../store/index.js';

export function createWaits(deps: {
  tunnels: Pick<TunnelsRepository, 'byId'>;
  signals: StoreSignals;
  maxWaitMs: number;
}) {
  const { tunnels, signals } = deps;
  let closing = false;
  const waiters = new Set<() => void>();

  return {
    async waitFor(
      tunnelId: string,
      waitMs: number,
      done: (t: TunnelRow | undefined) => boolean | Promise<boolean>,
    ): Promise<boolean> {
      const deadline = Date.now() + Math.min(waitMs, deps.maxWaitMs);
      for (;;) {
        const t = await tunnels.byId(tunnelId);
        if (await done(t)) return true;
        const left = deadline - Date.now();
        // Shutting down: answer now with the current state (202) rather than hold the exit.
        if (left <= 0 || closing) return false;
        await new Promise<void>((resolve) => {
          const onChange = (id: string) => {
            if (id === tunnelId) finish();
          };
          const timer = setTimeout(() => finish(), Math.min(left, 250));
          const finish = () => {
            clearTimeout(timer);
            signals.off('observed', onChange);
            waiters.delete(finish);
            resolve();
          };
          signals.on('observed', onChange);
          waiters.add(finish);
        });
      }
    },
    /** Ends every wait at once (server shutdown). */
    shutdown() {
      closing = true;
      for (const finish of [...waiters]) finish();
    },
  };
}

export type Waits = ReturnType<typeof createWaits>;

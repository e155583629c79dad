/**
 * Every live tunnel has its Cloudflare tunnel, created with the secret we generated (so an
 * adopted tunnel has the same credentials). A name conflict means ours exists already (a
 * create whose answer was lost): look it up by name and adopt it. The id is recorded at once.
 * A tunnel being deleted that never got an id is looked up too, so it is deleted as well.
 * What to send is decided by the planner (tunnels-plan.ts); this executor sends and records.
 */
import { ProviderError } from '../../domain/errors.js';
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { failTunnel, type Work } from '../work.js';
import { planAfterConflict, planTunnel, tunnelTargets, type TunnelOp } from './tunnels-plan.js';

export function createTunnelsStep(ctx: StepContext) {
  const { cloudflare, ownership } = ctx;

  const conflict = (err: unknown) => err instanceof ProviderError && err.kind === 'conflict';

  /** Sends one operation; an id is recorded as soon as it is known (a crash after it loses nothing). */
  async function apply(w: Work, op: TunnelOp): Promise<void> {
    const cfName = ownership.tunnelName(w.tunnel.name);
    switch (op.kind) {
      case 'look_up': {
        // Only for this pass's deletion: the row goes with it.
        const found = await cloudflare.findTunnel(cfName);
        if (found) w.tunnel.cfTunnelId = found.id;
        return;
      }
      case 'create': {
        const secret = ctx.secrets.open(w.tunnel.secretSealed);
        let id: string;
        try {
          id = (await cloudflare.createTunnel(cfName, secret, op.configSource)).id;
        } catch (err) {
          if (!conflict(err)) throw err;
          const next = planAfterConflict(await cloudflare.findTunnel(cfName));
          if (next.length === 0) throw err;
          for (const then of next) await apply(w, then);
          return;
        }
        return record(w, id);
      }
      case 'adopt':
        ctx.logger.info({ tunnel: w.tunnel.name, cloudflareId: op.id }, 'adopted existing Cloudflare tunnel');
        return record(w, op.id);
    }
  }

  async function record(w: Work, id: string) {
    await ctx.work.setCloudflareId(w.tunnel.id, id);
    w.tunnel.cfTunnelId = id;
  }

  return {
    async ensure(ws: Work[]) {
      await mapLimit(tunnelTargets(ws), ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          try {
            for (const op of planTunnel(w.tunnel)) await apply(w, op);
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}

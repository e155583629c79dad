/**
 * Every live tunnel has its Cloudflare tunnel, created with the secret we generated (so an
 * adopted tunnel has the same credentials). A name conflict means ours exists already (a
 * create whose answer was lost): look it up by name and adopt it. The id is recorded at once.
 * A tunnel being deleted that never got an id is looked up too, so it is deleted as well.
 */
import { ProviderError } from '../../domain/errors.js';
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { active, failTunnel, type Work } from '../work.js';

export function createTunnelsStep(ctx: StepContext) {
  const { cloudflare, ownership } = ctx;
  return {
    async ensure(ws: Work[]) {
      const missing = ws.filter((w) => active(w) && !w.tunnel.cfTunnelId);
      await mapLimit(missing, ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          const cfName = ownership.tunnelName(w.tunnel.name);
          try {
            if (w.tunnel.deleting) {
              const found = await cloudflare.findTunnel(cfName);
              if (found) w.tunnel.cfTunnelId = found.id;
              return;
            }
            const secret = ctx.secrets.open(w.tunnel.secretSealed);
            let id: string;
            try {
              id = (
                await cloudflare.createTunnel(
                  cfName,
                  secret,
                  w.tunnel.configMode === 'remote' ? 'cloudflare' : 'local',
                )
              ).id;
            } catch (err) {
              if (!(err instanceof ProviderError && err.kind === 'conflict')) throw err;
              const found = await cloudflare.findTunnel(cfName);
              if (!found) throw err;
              id = found.id;
              ctx.logger.info(
                { tunnel: w.tunnel.name, cloudflareId: id },
                'adopted existing Cloudflare tunnel',
              );
            }
            await ctx.work.setCloudflareId(w.tunnel.id, id);
            w.tunnel.cfTunnelId = id;
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}

/**
 * The access pods of TCP-like routes: each live protected route's Secret (its service token),
 * Deployment (`cloudflared access tcp`) and Service, server-side applied with field manager
 * `tunnelplane` (a hash of what was applied skips identical applies); a deleted route's objects
 * go before anything else of it. A failure here is the route's own: its tunnel's other routes,
 * and every other tunnel, go on.
 */
import { createHash } from 'node:crypto';
import { accessObjectName } from '../../domain/names.js';
import { renderAccessObjects } from '../../domain/access-objects.js';
import { isTcpLike, type Route } from '../../domain/model.js';
import type { ResyncRepository } from '../../store/index.js';
import { mapLimit } from '../map-limit.js';
import { patchRoute, type StepContext } from '../context.js';
import { failRoute, routeActive, routeLive, type Work } from '../work.js';

export function createKubernetesStep(
  ctx: StepContext,
  resync: Pick<ResyncRepository, 'appliedAccessRoutes'>,
) {
  const { kubernetes, tcpAccess: settings, ownership } = ctx;
  let lastReadiness = 0;

  /** Reads Deployment readiness into the routes (one list call; at most every 2 s unless forced). */
  async function refreshReadiness(force = false) {
    if (!kubernetes) return;
    if (!force && Date.now() - lastReadiness < 2000) return;
    lastReadiness = Date.now();
    const routes = await resync.appliedAccessRoutes();
    if (routes.length === 0) return;
    const status = await kubernetes.deploymentReadiness(ownership.kubernetesSelector);
    const patches = [];
    for (const r of routes) {
      const s = status.get(accessObjectName(r.name, r.tunnel_name));
      const ready = !!s?.ready;
      const reason = s ? s.reason : 'deployment missing';
      if (ready !== (r.k8s_ready === 1) || reason !== r.k8s_reason)
        patches.push({
          tunnelId: r.tunnel_id,
          routeId: r.id,
          objects: { k8sReady: ready, k8sReason: reason },
        });
    }
    await ctx.work.patchRoutes(patches);
  }

  const each = (targets: Array<{ w: Work; r: Route }>, fn: (w: Work, r: Route) => Promise<void>) =>
    mapLimit(targets, ctx.options.concurrency, async ({ w, r }) => {
      try {
        await fn(w, r);
      } catch (err) {
        failRoute(w, r, err);
      }
    });

  return {
    enabled: !!kubernetes,
    refreshReadiness,

    /** Before anything else of a deleted TCP route: its Kubernetes objects. */
    async remove(ws: Work[]) {
      if (!kubernetes) return;
      await each(
        ws.flatMap((w) =>
          w.routes
            .filter((r) => !routeLive(w, r) && isTcpLike(r) && !r.objects.k8sRemoved && routeActive(w, r))
            .map((r) => ({ w, r })),
        ),
        async (w, r) => {
          const name = accessObjectName(r.name, w.tunnel.name);
          for (const kind of ['Deployment', 'Service', 'Secret'] as const)
            await kubernetes.remove(kind, name);
          await patchRoute(ctx, w, r, { k8sHash: null, k8sRemoved: true, k8sReady: false, k8sReason: null });
        },
      );
    },

    /** Applies each live protected TCP route's Secret, Deployment and Service when they changed. */
    async apply(ws: Work[]) {
      if (!kubernetes) return;
      const targets = ws.flatMap((w) =>
        w.routes
          .filter(
            (r) =>
              routeLive(w, r) &&
              isTcpLike(r) &&
              routeActive(w, r) &&
              r.objects.accessAppId &&
              r.objects.serviceTokenSealed,
          )
          .map((r) => ({ w, r })),
      );
      if (targets.length === 0) return;
      await each(targets, async (w, r) => {
        const objects = renderAccessObjects(
          {
            namespace: kubernetes.namespace,
            routeName: r.name,
            tunnelName: w.tunnel.name,
            ownerId: w.tunnel.ownerId,
            hostname: r.hostname,
            image: settings.image,
            replicas: settings.replicas,
            port: settings.port,
            tokenVersion: String(r.objects.tokenVersion),
            ownerLabels: ownership.kubernetesLabels,
          },
          {
            clientId: r.objects.serviceTokenClientId ?? '',
            clientSecret: ctx.secrets.open(r.objects.serviceTokenSealed!).toString('utf8'),
          },
        );
        const hash = createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 32);
        if (hash === r.objects.k8sHash) return;
        for (const obj of objects) await kubernetes.apply(obj);
        await patchRoute(ctx, w, r, { k8sHash: hash, k8sReady: false, k8sReason: 'starting' });
      });
      // Readiness is a nicety here: a cluster that cannot answer it fails no route.
      await refreshReadiness(true).catch((err: Error) =>
        ctx.logger.warn({ err: err.message }, 'could not read access pod readiness'),
      );
    },
  };
}

export type KubernetesStep = ReturnType<typeof createKubernetesStep>;

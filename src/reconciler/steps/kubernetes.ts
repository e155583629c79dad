/**
 * The access pods of TCP-like routes: each live protected route's Secret (its service token),
 * Deployment (`cloudflared access tcp`) and Service, server-side applied with field manager
 * `tunnelplane` (a hash of what was applied skips identical applies); a deleted route's objects
 * go before anything else of it. A failure here is the route's own: its tunnel's other routes,
 * and every other tunnel, go on. What to send is decided by the planner (kubernetes-plan.ts);
 * this executor sends and records.
 */
import { accessObjectName } from '../../domain/names.js';
import type { Route } from '../../domain/model.js';
import type { KubernetesApi } from '../../providers/kubernetes/index.js';
import type { ResyncRepository } from '../../store/index.js';
import { mapLimit } from '../map-limit.js';
import { patchRoute, type StepContext } from '../context.js';
import { failRoute, type Work } from '../work.js';
import {
  kubernetesTargets,
  planPodRemoval,
  planPods,
  podObjects,
  readinessPatches,
  type KubernetesOp,
} from './kubernetes-plan.js';

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
    await ctx.work.patchRoutes(readinessPatches(routes, status));
  }

  /** Sends one operation; what it changed is recorded at once. */
  async function apply(k8s: KubernetesApi, w: Work, r: Route, op: KubernetesOp) {
    switch (op.kind) {
      case 'delete':
        return k8s.remove(op.object, accessObjectName(r.name, w.tunnel.name));
      case 'record_removed':
        return patchRoute(ctx, w, r, { k8sHash: null, k8sRemoved: true, k8sReady: false, k8sReason: null });
      case 'apply':
        return k8s.apply(op.object);
      case 'record_applied':
        return patchRoute(ctx, w, r, { k8sHash: op.hash, k8sReady: false, k8sReason: 'starting' });
    }
  }

  const each = (targets: Array<{ w: Work; r: Route }>, fn: (w: Work, r: Route) => Promise<void>) =>
    mapLimit(targets, ctx.options.concurrency, async ({ w, r }) => {
      try {
        await fn(w, r);
      } catch (err) {
        failRoute(w, r, err);
      }
    });

  const targets = (ws: Work[], which: 'apply' | 'remove') =>
    ws.flatMap((w) => kubernetesTargets(w)[which].map((r) => ({ w, r })));

  return {
    enabled: !!kubernetes,
    refreshReadiness,

    /** Before anything else of a deleted TCP route: its Kubernetes objects. */
    async remove(ws: Work[]) {
      if (!kubernetes) return;
      await each(targets(ws, 'remove'), async (w, r) => {
        for (const op of planPodRemoval()) await apply(kubernetes, w, r, op);
      });
    },

    /** Applies each live protected TCP route's Secret, Deployment and Service when they changed. */
    async apply(ws: Work[]) {
      if (!kubernetes) return;
      const live = targets(ws, 'apply');
      if (live.length === 0) return;
      await each(live, async (w, r) => {
        const clientSecret = ctx.secrets.open(r.objects.serviceTokenSealed!).toString('utf8');
        const wanted = podObjects(
          w,
          r,
          { ...settings, namespace: kubernetes.namespace, ownerLabels: ownership.kubernetesLabels },
          clientSecret,
        );
        for (const op of planPods(r, wanted)) await apply(kubernetes, w, r, op);
      });
      // Readiness is a nicety here: a cluster that cannot answer it fails no route.
      await refreshReadiness(true).catch((err: Error) =>
        ctx.logger.warn({ err: err.message }, 'could not read access pod readiness'),
      );
    },
  };
}

export type KubernetesStep = ReturnType<typeof createKubernetesStep>;

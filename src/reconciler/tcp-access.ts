/**
 * TCP-like routes (tcp, ssh, rdp, smb): protected by Cloudflare Access and reachable inside
 * the cluster.
 *
 * Creation order: service token → Access application → Service Auth policy admitting only that
 * token → (DNS, configuration: the hostname goes public only once it is protected) → Secret,
 * Deployment and Service in Kubernetes. Deletion runs the other way: Kubernetes objects →
 * (DNS) → application (its policies go with it) → service token.
 *
 * Access creates have no idempotency key: before the first create of a route the route is
 * marked `access_uncertain`; a later pass that finds the mark lists our objects by name and
 * adopts them (rotating an adopted token, whose secret was never seen). Kubernetes objects are
 * server-side applied, so repeating an apply is harmless; a hash of what was applied skips
 * identical applies, so a converged world gets no writes.
 */
import { createHash } from 'node:crypto';
import { accessObjectName } from '../domain/names.js';
import { LABEL_ROUTE, LABEL_TUNNEL, renderAccessObjects } from '../domain/access-objects.js';
import type { Ownership } from '../domain/ownership.js';
import { isTcpLikeProtocol } from '../domain/service-url.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { RouteRow, Store } from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import { mapLimit } from './map-limit.js';
import { fail, routeLive, type Work } from './work.js';

export interface TcpAccessSettings {
  image: string;
  replicas: number;
  port: number;
}

export const isTcpLike = (r: Pick<RouteRow, 'protocol'>) => isTcpLikeProtocol(r.protocol);
/** TCP-like routes always; HTTP routes when their owner asked for Access (people by email). */
export const needsAccess = (r: Pick<RouteRow, 'protocol' | 'access_rule'>) => isTcpLike(r) || !!r.access_rule;

const POLICY_NAME = 'tunnelplane service token';
const PEOPLE_POLICY_NAME = 'tunnelplane allowed people';
const policyName = (r: RouteRow) => (isTcpLike(r) ? POLICY_NAME : PEOPLE_POLICY_NAME);

function peopleRules(r: RouteRow) {
  const rule = JSON.parse(r.access_rule ?? '{}') as { emails?: string[]; emailDomains?: string[] };
  return [
    ...(rule.emails ?? []).map((email) => ({ email: { email } })),
    ...(rule.emailDomains ?? []).map((domain) => ({ email_domain: { domain } })),
  ];
}

export function createTcpAccess(deps: {
  store: Store;
  cloudflare: CloudflareApi;
  secrets: SecretBox;
  kubernetes: KubernetesApi | null;
  settings: TcpAccessSettings;
  concurrency: number;
  /** Routes per store page during resync. */
  routesPerPage: number;
  ownership: Ownership;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}) {
  const { store, cloudflare, secrets, kubernetes, settings } = deps;
  const { accessName, accessPrefix, kubernetesSelector: SELECTOR } = deps.ownership;
  let lastReadiness = 0;

  const patch = async (r: RouteRow, p: Parameters<Store['work']['patchRoute']>[1]) => {
    Object.assign(r, p);
    await store.work.patchRoute(r.id, p);
  };

  /** Our Access objects of one route, found by name (after an unseen create). */
  async function adopt(w: Work, r: RouteRow) {
    const name = accessName(w.tunnel.name, r.name);
    if (!r.service_token_id && isTcpLike(r)) {
      const token = (await cloudflare.listServiceTokens(name)).find((t) => t.name === name);
      if (token) {
        // Its secret was never seen: rotate to learn one.
        const rotated = await cloudflare.rotateServiceToken(token.id);
        await patch(r, {
          service_token_id: token.id,
          service_token_client_id: rotated.clientId || token.clientId,
          service_token_sealed: secrets.seal(Buffer.from(rotated.clientSecret ?? '')),
          token_version: r.token_version + 1,
        });
      }
    }
    if (!r.access_app_id) {
      const app = (await cloudflare.listAccessApps(name)).find((a) => a.name === name && a.domain === r.hostname);
      if (app) await patch(r, { access_app_id: app.id, access_aud: app.aud });
    }
    if (r.access_app_id && !r.access_policy_id) {
      const policy = (await cloudflare.listAppPolicies(r.access_app_id)).find((p) => p.name === policyName(r));
      if (policy) await patch(r, { access_policy_id: policy.id });
    }
  }

  /** Reads Deployment readiness into the routes (one list call; at most every 2 s unless forced). */
  async function refreshReadiness(force = false) {
    if (!kubernetes) return;
    if (!force && Date.now() - lastReadiness < 2000) return;
    lastReadiness = Date.now();
    const routes = await store.work.appliedAccessRoutes();
    if (routes.length === 0) return;
    const status = await kubernetes.deploymentReadiness(SELECTOR);
    for (const r of routes) {
      const s = status.get(accessObjectName(r.name, r.tunnel_name));
      const ready = s?.ready ? 1 : 0;
      const reason = s ? s.reason : 'deployment missing';
      if (ready !== r.k8s_ready || reason !== r.k8s_reason) await store.work.patchRoute(r.id, { k8s_ready: ready, k8s_reason: reason });
    }
  }


  return {
    /** True when a route may go public: non-TCP routes always, TCP ones once Access protects them. */
    accessReady: (r: RouteRow) => !needsAccess(r) || (!!r.access_policy_id && !r.access_uncertain),
    /** True when nothing of the route's Access objects is left (or might be). */
    accessGone: (r: RouteRow) => !r.access_app_id && !r.service_token_id && !r.access_uncertain,
    /** A TCP route is ready once protected and (with a cluster) its objects are applied. */
    routeReady: (r: RouteRow) => !needsAccess(r) || (!!r.access_policy_id && (!isTcpLike(r) || !kubernetes || !!r.k8s_hash)),

    async ensureAccess(work: Work[]) {
      const targets = work.flatMap((w) => (w.outcome || !w.tunnel.cf_tunnel_id ? [] : w.routes.filter((r) => routeLive(w, r) && needsAccess(r)).map((r) => ({ w, r }))));
      await mapLimit(targets, deps.concurrency, async ({ w, r }) => {
        try {
          if (r.access_uncertain) await adopt(w, r);
          const tcp = isTcpLike(r);
          const missing = (tcp && !r.service_token_id) || !r.access_app_id || !r.access_policy_id;
          if (missing && !r.access_uncertain) await patch(r, { access_uncertain: 1 });
          const name = accessName(w.tunnel.name, r.name);
          if (tcp && !r.service_token_id) {
            const token = await cloudflare.createServiceToken(name);
            await patch(r, {
              service_token_id: token.id,
              service_token_client_id: token.clientId,
              service_token_sealed: secrets.seal(Buffer.from(token.clientSecret ?? '')),
              token_version: r.token_version + 1,
            });
          } else if (tcp && r.rotate_requested) {
            const rotated = await cloudflare.rotateServiceToken(r.service_token_id!);
            await patch(r, {
              service_token_client_id: rotated.clientId || r.service_token_client_id,
              service_token_sealed: secrets.seal(Buffer.from(rotated.clientSecret ?? '')),
              token_version: r.token_version + 1,
              rotate_requested: 0,
            });
            await store.events.append({ ownerId: w.tunnel.owner_id, actor: 'reconciler', action: 'route.token_rotated', target: `${w.tunnel.name}/${r.name}`, outcome: 'ok' });
          }
          if (!r.access_app_id) {
            const app = await cloudflare.createAccessApp(name, r.hostname);
            await patch(r, { access_app_id: app.id, access_aud: app.aud });
          }
          if (!r.access_policy_id) {
            const policy = tcp
              ? await cloudflare.createAppPolicy(r.access_app_id!, POLICY_NAME, 'non_identity', [{ service_token: { token_id: r.service_token_id! } }])
              : await cloudflare.createAppPolicy(r.access_app_id!, PEOPLE_POLICY_NAME, 'allow', peopleRules(r));
            await patch(r, { access_policy_id: policy.id });
          }
          if (r.access_uncertain) await patch(r, { access_uncertain: 0 });
        } catch (err) {
          fail(w, err);
        }
      });
    },

    /** After DNS is gone: the application (with its policy), then the token. */
    async removeAccess(work: Work[]) {
      const targets = work.flatMap((w) =>
        w.outcome ? [] : w.routes.filter((r) => !routeLive(w, r) && !r.dns_record_id && !r.dns_uncertain && (r.access_app_id || r.service_token_id || r.access_uncertain)).map((r) => ({ w, r })),
      );
      await mapLimit(targets, deps.concurrency, async ({ w, r }) => {
        try {
          if (r.access_uncertain) await adopt(w, r);
          if (r.access_app_id) {
            await cloudflare.deleteAccessApp(r.access_app_id);
            await patch(r, { access_app_id: null, access_aud: null, access_policy_id: null });
          }
          if (r.service_token_id) {
            await cloudflare.deleteServiceToken(r.service_token_id);
            await patch(r, { service_token_id: null, service_token_client_id: null, service_token_sealed: null });
          }
          await patch(r, { access_uncertain: 0 });
        } catch (err) {
          fail(w, err);
        }
      });
    },

    /** Applies each live TCP route's Secret, Deployment and Service when they changed. */
    async applyKubernetes(work: Work[]) {
      if (!kubernetes) return;
      const targets = work.flatMap((w) =>
        w.outcome ? [] : w.routes.filter((r) => routeLive(w, r) && isTcpLike(r) && r.access_policy_id && r.service_token_sealed).map((r) => ({ w, r })),
      );
      if (targets.length === 0) return;
      await mapLimit(targets, deps.concurrency, async ({ w, r }) => {
        try {
          const objects = renderAccessObjects(
            {
              namespace: kubernetes.namespace,
              routeName: r.name,
              tunnelName: w.tunnel.name,
              ownerId: w.tunnel.owner_id,
              hostname: r.hostname,
              image: settings.image,
              replicas: settings.replicas,
              port: settings.port,
              tokenVersion: String(r.token_version),
              ownerLabels: deps.ownership.kubernetesLabels,
            },
            { clientId: r.service_token_client_id ?? '', clientSecret: secrets.open(r.service_token_sealed!).toString('utf8') },
          );
          const hash = createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 32);
          if (hash === r.k8s_hash) return;
          for (const obj of objects) await kubernetes.apply(obj);
          await patch(r, { k8s_hash: hash, k8s_ready: 0, k8s_reason: 'starting' });
        } catch (err) {
          fail(w, err);
        }
      });
      await refreshReadiness(true);
    },

    /** Before anything else of a deleted TCP route: its Kubernetes objects. */
    async removeKubernetes(work: Work[]) {
      if (!kubernetes) return;
      const targets = work.flatMap((w) => (w.outcome ? [] : w.routes.filter((r) => !routeLive(w, r) && isTcpLike(r) && r.k8s_hash !== 'removed').map((r) => ({ w, r }))));
      await mapLimit(targets, deps.concurrency, async ({ w, r }) => {
        try {
          const name = accessObjectName(r.name, w.tunnel.name);
          for (const kind of ['Deployment', 'Service', 'Secret'] as const) await kubernetes.remove(kind, name);
          await patch(r, { k8s_hash: 'removed', k8s_ready: 0, k8s_reason: null });
        } catch (err) {
          fail(w, err);
        }
      });
    },

    refreshReadiness,

    /**
     * Drift and orphans: Access objects or Kubernetes objects of live routes that vanished are
     * recreated; ours that no live route names are deleted. Unmarked objects are never touched.
     */
    async resync() {
      const out = { requeue: new Set<string>(), orphanAccess: 0, orphanKubernetes: 0, failed: 0 };
      // Outside first, then the store (see the reconciler's resync).
      let apps: Awaited<ReturnType<CloudflareApi['listAccessApps']>> = [];
      let tokens: Awaited<ReturnType<CloudflareApi['listServiceTokens']>> = [];
      let objects: Awaited<ReturnType<KubernetesApi['listManaged']>> | null = null;
      try {
        apps = await cloudflare.listAccessApps(accessPrefix);
        tokens = await cloudflare.listServiceTokens(accessPrefix);
        if (kubernetes) objects = await kubernetes.listManaged(SELECTOR);
      } catch (err) {
        out.failed++;
        deps.logger.warn({ err: (err as Error).message }, 'Access/Kubernetes resync could not list; will try again');
        return out;
      }
      // The routes are read by keyset pages (the installation may hold 100,000); what is kept
      // between pages is bounded by the objects listed above.
      const appIds = new Set(apps.map((a) => a.id));
      const tokenIds = new Set(tokens.map((t) => t.id));
      const listedNames = new Set([...apps, ...tokens].map((x) => x.name));
      // Listed objects some route names (by id or by name): never orphans.
      const claimed = new Set<string>();
      try {
        for await (const routes of store.work.routePages(deps.routesPerPage)) {
          for (const r of routes) {
            for (const id of [r.access_app_id, r.service_token_id]) if (id && (appIds.has(id) || tokenIds.has(id))) claimed.add(id);
            const name = accessName(r.tunnel_name, r.name);
            if (listedNames.has(name)) claimed.add(name);
            if (!needsAccess(r) || r.deleting || r.tunnel_deleting) continue;
            const lostApp = r.access_app_id && !appIds.has(r.access_app_id);
            const lostToken = r.service_token_id && !tokenIds.has(r.service_token_id);
            if (!lostApp && !lostToken) continue;
            await store.work.patchRoute(r.id, {
              ...(lostApp ? { access_app_id: null, access_aud: null, access_policy_id: null } : {}),
              ...(lostToken ? { service_token_id: null, service_token_client_id: null, service_token_sealed: null, access_policy_id: null } : {}),
            });
            // A new token needs a new policy: drop the app's old one with the app.
            if (lostToken && !lostApp && r.access_app_id) {
              await cloudflare.deleteAccessApp(r.access_app_id);
              await store.work.patchRoute(r.id, { access_app_id: null, access_aud: null });
            }
            out.requeue.add(r.tunnel_id);
          }
        }
        for (const a of apps) {
          if (claimed.has(a.id) || claimed.has(a.name)) continue;
          await cloudflare.deleteAccessApp(a.id);
          out.orphanAccess++;
        }
        for (const t of tokens) {
          if (claimed.has(t.id) || claimed.has(t.name)) continue;
          await cloudflare.deleteServiceToken(t.id);
          out.orphanAccess++;
        }
      } catch (err) {
        out.failed++;
        deps.logger.warn({ err: (err as Error).message }, 'Access resync failed; will try again');
      }
      if (kubernetes && objects) {
        try {
          const objectName = (o: (typeof objects)[number]) =>
            o.labels[LABEL_ROUTE] && o.labels[LABEL_TUNNEL] ? accessObjectName(o.labels[LABEL_ROUTE], o.labels[LABEL_TUNNEL]) : null;
          const listed = new Set(objects.map(objectName).filter((n): n is string => n !== null));
          const wanted = new Set<string>();
          for await (const routes of store.work.routePages(deps.routesPerPage)) {
            for (const r of routes) {
              if (!isTcpLike(r) || r.deleting || r.tunnel_deleting) continue;
              const name = accessObjectName(r.name, r.tunnel_name);
              if (listed.has(name)) wanted.add(name);
              // Re-apply every live route's objects: repairs hand edits and deletions (apply is idempotent).
              if (!r.k8s_hash) continue;
              await store.work.patchRoute(r.id, { k8s_hash: null });
              out.requeue.add(r.tunnel_id);
            }
          }
          for (const o of objects) {
            const name = objectName(o);
            if (name && wanted.has(name)) continue;
            await kubernetes.remove(o.kind, o.name);
            out.orphanKubernetes++;
          }
        } catch (err) {
          out.failed++;
          deps.logger.warn({ err: (err as Error).message }, 'Kubernetes resync failed; will try again');
        }
      }
      return out;
    },
  };
}


/**
 * The Kubernetes planner: which TCP-like routes need their access pods (live, protected: an
 * Access application and a service token whose secret we hold) and which lose them (deleted,
 * before anything else of theirs); what to apply (the rendered Secret, Deployment and Service,
 * skipped when their hash equals the last applied one) or remove (Deployment, Service, Secret);
 * and what the cluster's Deployment readiness changes in the routes. Pure: every case is a row
 * of a table test (kubernetes-plan.test.ts). The step (kubernetes.ts) sends and records.
 */
import { createHash } from 'node:crypto';
import { renderAccessObjects, type KubeObject } from '../../domain/access-objects.js';
import { isTcpLike, type Route, type RouteObjects } from '../../domain/model.js';
import { accessObjectName } from '../../domain/names.js';
import { routeActive, routeLive, type Work } from '../work.js';

export type KubernetesOp =
  | { kind: 'delete'; object: 'Deployment' | 'Service' | 'Secret' }
  /** Every object is gone: recorded, so the route may be deleted. */
  | { kind: 'record_removed' }
  /** Server-side applied, in order (the Secret before the Deployment that reads it). */
  | { kind: 'apply'; object: KubeObject }
  /** What was applied, by hash (an identical apply is skipped); readiness is read afresh. */
  | { kind: 'record_applied'; hash: string };

/** What the access pods are made of, besides the route: the cluster's and the installation's settings. */
export interface PodSettings {
  namespace: string;
  image: string;
  replicas: number;
  port: number;
  ownerLabels: Readonly<Record<string, string>>;
}

/** A route with applied pods, as the store lists them for a readiness check. */
export interface AppliedRoute {
  id: string;
  tunnel_id: string;
  name: string;
  tunnel_name: string;
  k8s_ready: number;
  k8s_reason: string | null;
}

export interface ReadinessPatch {
  tunnelId: string;
  routeId: string;
  objects: Pick<RouteObjects, 'k8sReady' | 'k8sReason'>;
}

/** Live protected TCP routes get their pods; deleted TCP routes whose pods may remain lose them. */
export function kubernetesTargets(w: Work): { apply: Route[]; remove: Route[] } {
  const apply: Route[] = [];
  const remove: Route[] = [];
  for (const r of w.routes) {
    if (!isTcpLike(r) || !routeActive(w, r)) continue;
    if (!routeLive(w, r)) {
      if (!r.objects.k8sRemoved) remove.push(r);
    } else if (r.objects.accessAppId && r.objects.serviceTokenSealed) apply.push(r);
  }
  return { apply, remove };
}

/** A deleted route's objects: the Deployment first, so no pod is left running without its Secret. */
export function planPodRemoval(): KubernetesOp[] {
  return [
    { kind: 'delete', object: 'Deployment' },
    { kind: 'delete', object: 'Service' },
    { kind: 'delete', object: 'Secret' },
    { kind: 'record_removed' },
  ];
}

/** The objects a live route's pods are made of; `clientSecret` is its service token's, opened. */
export function podObjects(w: Work, r: Route, s: PodSettings, clientSecret: string): KubeObject[] {
  return renderAccessObjects(
    {
      namespace: s.namespace,
      routeName: r.name,
      tunnelName: w.tunnel.name,
      ownerId: w.tunnel.ownerId,
      hostname: r.hostname,
      image: s.image,
      replicas: s.replicas,
      port: s.port,
      tokenVersion: String(r.objects.tokenVersion),
      ownerLabels: s.ownerLabels,
    },
    { clientId: r.objects.serviceTokenClientId ?? '', clientSecret },
  );
}

export const objectsHash = (objects: KubeObject[]) =>
  createHash('sha256').update(JSON.stringify(objects)).digest('hex').slice(0, 32);

/** What a live route's pods need: nothing when what it wants is what was applied last. */
export function planPods(r: Route, wanted: KubeObject[]): KubernetesOp[] {
  const hash = objectsHash(wanted);
  if (hash === r.objects.k8sHash) return [];
  return [...wanted.map((object) => ({ kind: 'apply' as const, object })), { kind: 'record_applied', hash }];
}

/** The routes whose recorded readiness differs from the Deployments' (keyed by object name). */
export function readinessPatches(
  routes: readonly AppliedRoute[],
  status: ReadonlyMap<string, { ready: boolean; reason: string | null }>,
): ReadinessPatch[] {
  const patches: ReadinessPatch[] = [];
  for (const r of routes) {
    const s = status.get(accessObjectName(r.name, r.tunnel_name));
    const ready = !!s?.ready;
    const reason = s ? s.reason : 'deployment missing';
    if (ready !== (r.k8s_ready === 1) || reason !== r.k8s_reason)
      patches.push({ tunnelId: r.tunnel_id, routeId: r.id, objects: { k8sReady: ready, k8sReason: reason } });
  }
  return patches;
}

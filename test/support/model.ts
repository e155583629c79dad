/**
 * Tunnels and routes as the store hands them to logic (domain/model.ts), for planner and
 * outcome tests: defaults that describe a converged local tunnel and a plain HTTP route, with
 * anything overridden per case.
 */
import type { Route, RouteObjects, Tunnel } from '../../src/domain/model.js';

export const tunnel = (over: Partial<Tunnel> = {}): Tunnel => ({
  id: 't1',
  ownerId: 'u1',
  name: 'tun',
  configMode: 'local',
  secretSealed: 's',
  cfTunnelId: 'cf1',
  generation: 3,
  observedGeneration: 2,
  phase: 'pending',
  lastError: null,
  deleting: false,
  configHash: null,
  configVersion: null,
  attempts: 0,
  createdAt: '2026-01-01T00:00:00Z',
  ...over,
});
export const objects = (over: Partial<RouteObjects> = {}): RouteObjects => ({
  dnsRecordId: 'rec',
  dnsUncertain: false,
  accessAppId: null,
  accessAud: null,
  accessPoliciesHash: null,
  accessUncertain: false,
  serviceTokenId: null,
  serviceTokenClientId: null,
  serviceTokenSealed: null,
  serviceTokenExpiresAt: null,
  tokenVersion: 0,
  rotateRequested: false,
  k8sHash: null,
  k8sRemoved: false,
  k8sReady: false,
  k8sReason: null,
  ...over,
});
export const route = (id: string, over: Partial<Route> = {}, o: Partial<RouteObjects> = {}): Route => ({
  id,
  tunnelId: 't1',
  name: id,
  hostname: `${id}-tun.example.com`,
  zone: 'example.com',
  service: 'http://localhost:1',
  protocol: 'http',
  allowIps: null,
  access: null,
  originRequest: null,
  generation: 1,
  phase: 'pending',
  lastError: null,
  deleting: false,
  createdAt: '2026-01-01T00:00:00Z',
  objects: objects(o),
  ...over,
});

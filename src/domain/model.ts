/**
 * The validated shapes of tunnels and routes that logic works on. The store turns rows into
 * these once, at its edge (JSON columns parsed, 0/1 integers as booleans); nothing above the
 * store reads a row's columns. What a route asks for (its spec) is kept apart from what the
 * reconciler knows of the objects it made for it outside (`objects`).
 */
import { isTcpLikeProtocol } from './service-url.js';
import type { OriginRequest } from './origin-request.js';

export type Phase = 'pending' | 'ready' | 'error' | 'deleting';
export type ConfigMode = 'local' | 'remote';

/** Cloudflare Access for people on an HTTP route. */
export interface AccessRule {
  emails: string[];
  emailDomains: string[];
  /** Identity-provider groups: values of an OIDC claim, as Cloudflare Access's IdP `idp` reports them. */
  groups?: string[];
  /** The Access IdP and claim the groups are read from (the server's, when the route was written). */
  idp?: { id: string; claim: string };
  /** How long an Access session lasts (a Go duration such as `24h`); none: Cloudflare's 24h. */
  sessionDuration?: string;
}

/** Access sessions last this long unless a route says otherwise. */
export const DEFAULT_SESSION_DURATION = '24h';

export interface Tunnel {
  id: string;
  ownerId: string;
  name: string;
  configMode: ConfigMode;
  secretSealed: string;
  cfTunnelId: string | null;
  generation: number;
  observedGeneration: number;
  phase: Phase;
  lastError: string | null;
  deleting: boolean;
  /** Hash and version of the remote configuration Cloudflare last accepted. */
  configHash: string | null;
  configVersion: number | null;
  attempts: number;
  createdAt: string;
}

/** What the reconciler knows of a route's objects outside, recorded as soon as it is known. */
export interface RouteObjects {
  dnsRecordId: string | null;
  /** A DNS write may have happened without its answer being seen: look before writing. */
  dnsUncertain: boolean;
  accessAppId: string | null;
  accessAud: string | null;
  /** Hash of the Access policies last applied to the application (see access-policies.ts). */
  accessPoliciesHash: string | null;
  /** An Access create may have happened without its answer being seen: look before writing. */
  accessUncertain: boolean;
  serviceTokenId: string | null;
  serviceTokenClientId: string | null;
  serviceTokenSealed: string | null;
  serviceTokenExpiresAt: string | null;
  /** Bumped at each rotation; rolls the access pods. */
  tokenVersion: number;
  /** An admin asked for a new secret, or the token nears its expiry. */
  rotateRequested: boolean;
  /** Hash of the Kubernetes objects last applied; null: none applied (or a re-apply is due). */
  k8sHash: string | null;
  /** The route's Kubernetes objects were deleted (only deleted routes). */
  k8sRemoved: boolean;
  k8sReady: boolean;
  k8sReason: string | null;
}

export interface Route {
  id: string;
  tunnelId: string;
  name: string;
  hostname: string;
  /** The zone (apex name) its hostname is one label under, where its DNS record lives. */
  zone: string;
  service: string;
  protocol: string;
  allowIps: string[] | null;
  access: AccessRule | null;
  /** cloudflared's origin options for the route's ingress rule; null: cloudflared's defaults. */
  originRequest: OriginRequest | null;
  /** Bumped by every change of what the route asks for (the `If-Match` of a PATCH). */
  generation: number;
  phase: Phase;
  lastError: string | null;
  deleting: boolean;
  createdAt: string;
  objects: RouteObjects;
}

export const isTcpLike = (r: Pick<Route, 'protocol'>) => isTcpLikeProtocol(r.protocol);

/** TCP-like routes (service token), routes with Access for people, and allow-listed routes. */
export const needsAccess = (r: Pick<Route, 'protocol' | 'access' | 'allowIps'>) =>
  isTcpLike(r) || !!r.access || !!r.allowIps;

/** The JSON columns, parsed in one place. */
export function parseAllowIpsColumn(v: string | null): string[] | null {
  return v ? (JSON.parse(v) as string[]) : null;
}
export function parseAccessColumn(v: string | null): AccessRule | null {
  if (!v) return null;
  const rule = JSON.parse(v) as Partial<AccessRule>;
  return {
    emails: rule.emails ?? [],
    emailDomains: rule.emailDomains ?? [],
    ...(rule.groups?.length ? { groups: rule.groups, idp: rule.idp } : {}),
    ...(rule.sessionDuration ? { sessionDuration: rule.sessionDuration } : {}),
  };
}
export function parseOriginRequestColumn(v: string | null): OriginRequest | null {
  return v ? (JSON.parse(v) as OriginRequest) : null;
}

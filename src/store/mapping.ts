/**
 * Rows to domain values (domain/model.ts) and route objects back to columns: the one place the
 * store's column names meet the domain's field names.
 */
import type { Updateable } from 'kysely';
import {
  parseAccessColumn,
  parseOriginRequestColumn,
  parseAllowIpsColumn,
  type Route,
  type RouteObjects,
  type Tunnel,
} from '../domain/model.js';
import type { RoutesTable } from './schema.js';
import type { RouteRow, TunnelRow } from './rows.js';

export function toTunnel(t: TunnelRow): Tunnel {
  return {
    id: t.id,
    ownerId: t.owner_id,
    name: t.name,
    configMode: t.config_mode,
    secretSealed: t.secret_sealed,
    cfTunnelId: t.cf_tunnel_id,
    generation: t.generation,
    observedGeneration: t.observed_generation,
    phase: t.phase,
    lastError: t.last_error,
    deleting: t.deleting === 1,
    configHash: t.config_hash,
    configVersion: t.config_version,
    attempts: t.attempts,
    createdAt: t.created_at,
  };
}

export function toRoute(r: RouteRow): Route {
  return {
    id: r.id,
    tunnelId: r.tunnel_id,
    name: r.name,
    hostname: r.hostname,
    zone: r.zone,
    service: r.service,
    protocol: r.protocol,
    allowIps: parseAllowIpsColumn(r.allow_ips),
    access: parseAccessColumn(r.access_rule),
    originRequest: parseOriginRequestColumn(r.origin_request),
    generation: r.generation,
    phase: r.phase,
    lastError: r.last_error,
    deleting: r.deleting === 1,
    createdAt: r.created_at,
    objects: {
      dnsRecordId: r.dns_record_id,
      dnsUncertain: r.dns_uncertain === 1,
      accessAppId: r.access_app_id,
      accessAud: r.access_aud,
      accessPoliciesHash: r.access_policies_hash,
      accessUncertain: r.access_uncertain === 1,
      serviceTokenId: r.service_token_id,
      serviceTokenClientId: r.service_token_client_id,
      serviceTokenSealed: r.service_token_sealed,
      serviceTokenExpiresAt: r.service_token_expires_at,
      tokenVersion: r.token_version,
      rotateRequested: r.rotate_requested === 1,
      k8sHash: r.k8s_hash,
      k8sRemoved: r.k8s_removed === 1,
      k8sReady: r.k8s_ready === 1,
      k8sReason: r.k8s_reason,
    },
  };
}

const bit = (b: boolean) => (b ? 1 : 0);

/** Domain → columns, only for the fields given. */
export function objectColumns(o: Partial<RouteObjects>): Updateable<RoutesTable> {
  const c: Updateable<RoutesTable> = {};
  if (o.dnsRecordId !== undefined) c.dns_record_id = o.dnsRecordId;
  if (o.dnsUncertain !== undefined) c.dns_uncertain = bit(o.dnsUncertain);
  if (o.accessAppId !== undefined) c.access_app_id = o.accessAppId;
  if (o.accessAud !== undefined) c.access_aud = o.accessAud;
  if (o.accessPoliciesHash !== undefined) c.access_policies_hash = o.accessPoliciesHash;
  if (o.accessUncertain !== undefined) c.access_uncertain = bit(o.accessUncertain);
  if (o.serviceTokenId !== undefined) c.service_token_id = o.serviceTokenId;
  if (o.serviceTokenClientId !== undefined) c.service_token_client_id = o.serviceTokenClientId;
  if (o.serviceTokenSealed !== undefined) c.service_token_sealed = o.serviceTokenSealed;
  if (o.serviceTokenExpiresAt !== undefined) c.service_token_expires_at = o.serviceTokenExpiresAt;
  if (o.tokenVersion !== undefined) c.token_version = o.tokenVersion;
  if (o.rotateRequested !== undefined) c.rotate_requested = bit(o.rotateRequested);
  if (o.k8sHash !== undefined) c.k8s_hash = o.k8sHash;
  if (o.k8sRemoved !== undefined) c.k8s_removed = bit(o.k8sRemoved);
  if (o.k8sReady !== undefined) c.k8s_ready = bit(o.k8sReady);
  if (o.k8sReason !== undefined) c.k8s_reason = o.k8sReason;
  return c;
}

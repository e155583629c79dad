// Identifiers, secrets and timestamps shaped like Cloudflare's: 32-hex tags for accounts,
// zones, records and rulesets; UUIDs for tunnels, connectors and Access objects;
// RFC 3339 timestamps with microseconds, as the real API prints them.
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** 32 lowercase hex characters (account, zone, DNS record, ruleset ids). */
export function hexId(): string {
  return randomBytes(16).toString('hex');
}

/** A random v4 UUID (tunnels, connectors, Access applications and policies). */
export function uuid(): string {
  return randomUUID();
}

/** A 40-character API token in the alphabet Cloudflare uses. */
export function apiTokenValue(): string {
  return randomBytes(30).toString('base64url').slice(0, 40);
}

/** Standard base64 of `bytes` random bytes (tunnel secrets). */
export function base64Secret(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

/** 64 hex characters (Access `aud` tags and service-token secrets). */
export function hex64(): string {
  return randomBytes(32).toString('hex');
}

let lastMicros = 0;

/**
 * The current time as `2025-02-18T22:41:43.534395Z`. Successive calls never return the
 * same value, so ordering by timestamp is stable even within one millisecond.
 */
export function timestamp(at?: number): string {
  let micros = Math.floor((at ?? performance.timeOrigin + performance.now()) * 1000);
  if (at === undefined) {
    if (micros <= lastMicros) micros = lastMicros + 1;
    lastMicros = micros;
  }
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

export const HEX32 = /^[0-9a-f]{32}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Names Tunnelplane makes and accepts: tunnel names, route labels, hostnames, and the names
 * of the objects it owns outside (Cloudflare tunnel names, DNS comments, Kubernetes objects).
 */
import { randomInt } from 'node:crypto';
import { AppError } from './errors.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** `length` random lowercase ASCII letters, from a CSPRNG. */
export function randomLabel(length = 8): string {
  let out = '';
  for (let i = 0; i < length; i++) out += LETTERS[randomInt(LETTERS.length)];
  return out;
}

/**
 * Tunnel and route names are each at most 24 characters so that the Kubernetes objects of a TCP
 * route, `tunnel-access-<route>-<tunnel>`, always fit in a 63-character DNS label.
 * Tunnel names: [a-z0-9-], starting with a letter, not ending with '-' nor holding '--'
 * (reserved for punycode-like labels). Route names: [a-z0-9] only.
 */
export const MAX_NAME_LENGTH = 24;
const TUNNEL_NAME = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;
// No '-' in route names: `<route>-<tunnel>` then splits one way only, so no route of one
// tunnel can take the hostname of another tunnel's route.
const ROUTE_NAME = /^[a-z0-9]{1,24}$/;

export function assertTunnelName(name: string): string {
  if (!TUNNEL_NAME.test(name) || name.includes('--')) {
    throw new AppError(
      'tunnel.invalid_name',
      `Tunnel name ${JSON.stringify(name.slice(0, 64))} is invalid: use 1-24 lowercase letters, digits or single '-', starting with a letter.`,
      { name: name.slice(0, 64) },
    );
  }
  return name;
}

export function assertRouteName(name: string): string {
  if (!ROUTE_NAME.test(name) || name.includes('--')) {
    throw new AppError(
      'route.invalid_name',
      `Route name ${JSON.stringify(name.slice(0, 64))} is invalid: use 1-24 lowercase letters or digits.`,
      { name: name.slice(0, 64) },
    );
  }
  return name;
}

/** `<route>-<tunnel>.<zone>`: one label under the zone, so the universal certificate covers it. */
export function routeHostname(routeName: string, tunnelName: string, zoneName: string): string {
  const label = `${routeName}-${tunnelName}`;
  if (label.length > 63)
    throw new AppError('route.invalid_name', `Hostname label ${label} is longer than 63 characters.`);
  const host = `${label}.${zoneName.toLowerCase()}`;
  if (host.length > 253)
    throw new AppError('route.invalid_name', `Hostname ${host} is longer than 253 characters.`);
  return host;
}

export const tunnelCname = (cloudflareTunnelId: string) => `${cloudflareTunnelId}.cfargotunnel.com`;

/** Kubernetes Deployment/Service name of a TCP route's access pods (the proof of concept's). */
export const accessObjectName = (routeName: string, tunnelName: string) =>
  `tunnel-access-${routeName}-${tunnelName}`;

/** A chosen hostname's label as the route's name when it can be one (1-24 of [a-z0-9]); otherwise random. */
export function routeNameOfLabel(hostname: string): string {
  const label = hostname.trim().toLowerCase().split('.')[0] ?? '';
  return ROUTE_NAME.test(label) ? label : randomLabel(8);
}

/** What the operator allows of chosen hostnames (`routes.*` in the configuration). */
export interface HostnamePolicy {
  /** Exact labels, or patterns where `*` stands for any run of characters. */
  reserved: readonly string[];
  /** A chosen label must start with this (the owner's name and `-`); null: no prefix. */
  prefix: string | null;
}

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether a label matches one of the reserved names or patterns. */
export function isReservedLabel(label: string, reserved: readonly string[]): boolean {
  return reserved.some((pattern) => {
    const p = pattern.toLowerCase();
    if (!p.includes('*')) return p === label;
    const re = new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`);
    return re.test(label);
  });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The label an owner's chosen names start with: their name in hostname letters, then `-`. */
export function ownerPrefix(ownerName: string): string {
  const base = ownerName
    .replace(/^team:/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'user'}-`;
}

/**
 * A hostname a user chose: one label under the zone (`myapp` or `myapp.<zone>`), so the zone's
 * universal certificate covers it, and neither reserved nor outside the owner's prefix.
 */
export function chosenHostname(input: string, zoneName: string, policy: HostnamePolicy): string {
  const zone = zoneName.toLowerCase();
  const asked = input.trim().toLowerCase().replace(/\.$/, '');
  const label = asked.endsWith(`.${zone}`) ? asked.slice(0, -zone.length - 1) : asked;
  const shown = JSON.stringify(input.slice(0, 80));
  if (!HOST_LABEL.test(label) || label.includes('--'))
    throw new AppError(
      'route.invalid_hostname',
      `Hostname ${shown} is invalid: give one label of 1-63 lowercase letters, digits or single '-' (e.g. "myapp" for myapp.${zone}); deeper names are not covered by the zone's certificate.`,
      { hostname: input.slice(0, 80) },
    );
  if (isReservedLabel(label, policy.reserved))
    throw new AppError(
      'route.hostname_reserved',
      `The hostname ${label}.${zone} is reserved by the operator; choose another.`,
      { hostname: `${label}.${zone}` },
    );
  if (policy.prefix && !label.startsWith(policy.prefix))
    throw new AppError(
      'route.hostname_prefix',
      `Chosen hostnames must start with "${policy.prefix}" here (e.g. ${policy.prefix}app.${zone}).`,
      { prefix: policy.prefix },
    );
  const host = `${label}.${zone}`;
  if (host.length > 253)
    throw new AppError('route.invalid_hostname', `Hostname ${host} is longer than 253 characters.`);
  return host;
}

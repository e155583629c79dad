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
